"""The kernels' own argsort (checkers/sorting.py) sorts, stably."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from checkers.sorting import argsort


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-2 ** 62, 2 ** 62) | st.integers(0, 5), max_size=70))
def test_argsort_is_numpys_stable_argsort(xs: list[int]) -> None:
    x = np.array(xs, np.int64)
    assert argsort(x).tolist() == np.argsort(x, kind="stable").tolist()
