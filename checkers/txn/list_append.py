"""List-append inference: version orders from reads, non-cycle anomalies,
and the ww / wr / rw dependencies between transactions.

Every appended value is unique per key, so a read ``[1 2 3]`` of key k names
the writers of 1, 2 and 3 and says they appended in that order.  The
version order of k is its longest committed read; every other read must be
a prefix of it (otherwise ``incompatible-order``).  Then, per key:

- ww: the writer of each version -> the writer of the next one;
- wr: the writer of the last value a transaction read -> that reader;
- rw: a reader -> the writer of the version right after what it read
  (the first version nobody failed to commit).

Only a transaction's *external* reads (before it touched the key itself)
make wr/rw edges; later reads are checked against its own appends
(``internal``).  Failed transactions are not in the graph: reading their
values is G1a, building on them is ``dirty-update``.

Non-cycle findings come back as rows ``(kind, reader, mop, key, value,
other)`` so one numba pass does all of it; :mod:`explain` turns rows into
evidence.
"""

from __future__ import annotations

import numpy as np
from ..jit import njit

from .graph import RW, WR, WW
from .ops import S_FAIL, S_OK

(A_G1A, A_G1B, A_GARBAGE, A_INCOMPAT, A_DUP, A_INTERNAL, A_FUTURE, A_DIRTY, A_DUP_APPEND,
 A_LOST, A_OWN_ORDER) = range(11)
KIND_NAMES = {A_G1A: "G1a", A_G1B: "G1b", A_GARBAGE: "garbage-read",
              A_INCOMPAT: "incompatible-order", A_DUP: "duplicate-elements",
              A_INTERNAL: "internal", A_FUTURE: "future-read", A_DIRTY: "dirty-update",
              A_DUP_APPEND: "duplicate-appends", A_LOST: "lost-update",
              A_OWN_ORDER: "incompatible-order"}
ROW_CAP = 1000   # rows kept per kind (all are counted)
# Most (reads x unobserved appends) rw edges made for one key; Jepsen's
# generators retire keys after a few dozen appends, so real keys stay far below.
UNOBSERVED_CAP = 1_000_000


@njit(cache=True)
def _lookup(code, sorted_codes, payload):
    i = np.searchsorted(sorted_codes, code)
    if i < sorted_codes.shape[0] and sorted_codes[i] == code:
        return payload[i]
    return -1


@njit(cache=True)
def _edge(E, etyp, ne, a, b, t, k, v1, v2):
    E[0, ne] = a
    E[1, ne] = b
    E[2, ne] = k
    E[3, ne] = v1
    E[4, ne] = v2
    etyp[ne] = t
    return ne + 1


@njit(cache=True)
def _row(rows, counts, kind, a, b, c, d, e):
    """Keep the first ROW_CAP findings of each kind (slot kind * ROW_CAP + i)."""
    i = counts[kind]
    counts[kind] += 1
    if i < 1000:
        r = kind * 1000 + i
        rows[r, 0] = kind
        rows[r, 1] = a
        rows[r, 2] = b
        rows[r, 3] = c
        rows[r, 4] = d
        rows[r, 5] = e


@njit(cache=True)
def infer(n, status, mop_start, mop_kind, mop_key, mop_val, read_start, read_len, read_vals,
          nkeys, nvals):
    m = mop_kind.shape[0]
    mop_txn = np.empty(m, np.int64)
    for t in range(n):
        for j in range(mop_start[t], mop_start[t + 1]):
            mop_txn[j] = t
    # a fixed table, not a typed List: those make the cached kernel slow to load (~3 s)
    rows = np.zeros((16 * 1000, 6), np.int64)
    counts = np.zeros(16, np.int64)

    # -- who appended what: sorted (key, value) codes -> append micro-op
    na = 0
    for j in range(m):
        if mop_kind[j] == 0:
            na += 1
    wc = np.empty(na, np.int64)
    wm = np.empty(na, np.int64)
    k = 0
    for j in range(m):
        if mop_kind[j] == 0:
            wc[k] = mop_key[j] * nvals + mop_val[j]
            wm[k] = j
            k += 1
    order = np.argsort(wc, kind="mergesort")
    wcode = wc[order]
    wmop = wm[order]
    for i in range(1, na):
        if wcode[i] == wcode[i - 1]:
            _row(rows, counts, 8, mop_txn[wmop[i]], wmop[i], mop_key[wmop[i]], mop_val[wmop[i]],
                 mop_txn[wmop[i - 1]])

    # -- version order per key: its longest committed read
    longest = np.full(nkeys, -1, np.int64)
    for j in range(m):
        if mop_kind[j] == 1 and read_len[j] >= 0 and status[mop_txn[j]] == S_OK:
            kk = mop_key[j]
            if longest[kk] < 0 or read_len[j] > read_len[longest[kk]]:
                longest[kk] = j
    vstart = np.zeros(nkeys + 1, np.int64)
    for kk in range(nkeys):
        vstart[kk + 1] = vstart[kk] + (read_len[longest[kk]] if longest[kk] >= 0 else 0)
    nv = vstart[nkeys]
    vval = np.empty(nv, np.int64)
    vwriter = np.full(nv, -1, np.int64)     # txn, -1 if nobody appended it
    vgood = np.zeros(nv, np.bool_)          # writer exists and did not fail
    vcodes = np.empty(nv, np.int64)
    first_fail = np.full(nkeys, 1 << 62, np.int64)
    first_garbage = np.full(nkeys, 1 << 62, np.int64)
    for kk in range(nkeys):
        j = longest[kk]
        for p in range(vstart[kk + 1] - vstart[kk]):
            x = vstart[kk] + p
            v = read_vals[read_start[j] + p]
            vval[x] = v
            vcodes[x] = kk * nvals + v
            am = _lookup(kk * nvals + v, wcode, wmop)
            if am >= 0:
                w = mop_txn[am]
                vwriter[x] = w
                if status[w] == S_FAIL:
                    if p < first_fail[kk]:
                        first_fail[kk] = p
                else:
                    vgood[x] = True
            elif p < first_garbage[kk]:
                first_garbage[kk] = p
    vorder = np.argsort(vcodes, kind="mergesort")
    vsorted = vcodes[vorder]
    for i in range(1, nv):
        if vsorted[i] == vsorted[i - 1]:
            x = vorder[i]
            kk = vcodes[x] // nvals
            _row(rows, counts, 4, mop_txn[longest[kk]], longest[kk], kk, vval[x], -1)
    # next good version at or after each position (for rw)
    nextgood = np.full(nv + 1, -1, np.int64)
    for kk in range(nkeys):
        nxt = -1
        for x in range(vstart[kk + 1] - 1, vstart[kk] - 1, -1):
            if vgood[x]:
                nxt = x
            nextgood[x] = nxt

    # a writer's appends to a key show in the order it made them, none skipped
    # (else no order of whole transactions explains the reads); and an info
    # transaction one of whose appends shows did commit, all of it
    committed = np.zeros(n, np.bool_)
    for t in range(n):
        committed[t] = status[t] == S_OK
    for kk in range(nkeys):
        for x in range(vstart[kk], vstart[kk + 1]):
            w = vwriter[x]
            if w < 0 or not vgood[x]:
                continue
            committed[w] = True
            am = _lookup(kk * nvals + vval[x], wcode, wmop)
            for q in range(mop_start[w], am):
                if mop_kind[q] == 0 and mop_key[q] == kk:
                    y = _lookup(kk * nvals + mop_val[q], vsorted, vorder)
                    if y < 0 or y > x:
                        # other = -(writer + 2): the writer's own order, not another read
                        _row(rows, counts, 10, mop_txn[longest[kk]], longest[kk], kk,
                             mop_val[q], -(w + 2))
                        break

    # committed appends no read shows: they follow every version anybody saw
    # (were one earlier, the longest read would hold it), so every reader of
    # the key precedes them (rw) — what catches a stale read of a completed
    # append.  Capped per key (reads x such appends) to bound the edges.
    reads_of = np.zeros(nkeys, np.int64)
    for j in range(m):
        if mop_kind[j] == 1 and read_len[j] >= 0:
            reads_of[mop_key[j]] += 1
    # (Not when a later append of the same transaction to the key shows: then
    # this one belongs before it, and the skipped append is incompatible-order.)
    unseen = np.zeros(m, np.bool_)
    for j in range(m):
        if mop_kind[j] == 0 and committed[mop_txn[j]]:
            kk = mop_key[j]
            if _lookup(kk * nvals + mop_val[j], vsorted, vorder) < 0:
                unseen[j] = True
                for q in range(j + 1, mop_start[mop_txn[j] + 1]):
                    if mop_kind[q] == 0 and mop_key[q] == kk and \
                            _lookup(kk * nvals + mop_val[q], vsorted, vorder) >= 0:
                        unseen[j] = False
                        break
    ucount = np.zeros(nkeys + 1, np.int64)
    for j in range(m):
        if unseen[j]:
            ucount[mop_key[j] + 1] += 1
    ustart = np.cumsum(ucount)
    umop = np.empty(ustart[nkeys], np.int64)
    fill = ustart[:nkeys].copy()
    for j in range(m):
        if unseen[j]:
            kk = mop_key[j]
            umop[fill[kk]] = j
            fill[kk] += 1
    skipped_keys = 0
    nu_edges = 0
    for kk in range(nkeys):
        nu = ustart[kk + 1] - ustart[kk]
        if nu > 0 and reads_of[kk] * nu > UNOBSERVED_CAP:
            skipped_keys += 1
        nu_edges += nu * (reads_of[kk] + 1)
    cap = nv + 2 * m + 1 + nu_edges
    E = np.empty((5, cap), np.int32)   # src, dst, key, value, value' (relation apart)
    etyp = np.empty(cap, np.int8)
    ne = 0

    # -- ww along each version order; dirty updates
    for kk in range(nkeys):
        prev = -1
        prev_v = -1
        failed_x = -1
        dirty = False
        for x in range(vstart[kk], vstart[kk + 1]):
            w = vwriter[x]
            if w < 0:
                continue
            if not vgood[x]:
                if failed_x < 0:
                    failed_x = x
                continue
            if failed_x >= 0 and not dirty:
                dirty = True
                _row(rows, counts, 7, w, -1, kk, vval[failed_x], vwriter[failed_x])
            if prev >= 0 and w != prev:
                ne = _edge(E, etyp, ne, prev, w, WW, kk, prev_v, vval[x])
            prev = w
            prev_v = vval[x]
        if prev >= 0 and reads_of[kk] * (ustart[kk + 1] - ustart[kk]) <= UNOBSERVED_CAP:
            for q in range(ustart[kk], ustart[kk + 1]):
                w = mop_txn[umop[q]]
                if w != prev:
                    ne = _edge(E, etyp, ne, prev, w, WW, kk, prev_v, mop_val[umop[q]])

    # -- reads
    for j in range(m):
        if mop_kind[j] != 1 or read_len[j] < 0:
            continue
        r = mop_txn[j]
        if status[r] != S_OK:
            continue
        kk = mop_key[j]
        L = read_len[j]
        rs = read_start[j]
        lj = longest[kk]
        compat = True
        if lj != j:
            ls = read_start[lj]
            for p in range(L):
                if read_vals[rs + p] != read_vals[ls + p]:
                    compat = False
                    break
        if not compat:
            _row(rows, counts, 3, r, j, kk, -1, lj)
            for p in range(L):
                v = read_vals[rs + p]
                for q in range(p):
                    if read_vals[rs + q] == v:
                        _row(rows, counts, 4, r, j, kk, v, -1)
                am = _lookup(kk * nvals + v, wcode, wmop)
                if am < 0:
                    _row(rows, counts, 2, r, j, kk, v, -1)
                elif status[mop_txn[am]] == S_FAIL:
                    _row(rows, counts, 0, r, j, kk, v, mop_txn[am])
        else:
            if L > first_fail[kk]:
                x = vstart[kk] + first_fail[kk]
                _row(rows, counts, 0, r, j, kk, vval[x], vwriter[x])
            if L > first_garbage[kk]:
                _row(rows, counts, 2, r, j, kk, vval[vstart[kk] + first_garbage[kk]], -1)
        # position of this read within its own transaction's use of the key
        t0 = mop_start[r]
        external = True
        prev_read = -1
        for q in range(t0, j):
            if mop_key[q] == kk:
                external = False
                if mop_kind[q] == 1:
                    prev_read = q
        last_w = -1
        last_v = -1
        if L > 0:
            last_v = read_vals[rs + L - 1]
            am = _lookup(kk * nvals + last_v, wcode, wmop)
            if am >= 0:
                last_w = mop_txn[am]
                if last_w != r and status[last_w] != S_FAIL:
                    # intermediate read: the writer appended to k again after this value
                    for q in range(am + 1, mop_start[last_w + 1]):
                        if mop_kind[q] == 0 and mop_key[q] == kk:
                            _row(rows, counts, 1, r, j, kk, last_v, last_w)
                            break
        if external:
            # future read: an external read showing this transaction's own later append
            for q in range(j + 1, mop_start[r + 1]):
                if mop_kind[q] == 0 and mop_key[q] == kk:
                    for p in range(L):
                        if read_vals[rs + p] == mop_val[q]:
                            _row(rows, counts, 6, r, j, kk, mop_val[q], -1)
                            break
            if last_w >= 0 and last_w != r and status[last_w] != S_FAIL:
                ne = _edge(E, etyp, ne, last_w, r, WR, kk, last_v, -1)
            if compat and reads_of[kk] * (ustart[kk + 1] - ustart[kk]) <= UNOBSERVED_CAP:
                for q in range(ustart[kk], ustart[kk + 1]):
                    w = mop_txn[umop[q]]
                    if w != r and w != last_w:  # last_w: that is G1b, reported as such
                        ne = _edge(E, etyp, ne, r, w, RW, kk, last_v, mop_val[umop[q]])
            if compat:
                vl = vstart[kk + 1] - vstart[kk]
                if L < vl:
                    x = nextgood[vstart[kk] + L]
                    if x >= 0 and vwriter[x] != r:
                        ne = _edge(E, etyp, ne, r, vwriter[x], RW, kk, last_v, vval[x])
        else:
            # internal: what this transaction already knew of k, plus its own appends since
            ok = True
            if prev_read >= 0:
                pl = read_len[prev_read]
                ps = read_start[prev_read]
                na_since = 0
                for q in range(prev_read + 1, j):
                    if mop_kind[q] == 0 and mop_key[q] == kk:
                        na_since += 1
                if L != pl + na_since:
                    ok = False
                else:
                    for p in range(pl):
                        if read_vals[rs + p] != read_vals[ps + p]:
                            ok = False
                            break
                    p = pl
                    for q in range(prev_read + 1, j):
                        if ok and mop_kind[q] == 0 and mop_key[q] == kk:
                            if read_vals[rs + p] != mop_val[q]:
                                ok = False
                            p += 1
            else:
                na_since = 0
                for q in range(t0, j):
                    if mop_kind[q] == 0 and mop_key[q] == kk:
                        na_since += 1
                if L < na_since:
                    ok = False
                else:
                    p = L - na_since
                    for q in range(t0, j):
                        if ok and mop_kind[q] == 0 and mop_key[q] == kk:
                            if read_vals[rs + p] != mop_val[q]:
                                ok = False
                            p += 1
            if not ok:
                _row(rows, counts, 5, r, j, kk, -1, prev_read)
    # lost update: two committed transactions read the same version of k
    # (same last element, or both empty) and both appended to it
    lc = np.empty(m, np.int64)
    lt = np.empty(m, np.int64)
    lj = np.empty(m, np.int64)
    nl = 0
    for j in range(m):
        if mop_kind[j] != 1 or read_len[j] < 0 or status[mop_txn[j]] != S_OK:
            continue
        r = mop_txn[j]
        kk = mop_key[j]
        first = True
        for q in range(mop_start[r], j):
            if mop_key[q] == kk:
                first = False
                break
        if not first:
            continue
        for q in range(j + 1, mop_start[r + 1]):
            if mop_kind[q] == 0 and mop_key[q] == kk:
                L = read_len[j]
                last = read_vals[read_start[j] + L - 1] if L > 0 else -1
                lc[nl] = kk * (nvals + 1) + last + 1
                lt[nl] = r
                lj[nl] = j
                nl += 1
                break
    lo = np.argsort(lc[:nl], kind="mergesort")
    for i in range(1, nl):
        a = lo[i - 1]
        b = lo[i]
        if lc[a] == lc[b]:
            kk = lc[b] // (nvals + 1)
            _row(rows, counts, 9, lt[b], lj[b], kk, lc[b] % (nvals + 1) - 1, lt[a])
    keep = 0
    for kind in range(16):
        keep += min(counts[kind], 1000)
    out = np.empty((keep, 6), np.int64)
    k = 0
    for kind in range(16):
        for i in range(min(counts[kind], 1000)):
            out[k] = rows[kind * 1000 + i]
            k += 1
    return (out, counts, E[0, :ne].copy(), E[1, :ne].copy(), etyp[:ne].copy(), E[2, :ne].copy(),
            E[3, :ne].copy(), E[4, :ne].copy(), skipped_keys)
