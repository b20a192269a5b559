"""``njit`` for splitbrain's kernels, with symbol names no other process shares.

numba names each compiled function after its qualified name plus a number
from a per-process counter (``FunctionIdentity._unique_ids``, starting at 1).
Library helpers built from one closure — the quicksort behind ``np.sort``
and ``np.argsort``, for one — share a qualified name but differ in body, and
their symbols are merged when loaded.  So two kernels cached by two
processes can hold different helpers under one symbol, and a third process
that loads both runs one kernel with the other's helper: an argsort that
returns sorted values instead of indices, silently (numba issue #10486; seen
here: the unique-values check judged a valid key invalid after the causal
checker had run in the same process).  Starting the counter at a random
point in every process makes two processes' numbers meet with probability
about 2^-61 per helper, whatever was compiled in what order.

Every module of ``checkers`` that compiles a kernel imports ``njit`` from
here (a test holds them to it), so the counter is moved before the first
compile.  The cache keys are unchanged: only the symbols inside newly
compiled code differ.
"""

from __future__ import annotations

import itertools
import secrets

from numba import njit
from numba.core import bytecode as _bytecode

__all__ = ["njit"]


def _random_counter_start() -> None:
    ident = getattr(_bytecode, "FunctionIdentity", None)
    if ident is None or not hasattr(ident, "_unique_ids"):
        return  # a numba that numbers functions some other way
    if getattr(ident, "_splitbrain_random_start", False):
        return
    ident._unique_ids = itertools.count((1 << 61) | secrets.randbits(60))
    ident._splitbrain_random_start = True


_random_counter_start()
