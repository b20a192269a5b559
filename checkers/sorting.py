"""Sorting inside cached numba kernels.

Not np.sort / np.argsort / np.unique there: numba builds their quicksort
helpers from one closure, whose compiled symbols are told apart only by a
per-process counter, and marks them weak.  A kernel cached by one process
and loaded into another after some other module's cached kernel that sorts
can therefore run that module's helper — a sort where it needed an argsort,
say, leaving the order unsorted.  Seen: the unique-values check judged a
valid key invalid after the causal checker had run in the same process
(numba 0.68).  A function of our own has a symbol of our own.  (checkers/jit.py
removes the cause for every kernel by numbering each process's functions from
a random start; kernels that sort still use this, so they do not depend on it.)
"""

from __future__ import annotations

import numpy as np
from .jit import njit


@njit(cache=True)
def argsort(x: np.ndarray) -> np.ndarray:
    """The indices that sort ``x``, stably (bottom-up merge sort)."""
    n = x.shape[0]
    idx = np.arange(n)
    tmp = np.empty(n, np.int64)
    width = 1
    while width < n:
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i, j, k = lo, mid, lo
            while i < mid and j < hi:
                if x[idx[j]] < x[idx[i]]:
                    tmp[k] = idx[j]
                    j += 1
                else:
                    tmp[k] = idx[i]
                    i += 1
                k += 1
            while i < mid:
                tmp[k] = idx[i]
                i += 1
                k += 1
            while j < hi:
                tmp[k] = idx[j]
                j += 1
                k += 1
        idx, tmp = tmp, idx
        width *= 2
    return idx
