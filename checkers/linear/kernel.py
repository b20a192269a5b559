"""The compiled Wing–Gong search with Lowe's memoisation.

Algorithm (Wing & Gong 1993, as refined by Lowe, "Testing for
linearizability", 2017, and used by Porcupine and Knossos' ``wgl``): the
history is a doubly linked list of call and return events in real-time
order.  Walking the list from its head, a call whose model step is legal is
*lifted* (its call and return leave the list, the op joins the
linearization); reaching a return means its op could not be linearized
before it returned, so we backtrack by un-lifting the most recent op.
Lowe's memoisation prunes a configuration (set of linearized ops, model
state) seen before: from equal configurations the rest of the search is
identical.

Everything the search needs lives in arrays passed in, so the kernel can stop
after ``max_steps`` iterations (or when a table must grow) and resume: the
Python driver checks the wall clock and the memory budget between calls
(numba code cannot read a clock).

The memo is an open-addressing hash table over entry ids; entry ``e`` stores
the 64-bit hash, the state and a canonical encoding of the linearized set, so
equality is exact and a hash collision only costs a comparison.  The set's
hash is Zobrist's (XOR of one random 64-bit word per op), updated in O(1) per
lift/unlift.

Why an encoding and not the bitset: ops are numbered in invocation order, and
WGL lifts an op only after every op whose return precedes its call, so a
linearized set is "everything below a frontier, less a few holes" — the holes
being ops still pending at the frontier and ``info`` ops not (yet) taken.  A
memo entry stores ``[frontier, hole ids...]`` (sparse form) when there are
fewer holes than bitset words, else ``[-1, bitset words...]`` (dense form).
Equal sets get equal encodings, so equality stays exact; a 100,000-op
single-register history needs a few words per entry instead of 1,563.  The
lowest hole (``zero``) is maintained incrementally so encoding scans only the
words between it and the frontier.

Models are selected by an integer id (see ``models.py``) and stepped by
``_step``; wide states (queues, multi-registers) are interned vectors in a
state store, so state ids are exact too.
"""

from __future__ import annotations

import numpy as np
from ..jit import njit

# model ids
M_REGISTER, M_CAS, M_COUNTER, M_MUTEX, M_APPEND, M_SET, M_QUEUE, M_MULTI = 0, 1, 2, 3, 4, 5, 6, 7

# op kinds
K_READ, K_WRITE, K_CAS, K_CASFAIL, K_ADD, K_ACQ, K_REL, K_APPEND = 0, 1, 2, 3, 4, 5, 6, 7
K_SADD, K_SREAD, K_ENQ, K_DEQ, K_TXN = 8, 9, 10, 11, 12

# value sentinels (never an interned value code, fingerprint or counter value in practice)
ANY = -(1 << 62)        # a result nobody observed: constrains nothing
EMPTY = -(1 << 62) + 1  # a dequeue that found the queue empty

# fingerprint modulus for append-kv strings: the Mersenne prime 2^61 - 1
P61 = (1 << 61) - 1

# regs layout (int64 vector shared between the driver and the kernel)
R_ENTRY, R_STATE, R_DEPTH, R_REMAIN, R_HASH, R_MCOUNT, R_STATUS = 0, 1, 2, 3, 4, 5, 6
R_BEST_ENTRY, R_BEST_DEPTH, R_BEST_NSTATES, R_STEPS, R_MAXDEPTH = 7, 8, 9, 10, 11
R_FRONT, R_ZERO, R_MUSED, R_BACKING = 12, 13, 14, 15
N_REGS = 16

# statuses
S_RUNNING, S_VALID, S_INVALID, S_PAUSED, S_GROW_MEMO, S_GROW_STORE = 0, 1, 2, 3, 4, 5

MAX_BEST_STATES = 8


@njit(cache=True, inline="always")
def _mix(x):
    # splitmix64 finaliser in int64 arithmetic (wraps); logical shifts emulated by masking
    x = x ^ ((x >> 30) & 0x3FFFFFFFF)
    x = x * -4658895280553007687  # 0xBF58476D1CE4E5B9
    x = x ^ ((x >> 27) & 0x1FFFFFFFFF)
    x = x * -7723592293110705685  # 0x94D049BB133111EB
    x = x ^ ((x >> 31) & 0x1FFFFFFFF)
    return x


@njit(cache=True)
def _mulmod61(a, b):
    # (a * b) mod 2^61-1 for 0 <= a, b < 2^61, via 31/30-bit limbs (no 128-bit ints in numba)
    a_hi = a >> 31
    a_lo = a & 0x7FFFFFFF
    b_hi = b >> 31
    b_lo = b & 0x7FFFFFFF
    # a*b = a_hi*b_hi*2^62 + (a_hi*b_lo + a_lo*b_hi)*2^31 + a_lo*b_lo ; 2^61 = 1 mod p
    hh = (a_hi * b_hi) % P61            # < 2^60
    r = (hh * 2) % P61                  # 2^62 = 2 mod p
    mid = (a_hi * b_lo + a_lo * b_hi) % P61
    # mid * 2^31 mod p: split mid = m_hi*2^30 + m_lo ; 2^61 = 1
    m_hi = mid >> 30
    m_lo = mid & 0x3FFFFFFF
    r = (r + m_hi + ((m_lo << 31) % P61)) % P61
    r = (r + (a_lo * b_lo) % P61) % P61
    return r


# --------------------------------------------------------------------------- state store

@njit(cache=True)
def _vec_hash(v, n):
    h = 0x2545F4914F6CDD1D + n
    for i in range(n):
        h = _mix(h ^ v[i])
    return h


@njit(cache=True)
def store_intern(sbuf, soff, slen, stab, smeta, v, n):
    """Id of vector ``v[:n]`` in the store, adding it if new.  The caller has
    checked capacity (see ``store_room``)."""
    h = _vec_hash(v, n)
    mask = stab.shape[0] - 1
    i = h & mask
    while True:
        s = stab[i]
        if s < 0:
            break
        if slen[s] == n:
            o = soff[s]
            same = True
            for k in range(n):
                if sbuf[o + k] != v[k]:
                    same = False
                    break
            if same:
                return s
        i = (i + 1) & mask
    s = smeta[0]
    o = smeta[1]
    for k in range(n):
        sbuf[o + k] = v[k]
    soff[s] = o
    slen[s] = n
    stab[i] = s
    smeta[0] = s + 1
    smeta[1] = o + n
    return s


@njit(cache=True)
def store_rehash(sbuf, soff, slen, stab, nstates):
    mask = stab.shape[0] - 1
    stab[:] = -1
    for s in range(nstates):
        h = _vec_hash(sbuf[soff[s]:soff[s] + slen[s]], slen[s])
        i = h & mask
        while stab[i] >= 0:
            i = (i + 1) & mask
        stab[i] = s


@njit(cache=True)
def memo_rehash(mtab, ment_hash, count):
    mask = mtab.shape[0] - 1
    mtab[:] = -1
    for e in range(count):
        i = ment_hash[e] & mask
        while mtab[i] >= 0:
            i = (i + 1) & mask
        mtab[i] = e


# --------------------------------------------------------------------------- set encoding

@njit(cache=True, inline="always")
def _ctz(v):
    # index of the single set bit of v (v != 0): binary search over halves 32, 16, .., 1
    n = 0
    width = 32
    while width > 0:
        mask = (np.int64(1) << width) - 1
        if (v & mask) == 0:
            n += width
            v = (v >> width) & mask
        width >>= 1
    return n


@njit(cache=True)
def next_zero(bits, start):
    """Lowest id >= ``start`` whose bit is clear (may exceed the op count: the
    bits past it are always clear)."""
    W = bits.shape[0]
    w = start >> 6
    if w >= W:
        return start
    inv = ~bits[w] & -(np.int64(1) << (start & 63))
    while inv == 0:
        w += 1
        if w >= W:
            return w << 6
        inv = ~bits[w]
    return (w << 6) + _ctz(inv & -inv)


@njit(cache=True)
def encode_set(bits, front, zero, enc):
    """Write the canonical encoding of the set (see the module docstring) into
    ``enc`` (length W + 1) and return its length."""
    W = bits.shape[0]
    enc[0] = front
    u = 0
    if zero < front:
        w0 = zero >> 6
        w1 = (front - 1) >> 6
        for w in range(w0, w1 + 1):
            inv = ~bits[w]
            if w == w0:
                inv &= -(np.int64(1) << (zero & 63))
            if w == w1:
                top = front - (w1 << 6)
                if top < 64:
                    inv &= (np.int64(1) << top) - 1
            while inv != 0:
                low = inv & -inv
                if u + 1 >= W:
                    # as many holes as words: the dense form is no longer than this
                    enc[0] = -1
                    for q in range(W):
                        enc[1 + q] = bits[q]
                    return W + 1
                enc[1 + u] = (w << 6) + _ctz(low)
                u += 1
                inv ^= low
    return u + 1


# --------------------------------------------------------------------------- model steps

@njit(cache=True)
def _step(model, o, state, kind, a, b, c, aux, bits, sbuf, soff, slen, stab, smeta, tmp):
    """(legal, new state) of applying op ``o`` to ``state``."""
    k = kind[o]
    if model == M_REGISTER or model == M_CAS:
        if k == K_READ:
            return (a[o] == ANY or a[o] == state), state
        if k == K_WRITE:
            return True, a[o]
        if k == K_CAS:
            if state == a[o]:
                return True, b[o]
            return False, state
        if k == K_CASFAIL:
            return state != a[o], state
        return False, state
    if model == M_COUNTER:
        if k == K_ADD:
            return True, state + a[o]
        return (a[o] == ANY or a[o] == state), state
    if model == M_MUTEX:
        if k == K_ACQ:
            return state == 0, np.int64(1)
        return state == 1, np.int64(0)
    if model == M_APPEND:
        if k == K_READ:
            return (a[o] == ANY or a[o] == state), state
        if k == K_WRITE:
            return True, a[o]
        # append: fp(s + t) = fp(s) * B^|t| + fp(t)  (mod 2^61-1)
        return True, (_mulmod61(state, b[o]) + a[o]) % P61
    if model == M_SET:
        if k == K_SADD:
            # membership is a function of the linearized ops: the value is already in
            # the set iff another add of it is linearized (or it was there initially,
            # in which case the encoder set a = 0)
            for j in range(b[o], c[o]):
                p = aux[j]
                if p != o and (bits[p >> 6] >> (p & 63)) & 1:
                    return True, state
            return True, state ^ a[o]
        return (a[o] == ANY or a[o] == state), state
    if model == M_QUEUE:
        off = soff[state]
        n = slen[state]
        if k == K_ENQ:
            for i in range(n):
                tmp[i] = sbuf[off + i]
            tmp[n] = a[o]
            return True, store_intern(sbuf, soff, slen, stab, smeta, tmp, n + 1)
        if n == 0:
            return (a[o] == ANY or a[o] == EMPTY), state
        if a[o] != ANY and a[o] != sbuf[off]:
            return False, state
        for i in range(n - 1):
            tmp[i] = sbuf[off + 1 + i]
        return True, store_intern(sbuf, soff, slen, stab, smeta, tmp, n - 1)
    if model == M_MULTI:
        off = soff[state]
        n = slen[state]
        for i in range(n):
            tmp[i] = sbuf[off + i]
        wrote = False
        j = b[o]
        while j < c[o]:
            typ = aux[j]
            key = aux[j + 1]
            val = aux[j + 2]
            if typ == 0:
                if val != ANY and tmp[key] != val:
                    return False, state
            else:
                tmp[key] = val
                wrote = True
            j += 3
        if not wrote:
            return True, state
        return True, store_intern(sbuf, soff, slen, stab, smeta, tmp, n)
    return False, state


# --------------------------------------------------------------------------- the search

@njit(cache=True)
def _lift(o, call_entry, ret_entry, nxt, prv):
    ce = call_entry[o]
    nxt[prv[ce]] = nxt[ce]
    if nxt[ce] >= 0:
        prv[nxt[ce]] = prv[ce]
    re = ret_entry[o]
    nxt[prv[re]] = nxt[re]
    if nxt[re] >= 0:
        prv[nxt[re]] = prv[re]


@njit(cache=True)
def _unlift(o, call_entry, ret_entry, nxt, prv):
    re = ret_entry[o]
    nxt[prv[re]] = re
    if nxt[re] >= 0:
        prv[nxt[re]] = re
    ce = call_entry[o]
    nxt[prv[ce]] = ce
    if nxt[ce] >= 0:
        prv[nxt[ce]] = ce


@njit(cache=True)
def wgl_run(model, kind, a, b, c, must, aux, ev_op, ev_call, nxt, prv, call_entry,
            ret_entry, zob, stack_op, stack_state, stack_front, bits, regs, mtab, ment_hash,
            ment_state, ment_off, ment_len, mbuf, enc, sbuf, soff, slen, stab, smeta,
            store_need, best_prefix, best_states, tmp, max_steps, reads_first=False):
    """Run (or resume) the search for at most ``max_steps`` iterations; the outcome
    is ``regs[R_STATUS]``.  Entry 0 is the list head; entries 1..2n are events in
    real-time order, so an entry's number is also its position."""
    W = bits.shape[0]
    entry = regs[R_ENTRY]
    state = regs[R_STATE]
    depth = regs[R_DEPTH]
    remain = regs[R_REMAIN]
    h = regs[R_HASH]
    mcount = regs[R_MCOUNT]
    front = regs[R_FRONT]
    zero = regs[R_ZERO]
    mused = regs[R_MUSED]
    mbcap = mbuf.shape[0]
    ecap = ment_state.shape[0]
    mcap = mtab.shape[0]
    mmask = mcap - 1
    status = S_PAUSED
    steps = 0
    backing = regs[R_BACKING] != 0
    while steps < max_steps:
        steps += 1
        if remain == 0:
            status = S_VALID
            break
        if mcount + 1 >= ecap or 2 * (mcount + 1) >= mcap or mused + W + 1 >= mbcap:
            status = S_GROW_MEMO
            break
        if store_need > 0 and (smeta[0] + 2 >= soff.shape[0]
                               or smeta[1] + store_need >= sbuf.shape[0]
                               or 2 * (smeta[0] + 2) >= stab.shape[0]):
            status = S_GROW_STORE
            break
        if entry < 0:
            # ran off the end with ok ops unlinearized (cannot happen: their returns
            # are in the list); treat as a dead end
            entry = 0
        if entry == 0 and not backing:
            entry = nxt[0]
            continue
        o = ev_op[entry]
        if not backing and ev_call[entry]:
            if model == M_REGISTER or model == M_CAS:
                # the register models inline: a call per step would cost more than the step
                k = kind[o]
                ns = state
                if k == K_READ:
                    legal = a[o] == ANY or a[o] == state
                elif k == K_WRITE:
                    legal = True
                    ns = a[o]
                elif k == K_CAS:
                    legal = state == a[o]
                    if legal:
                        ns = b[o]
                elif k == K_CASFAIL:
                    legal = state != a[o]
                else:
                    legal = False
            else:
                legal, ns = _step(model, o, state, kind, a, b, c, aux, bits, sbuf, soff, slen,
                                  stab, smeta, tmp)
            if legal:
                w = o >> 6
                bit = np.int64(1) << (o & 63)
                bits[w] |= bit
                h2 = h ^ zob[o]
                key = h2 ^ _mix(ns + 0x632BE59BD9B4E019)
                nfront = front if front > o else o + 1
                nzero = next_zero(bits, zero + 1) if o == zero else zero
                L = encode_set(bits, nfront, nzero, enc)
                # memo lookup / insert
                i = key & mmask
                found = False
                while True:
                    e = mtab[i]
                    if e < 0:
                        break
                    if ment_hash[e] == key and ment_state[e] == ns and ment_len[e] == L:
                        same = True
                        base = ment_off[e]
                        for q in range(L):
                            if mbuf[base + q] != enc[q]:
                                same = False
                                break
                        if same:
                            found = True
                            break
                    i = (i + 1) & mmask
                if not found:
                    e = mcount
                    mcount += 1
                    mtab[i] = e
                    ment_hash[e] = key
                    ment_state[e] = ns
                    ment_off[e] = mused
                    ment_len[e] = L
                    for q in range(L):
                        mbuf[mused + q] = enc[q]
                    mused += L
                    stack_op[depth] = o
                    stack_state[depth] = state
                    stack_front[depth] = front
                    depth += 1
                    if depth > regs[R_MAXDEPTH]:
                        regs[R_MAXDEPTH] = depth
                    state = ns
                    h = h2
                    front = nfront
                    zero = nzero
                    if must[o]:
                        remain -= 1
                    _lift(o, call_entry, ret_entry, nxt, prv)
                    entry = nxt[0]
                else:
                    bits[w] &= ~bit
                    entry = nxt[entry]
            else:
                entry = nxt[entry]
        else:
            # a return: its op was not linearized in time from this configuration
            if backing:
                backing = False  # no return reached: the configuration failed by proxy
            elif entry > regs[R_BEST_ENTRY]:
                regs[R_BEST_ENTRY] = entry
                regs[R_BEST_DEPTH] = depth
                for q in range(depth):
                    best_prefix[q] = stack_op[q]
                best_states[0] = state
                regs[R_BEST_NSTATES] = 1
            elif entry == regs[R_BEST_ENTRY]:
                nb = regs[R_BEST_NSTATES]
                seen = False
                for q in range(nb):
                    if best_states[q] == state:
                        seen = True
                        break
                if not seen and nb < best_states.shape[0]:
                    best_states[nb] = state
                    regs[R_BEST_NSTATES] = nb + 1
            if depth == 0:
                status = S_INVALID
                break
            depth -= 1
            p = stack_op[depth]
            state = stack_state[depth]
            front = stack_front[depth]
            if p < zero:
                zero = p
            bits[p >> 6] &= ~(np.int64(1) << (p & 63))
            h = h ^ zob[p]
            if must[p]:
                remain += 1
            _unlift(p, call_entry, ret_entry, nxt, prv)
            entry = nxt[call_entry[p]]
            if reads_first and (kind[p] == K_READ or kind[p] == K_SREAD) and (
                    model == M_REGISTER or model == M_CAS or model == M_COUNTER
                    or model == M_APPEND or model == M_SET):
                # Partial-order reduction: a read changes no state (nor what a
                # set's adds do), and it was callable here, so a linearization
                # from this configuration could have taken it first.  Taking it
                # first failed, so this configuration fails too: keep backing up.
                # Every path the rest of this configuration's scan would try has
                # a counterpart with the read first, searched before, reaching
                # the same returns in the same states: counterexamples (the
                # furthest return, its states, the first prefix reaching it)
                # are unchanged.
                backing = True
    regs[R_ENTRY] = entry
    regs[R_STATE] = state
    regs[R_DEPTH] = depth
    regs[R_REMAIN] = remain
    regs[R_HASH] = h
    regs[R_MCOUNT] = mcount
    regs[R_FRONT] = front
    regs[R_ZERO] = zero
    regs[R_MUSED] = mused
    regs[R_STATUS] = status
    regs[R_BACKING] = 1 if backing else 0
    regs[R_STEPS] += steps
