"""simulate_columnar (the lean store used for 10M-op benchmarks) records
exactly the history simulate does, straight into the columnar view."""

from __future__ import annotations

import numpy as np
import pytest

from checkers.causal import check_causal
from checkers.causal.simulate import simulate, simulate_columnar

COLUMNS = ("index", "time", "process", "type", "f", "key", "value", "pair")


@pytest.mark.parametrize("seed,mode", [(0, "lww"), (1, "arrival"), (2, "arrival")])
def test_columnar_simulation_is_the_same_history(seed, mode):
    kw = dict(sessions=5, keys=4, replicas=3, mean_lag=5.0, info_rate=0.1, fail_rate=0.05,
              seed=seed, mode=mode)
    full = simulate(400, **kw)
    lean = simulate_columnar(400, **kw)
    a, b = full.columnar(), lean.columnar()
    for name in COLUMNS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert (a.f_names, a.keys, a.values) == (b.f_names, b.keys, b.values)
    ra, rb = check_causal(full, level="CC"), check_causal(lean, level="CC")
    assert ra.valid is rb.valid is True
    assert ra.evidence["stats"] == rb.evidence["stats"]
