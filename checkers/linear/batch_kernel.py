"""Many register histories through one compiled call (see batch.py for why).

For each history the kernel does what the per-history path does in numpy and
Python: pair invokes with completions, split by key, encode each key's ops
for the register models (models.py ``Register.encode_many``), drop crashed
writes nobody observes (``_needed``), ask the unique-values check whether it
applies (``unique._decide``) and otherwise run the same Wing–Gong search
(``kernel.wgl_run``).  It only *answers* for a history every key of which it
searched to the end and found linearizable; every other history (a violation
to explain, a unique-value key, a budget, an op it cannot encode) is marked
for the per-history path, which then decides it from scratch and explains it.
So the batch can never give a verdict the per-history path would not.
"""

from __future__ import annotations

import numpy as np
from ..jit import njit
from ..sorting import argsort

from . import kernel as K
from .unique import NOT_UNIQUE, N_OUT, O_STATUS, _decide

# f kinds (per history: its f names mapped to these)
F_READ, F_WRITE, F_CAS, F_OTHER = 0, 1, 2, 3
# value shape (global, per value id): a [from, to] pair or not
NO_PAIR = -1
# per-history answers
H_DEFER, H_VALID = 0, 1
# per-history output columns
HO_STATUS, HO_PARTS, HO_PART0, HO_CONFIGS, HO_STEPS, HO_FINAL, HO_OPS, HO_KEYED = range(8)
N_HO = 8
# per-partition output columns
PO_KEY, PO_OPS, PO_CONFIGS, PO_STEPS = range(4)
N_PO = 4

T_INVOKE, T_OK, T_FAIL, T_INFO = 0, 1, 2, 3


@njit(cache=True)
def _pow2(x):
    p = 1
    while p < x:
        p <<= 1
    return p


@njit(cache=True)
def _workspace(n):
    """Buffers for searches of up to ``n`` ops, reused key after key (most keys
    of a batch are small: allocating per key would cost more than searching)."""
    W = (n + 63) >> 6
    ecap = _ecap(n)
    return (np.empty(2 * n, np.int64), np.empty(2 * n + 1, np.int64),
            np.zeros(2 * n + 1, np.bool_), np.empty(n, np.int64), np.empty(n, np.int64),
            np.empty(2 * n + 2, np.int64), np.empty(2 * n + 1, np.int64),
            np.zeros(W, np.int64), np.zeros(n + 1, np.int64), np.zeros(n + 1, np.int64),
            np.zeros(n + 1, np.int64), np.zeros(W + 1, np.int64), np.zeros(n + 1, np.int64),
            np.full(2 * ecap, -1, np.int64), np.zeros(ecap, np.int64),
            np.zeros(ecap, np.int64), np.zeros(ecap, np.int64), np.zeros(ecap, np.int64),
            np.zeros(4 * ecap + 2 * (W + 1), np.int64), np.zeros(n, np.int64),
            np.zeros(K.MAX_BEST_STATES, np.int64), np.zeros(K.N_REGS, np.int64))


@njit(cache=True)
def _ecap(n):
    # memo entries to start with: a small key explores about as many
    # configurations as it has ops (the tables double when it needs more)
    return _pow2(max(64, 2 * n))


@njit(cache=True)
def _search(kind, a, b, must, inv, ret, init, zob, max_steps, mem_cap_words, reads_first, ws,
            res):
    """The compiled search over one encoded key; ``res`` gets (status,
    configurations, steps, final state).  Tables start small and double, as in
    search.py, up to ``mem_cap_words`` int64 words; past that (or ``max_steps``)
    the status is S_PAUSED: the per-history path takes over."""
    n = kind.shape[0]
    (rord_w, ev_op_w, ev_call_w, call_w, ret_w, nxt_w, prv_w, bits_w, sop_w, sst_w, sfr_w,
     enc_w, bpre_w, mtab_w, mh_w, ms_w, mo_w, ml_w, mbuf_w, zero_w, best_states,
     regs) = ws
    # events in real-time order: calls are in order already (rows are); returns
    # nearly so (an insertion sort is linear on them); then a merge.  Positions
    # are all distinct.
    rorder = rord_w[:n]
    for q in range(n):
        x = ret[q]
        j = q
        while j > 0 and ret[rorder[j - 1]] > x:
            rorder[j] = rorder[j - 1]
            j -= 1
        rorder[j] = q
    ev_op = ev_op_w[:2 * n + 1]
    ev_call = ev_call_w[:2 * n + 1]
    call_entry = call_w[:n]
    ret_entry = ret_w[:n]
    ev_op[0] = -1
    ev_call[0] = False
    i = 0
    j = 0
    e = 1
    while i < n or j < n:
        if j >= n or (i < n and inv[i] < ret[rorder[j]]):
            ev_op[e] = i
            ev_call[e] = True
            call_entry[i] = e
            i += 1
        else:
            o = rorder[j]
            ev_op[e] = o
            ev_call[e] = False
            ret_entry[o] = e
            j += 1
        e += 1
    nxt = nxt_w[:2 * n + 1]
    prv = prv_w[:2 * n + 1]
    for q in range(2 * n + 1):
        nxt[q] = q + 1
        prv[q] = q - 1
    nxt[2 * n] = -1
    W = (n + 63) >> 6
    bits = bits_w[:W]
    bits[:] = 0
    stack_op = sop_w[:n + 1]
    stack_state = sst_w[:n + 1]
    stack_front = sfr_w[:n + 1]
    enc = enc_w[:W + 1]
    best_prefix = bpre_w[:n + 1]
    ecap = _ecap(n)
    mtab = mtab_w[:2 * ecap]
    mtab[:] = -1
    ment_hash = mh_w[:ecap]
    ment_state = ms_w[:ecap]
    ment_off = mo_w[:ecap]
    ment_len = ml_w[:ecap]
    mbuf = mbuf_w[:4 * ecap + 2 * (W + 1)]
    zero = zero_w[:n]
    dummy = zero_w[:1]
    stab = zero_w[:0]
    smeta = zero_w[:0]
    regs[:] = 0
    regs[K.R_STATE] = init
    remain = 0
    for o in range(n):
        remain += must[o]
    regs[K.R_REMAIN] = remain
    status = K.S_PAUSED
    while True:
        K.wgl_run(K.M_CAS, kind, a, b, zero, must, dummy, ev_op, ev_call, nxt, prv,
                  call_entry, ret_entry, zob, stack_op, stack_state, stack_front, bits, regs,
                  mtab, ment_hash, ment_state, ment_off, ment_len, mbuf, enc, dummy, dummy,
                  dummy, stab, smeta, 0, best_prefix, best_states, dummy,
                  max_steps - regs[K.R_STEPS], reads_first)
        status = regs[K.R_STATUS]
        if status != K.S_GROW_MEMO:
            break
        words = mtab.shape[0] + 4 * ment_hash.shape[0] + mbuf.shape[0]
        if 2 * words > mem_cap_words:
            status = K.S_PAUSED
            break
        # grown tables are this key's own (the workspace keeps its size)
        mcount = regs[K.R_MCOUNT]
        if regs[K.R_MUSED] + W + 1 >= mbuf.shape[0]:
            nb = np.zeros(2 * mbuf.shape[0], np.int64)
            nb[:mbuf.shape[0]] = mbuf
            mbuf = nb
        if mcount + 1 >= ecap or 2 * (mcount + 1) >= mtab.shape[0]:
            ecap *= 2
            h2 = np.zeros(ecap, np.int64)
            s2 = np.zeros(ecap, np.int64)
            o2 = np.zeros(ecap, np.int64)
            l2 = np.zeros(ecap, np.int64)
            h2[:mcount] = ment_hash[:mcount]
            s2[:mcount] = ment_state[:mcount]
            o2[:mcount] = ment_off[:mcount]
            l2[:mcount] = ment_len[:mcount]
            ment_hash, ment_state, ment_off, ment_len = h2, s2, o2, l2
            mtab = np.full(mtab.shape[0] * 2, -1, np.int64)
            K.memo_rehash(mtab, ment_hash, mcount)
    res[0] = status
    res[1] = regs[K.R_MCOUNT]
    res[2] = regs[K.R_STEPS]
    res[3] = regs[K.R_STATE]


@njit(cache=True)
def run_batch(hoff, typ, proc, fcode, key, val, pair, fmap, fmap_off, l2g, l2g_off,
              gfrom, gto, init, zob, max_steps, mem_cap_words, reads_first, hout, pout):
    """Decide every history ``h`` (positions ``hoff[h]:hoff[h+1]`` of the
    concatenated columns); ``hout[h]`` / ``pout`` rows get the answers."""
    nh = hoff.shape[0] - 1
    np_out = 0
    res = np.zeros(4, np.int64)
    uout = np.zeros(N_OUT + 1, np.int64)
    # buffers for the largest history; a key has at most that many ops
    most = 1
    for h in range(nh):
        most = max(most, hoff[h + 1] - hoff[h])
    ws = _workspace(most)
    rinv_w = np.empty(most, np.int64)
    rkey_w = np.empty(most, np.int64)
    starts_w = np.empty(most + 1, np.int64)
    first_w = np.empty(most + 1, np.int64)
    kind_w = np.empty(most, np.int64)
    a_w = np.empty(most, np.int64)
    b_w = np.empty(most, np.int64)
    must_w = np.empty(most, np.int8)
    inv_w = np.empty(most, np.int64)
    ret_w = np.empty(most, np.int64)
    gorder_w = np.empty(most, np.int64)
    gseq_w = np.zeros(most + 1, np.int64)
    # per value id, the last key (a running stamp) that observed / wrote it:
    # membership without sorting or clearing
    observed_in = np.full(gfrom.shape[0], -1, np.int64)
    written_in = np.full(gfrom.shape[0], -1, np.int64)
    stamp = 0
    for h in range(nh):
        lo = hoff[h]
        npos = hoff[h + 1] - lo
        fm = fmap[fmap_off[h]:fmap_off[h + 1]]
        lg = l2g[l2g_off[h]:l2g_off[h + 1]]
        hout[h, HO_STATUS] = H_DEFER
        hout[h, HO_PART0] = np_out
        # the client ops, in invocation order (the per-history path's rows)
        nrows = 0
        keyed = False
        bad = False
        for i in range(npos):
            if typ[lo + i] == T_INVOKE and proc[lo + i] >= 0:
                rinv_w[nrows] = i
                rkey_w[nrows] = key[lo + i]
                if key[lo + i] >= 0:
                    keyed = True
                fc = fcode[lo + i]
                if fc < 0 or fc >= fm.shape[0] or fm[fc] == F_OTHER:
                    bad = True  # an op the model has no name for: the per-history path says which
                nrows += 1
        if bad or nrows == 0:
            continue
        rinv = rinv_w[:nrows]
        rkey = rkey_w[:nrows]
        # groups: keys in order of first appearance, rows in order within a key
        if keyed:
            gorder = argsort(rkey)  # stable: rows stay in order within a key
        else:
            gorder = gorder_w[:nrows]
            for j in range(nrows):
                gorder[j] = j
        starts = starts_w
        ng = 0
        for j in range(nrows):
            if j == 0 or (keyed and rkey[gorder[j]] != rkey[gorder[j - 1]]):
                starts[ng] = j
                ng += 1
        starts[ng] = nrows
        if ng > 1:
            first = first_w[:ng]
            for g in range(ng):
                first[g] = gorder[starts[g]]
            gseq = argsort(first)
        else:
            gseq = gseq_w[:ng]
        if np_out + ng > pout.shape[0]:
            continue  # cannot happen: the caller sizes pout by the op count
        configs = 0
        steps = 0
        nops = 0
        final = init
        ok = True
        for gi in range(ng):
            g = gseq[gi]
            kind = kind_w
            a = a_w
            b = b_w
            must = must_w
            inv = inv_w
            ret = ret_w
            k = 0
            for j in range(starts[g], starts[g + 1]):
                row = gorder[j]
                i = rinv[row]
                c = pair[lo + i]
                st = T_INFO
                if c >= 0:
                    st = typ[lo + c]
                fk = fm[fcode[lo + i]]
                if st == T_FAIL:
                    continue
                if fk == F_READ:
                    if st != T_OK:
                        continue
                    kind[k] = K.K_READ
                    a[k] = lg[val[lo + c]]
                    b[k] = 0
                elif fk == F_WRITE:
                    kind[k] = K.K_WRITE
                    a[k] = lg[val[lo + i]]
                    b[k] = 0
                else:
                    v = lg[val[lo + i]]
                    if gfrom[v] == NO_PAIR:
                        ok = False  # not [from, to]: the per-history path names it
                        break
                    kind[k] = K.K_CAS
                    a[k] = gfrom[v]
                    b[k] = gto[v]
                must[k] = 1 if st == T_OK else 0
                inv[k] = i
                if st == T_INFO or c < 0:
                    ret[k] = npos + row
                else:
                    ret[k] = c
                k += 1
            if not ok:
                break
            # Knossos' nil convention (models.py: Register.encode_many)
            if init != 0:
                nil_written = False
                for q in range(k):
                    if (kind[q] == K.K_WRITE and a[q] == 0) or (kind[q] == K.K_CAS and b[q] == 0):
                        nil_written = True
                        break
                if not nil_written:
                    for q in range(k):
                        if kind[q] == K.K_READ and a[q] == 0:
                            a[q] = K.ANY
            # crashed writes nobody observes are left out (models.py: _needed)
            stamp += 1
            crashed = False
            for q in range(k):
                if (kind[q] == K.K_READ or kind[q] == K.K_CAS) and a[q] >= 0:
                    observed_in[a[q]] = stamp  # ANY (a negative sentinel) observes nothing
                if must[q] == 0:
                    crashed = True  # only writes and cases can be crashed (reads were dropped)
            kk = k
            if crashed:
                kk = 0
                for q in range(k):
                    drop = False
                    if must[q] == 0:
                        nv = b[q] if kind[q] == K.K_CAS else a[q]
                        drop = observed_in[nv] != stamp
                    if not drop:
                        kind[kk] = kind[q]
                        a[kk] = a[q]
                        b[kk] = b[q]
                        must[kk] = must[q]
                        inv[kk] = inv[q]
                        ret[kk] = ret[q]
                        kk += 1
            if kk == 0:
                ok = False  # the unique-values check answers for an empty key
                break
            kind, a, b, must, inv, ret = kind[:kk], a[:kk], b[:kk], must[:kk], inv[:kk], ret[:kk]
            # the unique-values check decides (and explains) what it applies to: a
            # written value repeated, or the initial value written, is its first
            # "does not apply" (unique._decide), found here without its set-up
            repeated = False
            for q in range(kk):
                if kind[q] != K.K_READ:
                    nv = b[q] if kind[q] == K.K_CAS else a[q]
                    if nv == init or written_in[nv] == stamp:
                        repeated = True
                        break
                    written_in[nv] = stamp
            if not repeated:
                _decide(kind, a, b, must, inv, ret, init, uout)
                if uout[O_STATUS] != NOT_UNIQUE:
                    ok = False
                    break
            _search(kind, a, b, must, inv, ret, init, zob, max_steps, mem_cap_words, reads_first,
                    ws, res)
            if res[0] != K.S_VALID:
                ok = False
                break
            p = np_out + gi
            pout[p, PO_KEY] = rkey[gorder[starts[g]]] if keyed else -1
            pout[p, PO_OPS] = kk
            pout[p, PO_CONFIGS] = res[1]
            pout[p, PO_STEPS] = res[2]
            configs += res[1]
            steps += res[2]
            nops += kk
            final = res[3]
        if not ok:
            continue
        hout[h, HO_STATUS] = H_VALID
        hout[h, HO_PARTS] = ng
        hout[h, HO_CONFIGS] = configs
        hout[h, HO_STEPS] = steps
        hout[h, HO_FINAL] = final
        hout[h, HO_OPS] = nops
        hout[h, HO_KEYED] = 1 if keyed else 0
        np_out += ng
