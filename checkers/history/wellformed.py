"""A whole-array proof that a history has no breach of :func:`validate`'s rules.

``validate`` walks Op objects one at a time, which on a million-op history
means building a million Ops (~10 s) only to find nothing wrong.  Most
histories are well formed, so this module answers the common case from the
columnar view with numpy, in tens of milliseconds: ``True`` means *no rule is
broken*; ``False`` means "maybe", and the caller runs the per-op walk, which
finds and words every breach.  It must never say ``True`` for a history the
walk would fault: each rule below is the walk's rule restated over columns.
"""

from __future__ import annotations

import numpy as np

from .columnar import T_INFO, T_INVOKE, Columnar
from .op import INPUT_VALUE_FS


def certainly_well_formed(col: Columnar) -> bool:
    """True only when ``validate`` would report no breach for this history."""
    n = len(col)
    if n == 0:
        return True
    if n > 1 and not bool(np.all(col.index[1:] > col.index[:-1])):
        return False
    client = col.process >= 0
    if not _clients_alternate(col.process[client], col.type[client]):
        return False
    if not _nemesis_well_formed(col):
        return False
    # every client invoke's completion agrees with it (the walk's per-pair rules)
    comp = np.flatnonzero(client & (col.type != T_INVOKE))
    inv = col.pair[comp]
    if inv.size and int(inv.min()) < 0:
        return False  # a completion without an invoke (alternation should have caught it)
    if not bool(np.all(col.f[comp] == col.f[inv])):
        return False
    kc = col.key[comp]
    if not bool(np.all((kc == -1) | (kc == col.key[inv]))):
        return False
    is_input = np.array([name in INPUT_VALUE_FS for name in col.f_names] or [False], bool)
    vc = col.value[comp]
    if not bool(np.all(~is_input[col.f[comp]] | (vc == 0) | (vc == col.value[inv]))):
        return False  # value code 0 is None: a completion may leave its value out
    return _times_ordered(col.time[inv], col.time[comp])


def _clients_alternate(process: np.ndarray, typ: np.ndarray) -> bool:
    """Each client's ops run invoke, completion, invoke, ... and an ``info``
    completion is its last op (the walk's "invokes while open", "completion
    without an invoke" and "invokes again after info" rules)."""
    if process.size == 0:
        return True
    order = np.argsort(process, kind="stable")
    p, t = process[order], typ[order]
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    rank = np.arange(p.size) - np.repeat(starts, np.diff(np.r_[starts, p.size]))
    if not bool(np.all((t == T_INVOKE) == (rank % 2 == 0))):
        return False
    last = np.r_[p[1:] != p[:-1], True]
    return not bool(np.any((t == T_INFO) & ~last))


def _nemesis_well_formed(col: Columnar) -> bool:
    """The nemesis' few ops, walked as ``validate`` walks them: invokes may
    follow an info, a bare info is an event, a completion names its invoke's f."""
    open_at = -1
    for pos in np.flatnonzero(col.process < 0).tolist():
        t = int(col.type[pos])
        if t == T_INVOKE:
            if open_at >= 0:
                return False
            open_at = pos
            continue
        if open_at < 0:
            if t == T_INFO:
                continue
            return False
        if col.f[pos] != col.f[open_at] or not _times_ordered(col.time[open_at:open_at + 1],
                                                              col.time[pos:pos + 1]):
            return False
        open_at = -1
    return True


def _times_ordered(t0: np.ndarray, t1: np.ndarray) -> bool:
    """No completion before its invoke.  The column stores an absent time as
    -1, so a pair where exactly one side reads -1 is ambiguous (absent, or a
    real -1?) and is left to the walk."""
    if t0.size == 0:
        return True
    a, b = t0 == -1, t1 == -1
    if bool(np.any(a != b)):
        return False
    return not bool(np.any(~a & (t1 < t0)))
