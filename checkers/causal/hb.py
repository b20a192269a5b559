"""CM's per-session saturation without touching the whole graph.

hb_o for o = the last op of session s (see the package docstring) is co
plus edges w1 -> t into writes t that s's reads returned.  The clock of
any node u in hb is then

    hb(u) = co(u) ⊔ ⨆ { Y[e] : edge e = w1 -> t with t -hb-> u or t = u }

where Y[e] is the clock of w1 in hb (w1 included).  Targets of one
session are a chain, so "t reaches u" is a prefix of that session's
targets sorted by position: with the Y rows prefix-joined per target
session, closing a clock costs one pointer walk and at most one row join
per session.  Clocks along a session only grow, so a whole session's
nodes are closed in one sweep with pointers that only move forward.

Rounds are those of the full-graph saturation (Bouajjani et al. 2017,
causal memory): round k reads the clocks of co ∪ the edges of rounds < k,
checks WriteHBInitRead on them, then adds every forced edge; the clock of
the previous rounds' edges is a fixpoint of the sweeps above (Y only
grows, so iterating the sweeps from the last round's Y reaches it), and
an edge w1 -> t whose target t is already in Y[e] closes a cycle
(CyclicHB).  Cost per session and sweep: O((reads + edges) · S) steps
with S sessions, plus one row join (S) per pointer that moves — the co
clocks (n x S) are read, never copied or written.
"""

from __future__ import annotations

import numpy as np
from ..jit import njit

from .kernels import known_write
from .prepare import READ, SRC_INIT

HB_OK, HB_INIT_READ, HB_CYCLE, HB_NO_FIXPOINT = 0, 1, 2, 3


@njit(cache=True)
def _join_row(a, m, r):
    """a |= m[r] (elementwise max)."""
    for c in range(a.shape[0]):
        if m[r, c] > a[c]:
            a[c] = m[r, c]


@njit(cache=True)
def _close(a, ptr, gptr, tpos, py):
    """Grow clock ``a`` until it holds Y of every edge whose target it
    reaches; ``ptr[c]``: edges of target session c already joined (they
    only grow along a sweep, as ``a`` does)."""
    S = a.shape[0]
    progressed = True
    while progressed:
        progressed = False
        for c in range(S):
            lo, hi = gptr[c], gptr[c + 1]
            k = lo + ptr[c]
            if k >= hi or tpos[k] > a[c]:
                continue
            while k < hi and tpos[k] <= a[c]:
                k += 1
            ptr[c] = k - lo
            _join_row(a, py, k - 1)
            progressed = True


@njit(cache=True)
def _by_session(nodes, chain, nchain):
    """Order of ``nodes`` by (session, position) — node ids are numbered
    session-major, so that is their numeric order — and the start of each
    session's run in it (length nchain + 1)."""
    order = np.argsort(nodes, kind="mergesort")
    gptr = np.zeros(nchain + 1, np.int64)
    for q in range(nodes.shape[0]):
        gptr[chain[nodes[q]] + 1] += 1
    for c in range(nchain):
        gptr[c + 1] += gptr[c]
    return order, gptr


@njit(cache=True)
def _targets(et, ne, chain, pos, nchain):
    """The edges ordered by target (session, position), each target
    session's run start, and the target positions in that order."""
    t_order, gptr = _by_session(et[:ne], chain, nchain)
    tpos = np.empty(ne, np.int64)
    for q in range(ne):
        tpos[q] = pos[et[t_order[q]]]
    return t_order, gptr, tpos


@njit(cache=True)
def _prefix_join(t_order, gptr, y, py):
    """py[q] = join of Y over the edges of q's target session up to q."""
    S = y.shape[1]
    for c in range(gptr.shape[0] - 1):
        for q in range(gptr[c], gptr[c + 1]):
            e = t_order[q]
            for cc in range(S):
                v = y[e, cc]
                if q > gptr[c] and py[q - 1, cc] > v:
                    v = py[q - 1, cc]
                py[q, cc] = v


@njit(cache=True)
def _fixpoint(ea, et, ne, y, chain, pos, vc):
    """Raise Y (ne x S) to the hb clocks of the edge sources.  Returns True
    when some edge's target reaches its source: a cycle."""
    S = vc.shape[1]
    t_order, gptr, tpos = _targets(et, ne, chain, pos, S)
    s_order, sptr = _by_session(ea[:ne], chain, S)
    py = np.empty((ne, S), np.int32)
    a = np.empty(S, np.int32)
    ptr = np.zeros(S, np.int64)
    while True:
        _prefix_join(t_order, gptr, y, py)
        changed = False
        for c in range(S):
            if sptr[c] == sptr[c + 1]:
                continue
            a[:] = -1
            ptr[:] = 0
            for q in range(sptr[c], sptr[c + 1]):
                e = s_order[q]
                _join_row(a, vc, ea[e])
                _close(a, ptr, gptr, tpos, py)
                for cc in range(S):
                    if a[cc] > y[e, cc]:
                        y[e, cc] = a[cc]
                        changed = True
                t = et[e]
                if pos[t] <= a[chain[t]]:
                    return True
        if not changed:
            return False


@njit(cache=True)
def _new_edges(s, start, chain, pos, key, kind, src, vc, wl, sp, sc, slo, shi,
               ea, et, ne, y, seen, first):
    """Sweep session s's reads with their hb clocks (edges so far).
    Returns (init_hit, candidate keys w1 * n + w2 of forced edges).
    ``seen[j]``: the clock the j-th read had last round — a read whose
    clock did not grow forces nothing it did not force then."""
    S = vc.shape[1]
    n = vc.shape[0]
    t_order, gptr, tpos = _targets(et, ne, chain, pos, S)
    py = np.empty((ne, S), np.int32)
    _prefix_join(t_order, gptr, y, py)
    a = np.full(S, -1, np.int32)
    ptr = np.zeros(S, np.int64)
    out = np.empty(64, np.int64)
    m = 0
    j = -1
    for r in range(start[s], start[s + 1]):
        if kind[r] != READ or src[r] < SRC_INIT:
            continue
        j += 1
        _join_row(a, vc, r)
        _close(a, ptr, gptr, tpos, py)
        grew = first
        for c in range(S):
            if a[c] != seen[j, c]:
                grew = True
                seen[j, c] = a[c]
        if not grew:
            continue
        x = key[r]
        w2 = src[r]
        for g in range(sp[x], sp[x + 1]):
            c = sc[g]
            w1 = known_write(wl, slo, shi, start, g, c, a[c])
            if w1 < 0:
                continue
            if w2 == SRC_INIT:
                return True, out[:0]
            if w1 == w2 or w1 - start[c] <= vc[w2, c]:
                continue   # nothing new: w1 -co-> w2 already
            if m == out.shape[0]:
                bigger = np.empty(2 * m, np.int64)
                bigger[:m] = out
                out = bigger
            out[m] = w1 * n + w2
            m += 1
    return False, np.unique(out[:m])


@njit(cache=True)
def hb_session(s, start, chain, pos, key, kind, src, vc, wl, sp, sc, slo, shi, max_rounds):
    """Saturate hb_o for o = the last op of session ``s``.  Returns
    (verdict, rounds): HB_OK, HB_INIT_READ (WriteHBInitRead), HB_CYCLE
    (CyclicHB) or HB_NO_FIXPOINT (still growing after ``max_rounds``)."""
    S = vc.shape[1]
    n = vc.shape[0]
    ea = np.empty(64, np.int64)
    et = np.empty(64, np.int64)
    y = np.empty((64, S), np.int32)
    have = np.empty(0, np.int64)     # sorted keys of the edges so far
    ne = 0
    nr = 0
    for r in range(start[s], start[s + 1]):
        if kind[r] == READ and src[r] >= SRC_INIT:
            nr += 1
    seen = np.empty((nr, S), np.int32)
    for rnd in range(max_rounds):
        if ne and _fixpoint(ea, et, ne, y, chain, pos, vc):
            return HB_CYCLE, rnd
        hit, cand = _new_edges(s, start, chain, pos, key, kind, src, vc, wl, sp, sc, slo, shi,
                               ea, et, ne, y, seen, rnd == 0)
        if hit:
            return HB_INIT_READ, rnd + 1
        fresh = np.ones(cand.shape[0], np.bool_)
        if have.shape[0]:
            at = np.searchsorted(have, cand)
            for q in range(cand.shape[0]):
                if at[q] < have.shape[0] and have[at[q]] == cand[q]:
                    fresh[q] = False
        add = cand[fresh]
        if add.shape[0] == 0:
            return HB_OK, rnd + 1
        if ne + add.shape[0] > ea.shape[0]:
            cap = max(2 * ea.shape[0], ne + add.shape[0])
            ea2 = np.empty(cap, np.int64)
            et2 = np.empty(cap, np.int64)
            y2 = np.empty((cap, S), np.int32)
            ea2[:ne] = ea[:ne]
            et2[:ne] = et[:ne]
            y2[:ne] = y[:ne]
            ea, et, y = ea2, et2, y2
        for q in range(add.shape[0]):
            ea[ne] = add[q] // n
            et[ne] = add[q] % n
            y[ne, :] = vc[ea[ne], :]
            ne += 1
        have = np.sort(np.concatenate((have, add)))
    return HB_NO_FIXPOINT, max_rounds
