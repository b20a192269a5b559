"""Nemesis ops go into the history as process "nemesis" with exactly what was applied."""

from __future__ import annotations

import itertools
import os
import random
import time

import pytest

from checkers.history import HistoryWriter, Op, load_history, validate
from nemesis import Nemesis, combined_ops
from nemesis import faketime as nclock

from nemesis_support import LocalNode


@pytest.mark.skipif(not os.path.exists(nclock.LIBFAKETIME), reason="needs Debian's libfaketime")
def test_applied_values_round_trip_through_the_history(tmp_path):
    node = LocalNode("n1", tmp_path / "n1")
    nem = Nemesis([node], None, tmp_path / "j.json", {"faults": ["clock"]})
    ops = list(itertools.islice(combined_ops(["clock-bump"], ["n1"], random.Random(1),
                                             {"clock_targets": ["one"]}), 4))
    hist = tmp_path / "history.jsonl"
    w = HistoryWriter(hist)
    applied = []
    idx = itertools.count()
    try:
        for op in ops:
            w.write(Op(next(idx), time.monotonic_ns(), "nemesis", "invoke", op["f"],
                       value=op["value"]))
            res = nem.apply(op["f"], op["value"])
            applied.append(res)
            w.write(Op(next(idx), time.monotonic_ns(), "nemesis", "info", op["f"], value=res))
    finally:
        nem.heal_all()
    h = load_history(hist)
    assert validate(h) == []
    completions = [o for o in h.ops if o.type == "info"]
    assert [o.value for o in completions] == applied
    bump = completions[0].value
    assert bump["mode"] == "bump" and abs(abs(bump["offsets_s"]["n1"]) - 90) < 0.5
    assert completions[1].f == "stop-clock" and abs(completions[1].value["offsets_s"]["n1"]) < 0.2
