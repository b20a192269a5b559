"""Exact linearizability of an ``append-kv`` key whose written strings are a prefix code.

An append-kv key holds a string: ``put p`` replaces it, ``append y`` extends
it, ``get`` returns it (None is ""), starting from the ``init`` string s0.
Call *pieces* the values of the key's puts and appends (``ok`` or ``info``;
``fail`` ops are not in the model) and s0 when it is non-empty.  When every
piece is non-empty, no two are equal, and no piece is a prefix of another
(a prefix code), the key reduces to a register with unique values and
successful CASes, decided exactly by unique.py.  The argument, in the order
the code checks it:

1. Decoding.  In any sequence of the key's ops (each at most once) the
   string is base·a1·…·ak: base is s0 or the last put's value, a1…ak the
   values of the appends applied since, each a different op.  A prefix code
   is uniquely decodable, and greedily: at each position at most one piece
   starts there.  So a get's result s is produced by some state only if it
   decodes into q1…qm with q1 a base (a put's value, s0's piece; or, when s0
   is "", an append's value, or nothing at all for s = ""), q2…qm appends'
   values, and no piece twice (values are distinct, so a repeated piece
   would be one op applied twice).  A get failing this is placed by no
   linearization: the key is not linearizable.

2. Predecessors.  If a linearization L exists, an ok get g is in it, and
   the state it returns is base·a1…ak with that decoding; so the append of
   q(i+1) was applied, in L, to the state whose last piece is q(i) (to s0,
   written INIT, when i = 0 and the base is s0 = "").  Call q(i) = pred(y)
   for y = q(i+1); two gets giving one append two different predecessors
   prove the key not linearizable (both are named).  An append some get
   shows is *observed*; pred is defined exactly on them, and following
   pred from any observed piece ends at a base (the chain of the get that
   showed it), so str(v) is well defined for v = INIT (s0), a put (its
   value) and an observed append y (str(pred(y))·y).

3. The register R.  Same ops, same intervals, same ok/info status: put p is
   write(p); observed append y is cas(pred(y) → y); an unobserved append y
   is write(y), a value nobody reads; a get with result s is read(tail(s)),
   the last piece of s (INIT for "" and for s0 alone).  Values are unique
   and none is INIT, so unique.py decides R exactly.  H (the key) is
   linearizable iff R is:

   (⇒) Take L for H and keep its order.  By induction the register holds
   the last piece of the string (INIT for s0).  A put and an unobserved
   append set it as the matching write does; for an observed append y, step
   2 showed the string ended with pred(y) when y was applied, so the cas
   succeeds; a get returns the string, so its read sees tail(s).

   (⇐) Take L' for R and keep its order.  Invariant: when the register
   holds a value v that is INIT, a put or an observed append, the string is
   str(v); when it holds an unobserved append, the string is unknown but
   (below) nothing reads it.  A put sets str(p) = p.  A cas pred(y) → y
   succeeded, so the register held pred(y) (a base or an observed append,
   hence determined) and the string becomes str(pred(y))·y = str(y).  A
   write of an unobserved append y: the string is something ending in y.
   A read of tail(s): tail(s) is INIT or a piece s shows, so never an
   unobserved append, so the string is str(tail(s)), which by step 2's
   consistency check is exactly q1…qm = s.  After an unobserved append,
   R lets only writes follow (nothing reads y, no cas expects it), and in
   H those are puts and unobserved appends, whose results no one checks.

   So an unobserved ok append is a never-read write: in R it must come
   after every read of the value it displaces, i.e. between units or at
   the end, which is exactly where H allows it (a get or an observed append
   after it, before the next put, would show y).

Everything unique.py reports (the op that cannot be placed, why, the ops
that force it) refers to the same local op ids, since R keeps the rows in
order.  When a precondition fails (a repeated, empty or prefix piece) the
caller runs the search.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from ..jit import njit

from . import kernel as K
from .encode import Partition
from .readable import show_string
from .unique import REASONS, UniqueResult, possible_values, run_unique

ALGORITHM = "unique-appends"

# _decode's answer, out[D_STATUS]; the op at fault is out[D_GET], a get
D_OK, D_UNDECODABLE, D_EMPTY, D_NOT_BASE, D_BASE_INSIDE, D_REPEAT, D_CONFLICT = range(7)
D_STATUS, D_GET, D_PIECE, D_OTHER = range(4)
PUT_PIECE, APPEND_PIECE, INIT_PIECE = 0, 1, 2
NO_PRED, INIT = -2, -1

WHY = {
    D_UNDECODABLE: "its result is not a sequence of the key's put and append values",
    D_EMPTY: "it returned the empty string, but the key starts non-empty and every put "
             "writes a non-empty string",
    D_NOT_BASE: "its result does not begin with a put's value or the initial string",
    D_BASE_INSIDE: "its result has a put's value (or the initial string) after its start, "
                   "where only appended values can be",
    D_REPEAT: "its result has one append's value twice",
    D_CONFLICT: "it shows an append's value right after a different piece than an earlier "
                "get shows it after (each append is applied once)",
}
# unique.py's reasons, in the words of strings and appends
APPEND_REASONS = {
    REASONS[1]: "its string contains a piece no put or append wrote",
    REASONS[2]: "another append was applied to the same string first (the gets show both "
                "appended right after the same piece)",
    REASONS[3]: "it saw or extended a string whose last piece was written by an op that "
                "began only after this op ended",
    REASONS[4]: "the string it saw or extended had already been extended or replaced "
                "before it began",
    REASONS[5]: "its string was extended or replaced, and the newer string seen, before "
                "it began",
    REASONS[6]: "another put or append (and every get of its string) came entirely after "
                "this op's string was made and before this op began",
}


@njit(cache=True)
def _mix(h, n):
    x = h * np.int64(-7046029254386353131) + n
    return x ^ (x >> 31)


@njit(cache=True)
def _decode(pbuf, poff, lens, pkind, gbuf, goff, gorder, init_empty, tail, pred, psrc, out):
    """Greedy decoding of every get (in ``gorder``) into pieces (``lens``: the
    distinct piece lengths, ascending), filling
    ``tail`` (per get: last piece, or INIT), ``pred``/``psrc`` (per piece: the
    piece before it and the get that showed it).  Stops at the first get that
    no state produces, with the reason in ``out``."""
    npc = poff.shape[0] - 1
    base = np.int64(1099511628211)
    plen = poff[1:] - poff[:-1]
    pw = np.empty(lens.shape[0], np.int64)
    for j in range(lens.shape[0]):
        x = np.int64(1)
        for _ in range(lens[j]):
            x *= base
        pw[j] = x
    # open-addressing table of piece hashes
    size = 1
    while size < 2 * npc + 2:
        size *= 2
    mask = size - 1
    table = np.full(size, -1, np.int64)
    phash = np.empty(npc, np.int64)
    for p in range(npc):
        h = np.int64(0)
        for i in range(poff[p], poff[p + 1]):
            h = h * base + np.int64(pbuf[i]) + 1
        phash[p] = h
        slot = _mix(h, plen[p]) & mask
        while table[slot] >= 0:
            slot = (slot + 1) & mask
        table[slot] = p
    stamp = np.full(npc, -1, np.int64)
    maxlen = 0
    for g in range(goff.shape[0] - 1):
        maxlen = max(maxlen, goff[g + 1] - goff[g])
    pre = np.empty(maxlen + 1, np.int64)
    for g in gorder:
        lo, hi = goff[g], goff[g + 1]
        n = hi - lo
        if n == 0:
            if init_empty:
                tail[g] = INIT
                continue
            out[D_STATUS] = D_EMPTY
            out[D_GET] = g
            return
        pre[0] = 0
        for i in range(n):
            pre[i + 1] = pre[i] * base + np.int64(gbuf[lo + i]) + 1
        i = 0
        prev = -3
        while i < n:
            found = -1
            for j in range(lens.shape[0]):
                L = lens[j]
                if i + L > n:
                    break
                h = pre[i + L] - pre[i] * pw[j]
                slot = _mix(h, L) & mask
                while table[slot] >= 0:
                    p = table[slot]
                    if phash[p] == h and plen[p] == L:
                        same = True
                        for t in range(L):
                            if pbuf[poff[p] + t] != gbuf[lo + i + t]:
                                same = False
                                break
                        if same:
                            found = p
                            break
                    slot = (slot + 1) & mask
                if found >= 0:
                    break
            out[D_GET] = g
            out[D_PIECE] = found
            if found < 0:
                out[D_STATUS] = D_UNDECODABLE
                return
            if stamp[found] == g:
                out[D_STATUS] = D_REPEAT
                return
            stamp[found] = g
            k = pkind[found]
            want = NO_PRED
            if prev == -3:
                if k == APPEND_PIECE:
                    if not init_empty:
                        out[D_STATUS] = D_NOT_BASE
                        return
                    want = INIT
            elif k != APPEND_PIECE:
                out[D_STATUS] = D_BASE_INSIDE
                return
            else:
                want = INIT if pkind[prev] == INIT_PIECE else prev
            if want != NO_PRED:
                if pred[found] == NO_PRED:
                    pred[found] = want
                    psrc[found] = g
                elif pred[found] != want:
                    out[D_STATUS] = D_CONFLICT
                    out[D_OTHER] = psrc[found]
                    return
            prev = found
            i += L
        tail[g] = INIT if pkind[prev] == INIT_PIECE else prev
    out[D_STATUS] = D_OK
    out[D_GET] = -1


def _text(v: Any) -> str:
    return "" if v is None else v


def _concat(items: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    off = np.zeros(len(items) + 1, np.int64)
    off[1:] = np.cumsum([len(b) for b in items])
    buf = np.frombuffer(b"".join(items), np.uint8) if items else np.zeros(0, np.uint8)
    return buf, off


def unique_appends(ctx: Any, part: Partition) -> UniqueResult | None:
    """The exact verdict on an append-kv key whose pieces form a prefix code
    (module docstring), or None when they do not (the search then decides)."""
    t0 = time.perf_counter()
    if part.model_id != K.M_APPEND:
        return None
    n = len(part)
    kind = part.kind
    rows = part.rows.tolist()
    piece_op: list[int] = []
    pieces: list[bytes] = []
    pkind: list[int] = []
    gets: list[int] = []
    results: list[bytes] = []
    for o in range(n):
        k = int(kind[o])
        if k == K.K_READ:
            gets.append(o)
            results.append(_text(ctx.ret_value(rows[o])).encode("utf-8"))
        else:
            piece_op.append(o)
            pieces.append(_text(ctx.inv_value(rows[o])).encode("utf-8"))
            pkind.append(PUT_PIECE if k == K.K_WRITE else APPEND_PIECE)
    init = _text(ctx.init)
    if init:
        piece_op.append(-1)
        pieces.append(init.encode("utf-8"))
        pkind.append(INIT_PIECE)
    if not _prefix_code(pieces):
        return None
    pbuf, poff = _concat(pieces)
    gbuf, goff = _concat(results)
    g_idx = np.array(gets, np.int64)
    gorder = np.argsort(part.ret_pos[g_idx], kind="stable") if gets else np.zeros(0, np.int64)
    npc = len(pieces)
    tail = np.full(len(gets), INIT, np.int64)
    pred = np.full(npc, NO_PRED, np.int64)
    psrc = np.full(npc, -1, np.int64)
    out = np.full(4, -1, np.int64)
    if gets and npc:
        # the distinct piece lengths, ascending (sorted here: see checkers/sorting.py)
        lens = np.unique(np.diff(poff))
        _decode(pbuf, poff, lens, np.array(pkind, np.int8), gbuf, goff, gorder.astype(np.int64),
                not init, tail, pred, psrc, out)
    elif gets:
        # no pieces: every get must return the (empty) initial string
        bad = [j for j in gorder.tolist() if len(results[j])]
        out[D_STATUS] = D_UNDECODABLE if bad else D_OK
        out[D_GET] = bad[0] if bad else -1
    else:
        out[D_STATUS] = D_OK
    if out[D_STATUS] != D_OK:
        return _decode_failure(ctx, part, g_idx, out, pieces, piece_op, t0)
    reg = _register(part, g_idx, tail, pred, piece_op)
    res = run_unique(reg)
    if res is None:
        raise RuntimeError("internal error: the register an append-kv key reduces to has "
                           "repeated values")
    res.algorithm = ALGORITHM
    if res.valid is False:
        res.reason = APPEND_REASONS.get(res.reason, res.reason)
        res.states = []
        res.expected = _expected(ctx, part, reg, res.fail_op, pred, piece_op, pieces)
    res.elapsed_s = time.perf_counter() - t0
    return res


def _prefix_code(pieces: list[bytes]) -> bool:
    """Every piece non-empty, none equal to or a prefix of another.  Sorted,
    a prefix sits right before the first string it begins."""
    s = sorted(pieces)
    return all(s) and not any(b.startswith(a) for a, b in zip(s, s[1:]))


def _register(part: Partition, g_idx: np.ndarray, tail: np.ndarray, pred: np.ndarray,
              piece_op: list[int]) -> Partition:
    """R of the module docstring: the same rows, register kinds, values coded
    as op id + 1 of the writing op and 0 for INIT (s0's piece included)."""
    pop = np.array(piece_op + [-1], np.int64)      # pop[INIT] = -1: code 0
    code = lambda p: pop[p] + 1                     # noqa: E731
    kind = part.kind.copy()
    a = np.zeros(len(part), np.int64)
    b = np.zeros(len(part), np.int64)
    ops = pop[:len(piece_op)]
    is_piece = ops >= 0
    ops_p = ops[is_piece]
    pr = pred[:len(piece_op)][is_piece]
    a[ops_p] = ops_p + 1
    obs = (part.kind[ops_p] == K.K_APPEND) & (pr != NO_PRED)
    kind[ops_p] = K.K_WRITE
    kind[ops_p[obs]] = K.K_CAS
    a[ops_p[obs]] = code(pr[obs])
    b[ops_p[obs]] = ops_p[obs] + 1
    if g_idx.size:
        a[g_idx] = code(tail)
    return Partition(model_id=K.M_CAS, key=part.key, rows=part.rows, kind=kind, a=a, b=b,
                     c=np.zeros(len(part), np.int64), must=part.must, inv_pos=part.inv_pos,
                     ret_pos=part.ret_pos, init_state=0)


def _decode_failure(ctx: Any, part: Partition, g_idx: np.ndarray, out: np.ndarray,
                    pieces: list[bytes], piece_op: list[int], t0: float) -> UniqueResult:
    g = int(g_idx[out[D_GET]])
    why = WHY[int(out[D_STATUS])]
    res = UniqueResult(valid=False, ops=len(part), elapsed_s=0.0, configurations=0, steps=0,
                       algorithm=ALGORITHM, reason=why, violations=1)
    res.fail_op = g
    piece = int(out[D_PIECE])
    if piece >= 0 and out[D_STATUS] != D_UNDECODABLE:
        shown = show_string(pieces[piece].decode("utf-8"))
        res.reason += f" (the piece {shown})"
        if piece_op[piece] >= 0:
            res.witnesses.append(piece_op[piece])
    if out[D_STATUS] == D_CONFLICT:
        res.witnesses.append(int(g_idx[out[D_OTHER]]))
    res.witnesses.sort(key=lambda o: int(part.inv_pos[o]))
    res.expected = "a string made of the initial string or a put's value followed by " \
                   "distinct appended values"
    res.concurrent = [int(o) for o in np.flatnonzero(
        (part.inv_pos < part.ret_pos[g]) & (part.ret_pos > part.inv_pos[g])) if o != g]
    res.elapsed_s = time.perf_counter() - t0
    return res


def _expected(ctx: Any, part: Partition, reg: Partition, x: int, pred: np.ndarray,
              piece_op: list[int], pieces: list[bytes]) -> str:
    """What op ``x`` could have seen: the strings behind the register values
    unique.py finds possible for it."""
    piece_of = {o: p for p, o in enumerate(piece_op) if o >= 0}
    init = _text(ctx.init)

    def string(code: int) -> str:
        parts: list[str] = []
        p = INIT if code == 0 else piece_of[code - 1]
        while p != INIT:
            parts.append(pieces[p].decode("utf-8"))
            if pred[p] == NO_PRED:
                if part.kind[piece_op[p]] == K.K_APPEND:
                    return "a string ending with " + show_string(parts[0])
                break
            p = int(pred[p])
        else:
            parts.append(init)
        return show_string("".join(reversed(parts)))

    states = [string(int(v)) for v in possible_values(reg, x)]
    if int(part.kind[x]) == K.K_READ:
        got = _text(ctx.ret_value(int(part.rows[x])))
        return f"get returned {show_string(got)}; the string could have been " + \
            (" or ".join(states) if states else "nothing the history allows")
    return "the string it extended to be " + (" or ".join(states) if states else
                                             "one the history allows")
