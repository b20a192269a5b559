"""Compiled detection kernels for the bad patterns and session guarantees.

All reachability questions are answered from vector clocks (see
:mod:`.graph`): ``u`` reaches ``i`` iff ``pos[u] <= vc[i, chain[u]]``.
Writes to a key are indexed as one id-sorted list per key, cut into
per-session *segments*; since a session is a chain, "the latest write to
``x`` in session ``c`` that reaches ``r``" is one binary search, and it is
the only candidate of its session that matters: every earlier one reaches
it by ``so``.
"""

from __future__ import annotations

import numpy as np
from checkers.jit import njit  # process-unique symbols (checkers/jit.py)

from .prepare import READ, SRC_INIT, WRITE


@njit(cache=True)
def key_index(n, nkeys, kind, want, key, chain):
    """Nodes of kind ``want`` grouped by key (ids ascending) and cut into
    per-session segments.  Returns (lst, seg_ptr, seg_chain, seg_lo, seg_hi)."""
    cnt = np.zeros(nkeys + 1, np.int64)
    for i in range(n):
        if kind[i] == want:
            cnt[key[i] + 1] += 1
    for k in range(nkeys):
        cnt[k + 1] += cnt[k]
    lst = np.empty(cnt[nkeys], np.int64)
    fill = cnt[:nkeys].copy()
    for i in range(n):
        if kind[i] == want:
            lst[fill[key[i]]] = i
            fill[key[i]] += 1
    nseg = 0
    for k in range(nkeys):
        for j in range(cnt[k], cnt[k + 1]):
            if j == cnt[k] or chain[lst[j]] != chain[lst[j - 1]]:
                nseg += 1
    seg_ptr = np.zeros(nkeys + 1, np.int64)
    seg_chain = np.empty(nseg, np.int64)
    seg_lo = np.empty(nseg, np.int64)
    seg_hi = np.empty(nseg, np.int64)
    s = 0
    for k in range(nkeys):
        for j in range(cnt[k], cnt[k + 1]):
            if j == cnt[k] or chain[lst[j]] != chain[lst[j - 1]]:
                seg_chain[s] = chain[lst[j]]
                seg_lo[s] = j
                s += 1
            seg_hi[s - 1] = j + 1
        seg_ptr[k + 1] = s
    return lst, seg_ptr, seg_chain, seg_lo, seg_hi


@njit(cache=True)
def last_le(lst, lo, hi, bound):
    """The largest ``lst[j] <= bound`` for j in [lo, hi), or -1."""
    a, b = lo, hi
    while a < b:
        mid = (a + b) // 2
        if lst[mid] <= bound:
            a = mid + 1
        else:
            b = mid
    if a == lo:
        return -1
    return lst[a - 1]


@njit(cache=True)
def last_write_upto(n, chain, kind):
    """For each node, the last write of its session at or before it (-1)."""
    out = np.empty(n, np.int64)
    cur = -1
    for i in range(n):
        if i == 0 or chain[i] != chain[i - 1]:
            cur = -1
        if kind[i] == WRITE:
            cur = i
        out[i] = cur
    return out


@njit(cache=True)
def _grow(a, need):
    if need <= a.shape[0]:
        return a
    b = np.empty((max(need, 2 * a.shape[0]), a.shape[1]), a.dtype)
    b[:a.shape[0]] = a
    return b


@njit(cache=True)
def co_patterns(n, start, chain, pos, kind, key, src, vc, wl, sp, sc, slo, shi, cap):
    """WriteCOInitRead (read, write) and WriteCORead (w1, w2, read) witnesses.

    Returns (init_count, init_w[cap x 2], wcr_count, wcr_w[cap x 3]).
    """
    ni = 0
    nw = 0
    init_w = np.empty((cap, 2), np.int64)
    wcr_w = np.empty((cap, 3), np.int64)
    for r in range(n):
        if kind[r] != READ or src[r] < SRC_INIT:
            continue
        x = key[r]
        w1 = src[r]
        hit = False
        for s in range(sp[x], sp[x + 1]):
            c = sc[s]
            p = vc[r, c]
            if p < 0:
                continue
            w2 = last_le(wl, slo[s], shi[s], start[c] + p)
            if w2 < 0:
                continue
            if w1 == SRC_INIT:
                if ni < cap:
                    init_w[ni, 0] = r
                    init_w[ni, 1] = wl[slo[s]]
                ni += 1
                hit = True
            elif w2 != w1 and pos[w1] <= vc[w2, chain[w1]]:
                if nw < cap:
                    wcr_w[nw, 0] = w1
                    wcr_w[nw, 1] = w2
                    wcr_w[nw, 2] = r
                nw += 1
                hit = True
            if hit:
                break
    return ni, init_w, nw, wcr_w


@njit(cache=True)
def cf_edges(n, nchain, start, chain, pos, kind, key, vc, rd_ptr, rd_idx, wl, sp, sc, slo, shi):
    """The conflict edges w1 -cf-> w2 that are not already causal.

    (w1, w2) ∈ CF when w2 -wr-> r and w1 -co-> r for a write w1 ≠ w2 to the
    same key (Bouajjani et al. 2017, §4).  Per session only the latest such
    w1 is kept (earlier ones reach it by so), taken over all readers of w2
    at once through the elementwise max of their clocks.
    """
    out = np.empty((16, 2), np.int64)
    m = 0
    mx = np.empty(nchain, np.int64)
    for w2 in range(n):
        if kind[w2] != WRITE or rd_ptr[w2] == rd_ptr[w2 + 1]:
            continue
        for c in range(nchain):
            mx[c] = -1
        for k in range(rd_ptr[w2], rd_ptr[w2 + 1]):
            r = rd_idx[k]
            for c in range(nchain):
                if vc[r, c] > mx[c]:
                    mx[c] = vc[r, c]
        x = key[w2]
        for s in range(sp[x], sp[x + 1]):
            c = sc[s]
            if mx[c] < 0:
                continue
            w1 = last_le(wl, slo[s], shi[s], start[c] + mx[c])
            if w1 < 0 or w1 == w2:
                continue
            if pos[w1] <= vc[w2, c]:
                continue  # already w1 -co-> w2
            out = _grow(out, m + 1)
            out[m, 0] = w1
            out[m, 1] = w2
            m += 1
    return out[:m].copy()


@njit(cache=True)
def hb_new_edges(s, start, chain, pos, key, kind, src, vc, wl, sp, sc, slo, shi):
    """One saturation round of HB_o for o = the last op of session ``s``.

    For each read r of session s returning w2 and each write w1 ≠ w2 to the
    same key with w1 -hb-> r, HB_o must order w1 before w2 (Bouajjani et
    al. 2017, causal memory).  Returns (init_hit[3] = (read, write, found),
    new edges [m x 3] = (w1, w2, witness read)).
    """
    out = np.empty((16, 3), np.int64)
    m = 0
    init_hit = np.full(3, -1, np.int64)
    init_hit[2] = 0
    for r in range(start[s], start[s + 1]):
        if kind[r] != READ or src[r] < SRC_INIT:
            continue
        x = key[r]
        w2 = src[r]
        for g in range(sp[x], sp[x + 1]):
            c = sc[g]
            p = vc[r, c]
            if p < 0:
                continue
            w1 = last_le(wl, slo[g], shi[g], start[c] + p)
            if w1 < 0:
                continue
            if w2 == SRC_INIT:
                if init_hit[2] == 0:
                    init_hit[0] = r
                    init_hit[1] = wl[slo[g]]
                    init_hit[2] = 1
                continue
            if w1 == w2 or pos[w1] <= vc[w2, c]:
                continue
            out = _grow(out, m + 1)
            out[m, 0] = w1
            out[m, 1] = w2
            out[m, 2] = r
            m += 1
    return init_hit, out[:m].copy()


@njit(cache=True)
def session_guarantees(n, nchain, start, chain, pos, kind, key, src, vc, lastw,
                       wl, wsp, wsc, wslo, wshi, rl, rsp, rsc, rslo, rshi, cap):
    """Violations of the four session guarantees (Terry et al. 1994), per
    register and each as a restricted instance of an overwritten read:

    a read r of x returns w0 (or init) although some x-write w1 with
    w0 -co-> w1 (strictly; any write when r read init) is known to r by
    - RYW: w1 -so-> r (r's own earlier write);
    - MR:  w1 -wr-> r1 -so-> r, r1 an earlier read of x in r's session;
    - MW:  w1 -so-> w2 -co-> r, w2 a later write of w1's session;
    - WFR: w1 -wr-> r1 -so-> w2 -co-> r, w2 a write after read r1.
    Returns counts[4] and witnesses [4 x cap x 3]: RYW (r, w1, -),
    MR (r, r1, -), MW (r, w1, w2), WFR (r, r1, w2); for MR/WFR r1 is the
    latest qualifying read of x, the python side names the exact one.
    """
    counts = np.zeros(4, np.int64)
    wit = np.full((4, cap, 3), -1, np.int64)
    # Prefix max over the session's earlier reads of the same key of the
    # strict causal past of the write each returned; any[r] when one of
    # them returned a write at all.
    nr = 0
    rank = np.full(n, -1, np.int64)
    for i in range(n):
        if kind[i] == READ and src[i] >= SRC_INIT:
            rank[i] = nr
            nr += 1
    pm = np.full((nr, nchain), -1, np.int32)
    anyw = np.zeros(nr, np.bool_)
    for x in range(rsp.shape[0] - 1):
        for g in range(rsp[x], rsp[x + 1]):
            prev = -1
            for j in range(rslo[g], rshi[g]):
                r1 = rl[j]
                if src[r1] < SRC_INIT:
                    continue
                k = rank[r1]
                if prev >= 0:
                    for c in range(nchain):
                        pm[k, c] = pm[prev, c]
                    anyw[k] = anyw[prev]
                w1 = src[r1]
                if w1 >= 0:
                    anyw[k] = True
                    for c in range(nchain):
                        v = vc[w1, c]
                        if c == chain[w1]:
                            v = pos[w1] - 1
                        if v > pm[k, c]:
                            pm[k, c] = v
                prev = k
    for r in range(n):
        if kind[r] != READ or src[r] < SRC_INIT:
            continue
        x = key[r]
        w0 = src[r]
        cr = chain[r]
        # RYW: the latest own write to x before r.
        for g in range(wsp[x], wsp[x + 1]):
            if wsc[g] != cr:
                continue
            w1 = last_le(wl, wslo[g], wshi[g], r - 1)
            if w1 >= 0 and (w0 == SRC_INIT or (w0 != w1 and pos[w0] <= vc[w1, chain[w0]])):
                if counts[0] < cap:
                    wit[0, counts[0], 0] = r
                    wit[0, counts[0], 1] = w1
                counts[0] += 1
        # MR: the previous read of x in r's session.
        for g in range(rsp[x], rsp[x + 1]):
            if rsc[g] != cr:
                continue
            r1 = last_le(rl, rslo[g], rshi[g], r - 1)
            while r1 >= 0 and rank[r1] < 0:
                r1 = last_le(rl, rslo[g], rshi[g], r1 - 1)
            if r1 >= 0:
                k = rank[r1]
                if (w0 == SRC_INIT and anyw[k]) or (w0 >= 0 and pos[w0] <= pm[k, chain[w0]]):
                    if counts[1] < cap:
                        wit[1, counts[1], 0] = r
                        wit[1, counts[1], 1] = r1
                    counts[1] += 1
        # MW: a write w2 known to r that follows an x-write w1 in its session.
        for g in range(wsp[x], wsp[x + 1]):
            c = wsc[g]
            p = vc[r, c]
            if p < 0:
                continue
            w2 = lastw[start[c] + p]
            if w2 < 0:
                continue
            w1 = last_le(wl, wslo[g], wshi[g], w2 - 1)
            if w1 >= 0 and (w0 == SRC_INIT or (w0 != w1 and pos[w0] <= vc[w1, chain[w0]])):
                if counts[2] < cap:
                    wit[2, counts[2], 0] = r
                    wit[2, counts[2], 1] = w1
                    wit[2, counts[2], 2] = w2
                counts[2] += 1
                break
        # WFR: a write w2 known to r that follows a read r1 of x in its session.
        for g in range(rsp[x], rsp[x + 1]):
            c = rsc[g]
            p = vc[r, c]
            if p < 0:
                continue
            w2 = lastw[start[c] + p]
            if w2 < 0:
                continue
            r1 = last_le(rl, rslo[g], rshi[g], w2 - 1)
            while r1 >= 0 and rank[r1] < 0:
                r1 = last_le(rl, rslo[g], rshi[g], r1 - 1)
            if r1 < 0:
                continue
            k = rank[r1]
            if (w0 == SRC_INIT and anyw[k]) or (w0 >= 0 and pos[w0] <= pm[k, chain[w0]]):
                if counts[3] < cap:
                    wit[3, counts[3], 0] = r
                    wit[3, counts[3], 1] = r1
                    wit[3, counts[3], 2] = w2
                counts[3] += 1
                break
    return counts, wit


@njit(cache=True)
def _hbpast(x, vc, pos, chain, tg, H, out):
    """Clock of the nodes reaching x in hb: x's co clock joined with H[j] of
    every target t_j that reaches x by co (a path's last hb edge enters
    some target; from there on it is pure co)."""
    S = vc.shape[1]
    for c in range(S):
        out[c] = vc[x, c]
    for j in range(tg.shape[0]):
        t = tg[j]
        if pos[t] <= vc[x, chain[t]]:
            for c in range(S):
                if H[j, c] > out[c]:
                    out[c] = H[j, c]


@njit(cache=True)
def hb_session_small(s, start, chain, pos, key, kind, src, vc, wl, sp, sc, slo, shi, max_rounds):
    """hb_o saturation for session s on the compressed graph of the writes
    its reads returned (targets): returns 0 when CM holds for the session,
    1 when it finds WriteHBInitRead or CyclicHB (the caller re-runs the
    full-graph saturation to explain it), 2 when out of rounds.

    Cost is O(rounds · (reads + edges) · targets · S) — for the short
    sessions of crash-retired processes far below a full-graph pass."""
    S = vc.shape[1]
    # targets: distinct writes read by the session
    m = 0
    for r in range(start[s], start[s + 1]):
        if kind[r] == READ and src[r] >= 0:
            m += 1
    tg_all = np.empty(m, np.int64)
    m = 0
    for r in range(start[s], start[s + 1]):
        if kind[r] == READ and src[r] >= 0:
            tg_all[m] = src[r]
            m += 1
    tg = np.unique(tg_all)
    m = tg.shape[0]
    H = np.empty((m, S), np.int64)
    for j in range(m):
        for c in range(S):
            H[j, c] = vc[tg[j], c]
    ea = np.empty(16, np.int64)    # edge sources
    et = np.empty(16, np.int64)    # edge target index into tg
    ne = 0
    buf = np.empty(S, np.int64)
    buf2 = np.empty(S, np.int64)
    for _round in range(max_rounds):
        # H to its fixpoint under the current edges
        changed = True
        while changed:
            changed = False
            for e in range(ne):
                _hbpast(ea[e], vc, pos, chain, tg, H, buf)
                j = et[e]
                for c in range(S):
                    if buf[c] > H[j, c]:
                        H[j, c] = buf[c]
                        changed = True
            for j in range(m):
                _hbpast(tg[j], vc, pos, chain, tg, H, buf)
                for c in range(S):
                    if buf[c] > H[j, c]:
                        H[j, c] = buf[c]
                        changed = True
        for e in range(ne):
            _hbpast(ea[e], vc, pos, chain, tg, H, buf)
            t = tg[et[e]]
            if pos[t] <= buf[chain[t]]:
                return 1          # t reaches a and a -hb-> t: CyclicHB
        added = 0
        for r in range(start[s], start[s + 1]):
            if kind[r] != READ or src[r] < SRC_INIT:
                continue
            x = key[r]
            w2 = src[r]
            _hbpast(r, vc, pos, chain, tg, H, buf)
            if w2 >= 0:
                _hbpast(w2, vc, pos, chain, tg, H, buf2)
            for g in range(sp[x], sp[x + 1]):
                c = sc[g]
                p = buf[c]
                if p < 0:
                    continue
                w1 = last_le(wl, slo[g], shi[g], start[c] + p)
                if w1 < 0:
                    continue
                if w2 == SRC_INIT:
                    return 1      # WriteHBInitRead
                if w1 == w2 or pos[w1] <= buf2[c]:
                    continue
                dup = False
                for e in range(ne):
                    if ea[e] == w1 and tg[et[e]] == w2:
                        dup = True
                        break
                if dup:
                    continue
                if ne >= ea.shape[0]:
                    ea2 = np.empty(2 * ne, np.int64)
                    et2 = np.empty(2 * ne, np.int64)
                    ea2[:ne] = ea[:ne]
                    et2[:ne] = et[:ne]
                    ea, et = ea2, et2
                ea[ne] = w1
                et[ne] = np.searchsorted(tg, w2)
                ne += 1
                added += 1
        if added == 0:
            return 0
    return 2
