"""Drive the compiled search over one partition, within a time and a memory
budget, and collect what the counterexample needs.

The kernel runs in slices of ``SLICE`` iterations; between slices we look at
the clock, and when a table is full we grow it here (checking the memory
budget first).  A budget hit gives ``unknown`` — never ``valid``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import kernel as K
from .encode import Partition

SLICE = 1 << 18
MIB = 1 << 20
# The kernel's partial-order reduction for register reads (kernel.wgl_run,
# ``reads_first``): verdicts and counterexamples are the same without it, only
# the number of configurations explored differs.  Tests turn it off to compare
# configuration counts with the plain Python search.
READS_FIRST = True


@dataclass
class PartResult:
    valid: Any                      # True, False or "unknown"
    ops: int
    elapsed_s: float
    configurations: int
    steps: int
    budget_hit: str | None = None
    fail_op: int | None = None      # local op id that could not be linearized
    prefix: list[int] = field(default_factory=list)
    states: list[Any] = field(default_factory=list)   # raw states (int or tuple of ints)
    concurrent: list[int] = field(default_factory=list)
    final_states: list[Any] = field(default_factory=list)


def _events(inv: np.ndarray, ret: np.ndarray):
    n = inv.shape[0]
    pos = np.concatenate([inv, ret])
    order = np.argsort(pos, kind="stable")
    ev_op = np.empty(2 * n + 1, np.int64)
    ev_call = np.zeros(2 * n + 1, np.bool_)
    ev_op[0] = -1
    ev_op[1:] = order % n if n else order
    ev_call[1:] = order < n
    entry_of = np.empty(2 * n, np.int64)
    entry_of[order] = np.arange(1, 2 * n + 1)
    call_entry = entry_of[:n].copy()
    ret_entry = entry_of[n:].copy()
    nxt = np.arange(1, 2 * n + 2, dtype=np.int64)
    nxt[2 * n] = -1
    prv = np.arange(-1, 2 * n, dtype=np.int64)
    return ev_op, ev_call, nxt, prv, call_entry, ret_entry


def _pow2_at_least(x: int) -> int:
    p = 1
    while p < x:
        p <<= 1
    return p


def run_partition(part: Partition, *, deadline: float | None, memory_limit_mib: float | None,
                  seed: int = 0x5EED) -> PartResult:
    t0 = time.perf_counter()
    n = len(part)
    if n == 0:
        return PartResult(True, 0, time.perf_counter() - t0, 0, 0)
    ev_op, ev_call, nxt, prv, call_entry, ret_entry = _events(part.inv_pos, part.ret_pos)
    rng = np.random.default_rng(seed + n)
    zob = rng.integers(-(1 << 63), (1 << 63) - 1, size=n, dtype=np.int64)
    W = (n + 63) >> 6
    bits = np.zeros(W, np.int64)
    stack_op = np.zeros(n + 1, np.int64)
    stack_state = np.zeros(n + 1, np.int64)
    stack_front = np.zeros(n + 1, np.int64)
    enc = np.zeros(W + 1, np.int64)
    best_prefix = np.zeros(n + 1, np.int64)
    best_states = np.zeros(K.MAX_BEST_STATES, np.int64)

    # start small and double on demand, checking the budget; set encodings are
    # usually a few words (see kernel.py), so the buffer starts at 4 words an entry
    ecap = max(64, min(4 * n, 1 << 16))
    mtab = np.full(_pow2_at_least(4 * ecap), -1, np.int64)
    ment_hash = np.zeros(ecap, np.int64)
    ment_state = np.zeros(ecap, np.int64)
    ment_off = np.zeros(ecap, np.int64)
    ment_len = np.zeros(ecap, np.int64)
    mbuf = np.zeros(4 * ecap + 2 * (W + 1), np.int64)

    need = part.store_need
    if need > 0:
        scap = 1024
        sbuf = np.zeros(max(4 * need, 4096), np.int64)
        soff = np.zeros(scap, np.int64)
        slen = np.zeros(scap, np.int64)
        stab = np.full(4 * scap, -1, np.int64)
        smeta = np.zeros(2, np.int64)
        init_vec = part.init_vec if part.init_vec is not None else np.zeros(0, np.int64)
        init_state = K.store_intern(sbuf, soff, slen, stab, smeta, init_vec, init_vec.shape[0])
        tmp = np.zeros(need + 1, np.int64)
    else:
        sbuf = soff = slen = np.zeros(1, np.int64)
        stab = np.full(2, -1, np.int64)
        smeta = np.zeros(2, np.int64)
        init_state = part.init_state
        tmp = np.zeros(1, np.int64)

    regs = np.zeros(K.N_REGS, np.int64)
    regs[K.R_ENTRY] = 0
    regs[K.R_STATE] = init_state
    regs[K.R_REMAIN] = int(part.must.sum())
    mem_limit = None if memory_limit_mib is None else memory_limit_mib * MIB

    def mem_bytes() -> int:
        return (mtab.nbytes + ment_hash.nbytes + ment_state.nbytes + ment_off.nbytes
                + ment_len.nbytes + mbuf.nbytes
                + sbuf.nbytes + soff.nbytes + slen.nbytes + stab.nbytes)

    budget_hit = None
    while True:
        K.wgl_run(part.model_id, part.kind, part.a, part.b, part.c, part.must, part.aux,
                  ev_op, ev_call, nxt, prv, call_entry, ret_entry, zob, stack_op, stack_state,
                  stack_front, bits, regs, mtab, ment_hash, ment_state, ment_off, ment_len,
                  mbuf, enc, sbuf, soff, slen, stab, smeta, need, best_prefix, best_states,
                  tmp, SLICE, READS_FIRST)
        status = int(regs[K.R_STATUS])
        if status in (K.S_VALID, K.S_INVALID):
            break
        if deadline is not None and time.monotonic() > deadline:
            budget_hit = "time"
            break
        if status == K.S_GROW_MEMO:
            mcount = int(regs[K.R_MCOUNT])
            if int(regs[K.R_MUSED]) + W + 1 >= mbuf.shape[0]:
                if mem_limit is not None and mem_bytes() + mbuf.nbytes > mem_limit:
                    budget_hit = "memory"
                    break
                mbuf = np.resize(mbuf, 2 * mbuf.shape[0])
            if mcount + 1 >= ecap or 2 * (mcount + 1) >= mtab.shape[0]:
                grow = (ment_hash.nbytes + ment_state.nbytes + ment_off.nbytes
                        + ment_len.nbytes + mtab.nbytes)
                if mem_limit is not None and mem_bytes() + grow > mem_limit:
                    budget_hit = "memory"
                    break
                ecap *= 2
                ment_hash = np.resize(ment_hash, ecap)
                ment_state = np.resize(ment_state, ecap)
                ment_off = np.resize(ment_off, ecap)
                ment_len = np.resize(ment_len, ecap)
                mtab = np.full(mtab.shape[0] * 2, -1, np.int64)
                K.memo_rehash(mtab, ment_hash, mcount)
        elif status == K.S_GROW_STORE:
            grow = sbuf.nbytes + soff.nbytes * 2 + stab.nbytes
            if mem_limit is not None and mem_bytes() + grow > mem_limit:
                budget_hit = "memory"
                break
            sbuf = np.resize(sbuf, sbuf.shape[0] * 2 + need)
            soff = np.resize(soff, soff.shape[0] * 2)
            slen = np.resize(slen, slen.shape[0] * 2)
            stab = np.full(stab.shape[0] * 2, -1, np.int64)
            K.store_rehash(sbuf, soff, slen, stab, int(smeta[0]))

    def raw(s: int) -> Any:
        if need > 0:
            o, ln = int(soff[s]), int(slen[s])
            return tuple(int(x) for x in sbuf[o:o + ln])
        return int(s)

    res = PartResult(valid=True, ops=n, elapsed_s=0.0, configurations=int(regs[K.R_MCOUNT]),
                     steps=int(regs[K.R_STEPS]), budget_hit=budget_hit)
    if budget_hit is not None:
        res.valid = "unknown"
    elif status == K.S_INVALID:
        res.valid = False
    else:
        res.final_states = [raw(int(regs[K.R_STATE]))]
    be = int(regs[K.R_BEST_ENTRY])
    if res.valid is not True and be > 0:
        fop = int(ev_op[be])
        res.fail_op = fop
        depth = int(regs[K.R_BEST_DEPTH])
        res.prefix = best_prefix[:depth].tolist()
        res.states = [raw(int(s)) for s in best_states[:int(regs[K.R_BEST_NSTATES])]]
        in_prefix = np.zeros(n, np.bool_)
        in_prefix[res.prefix] = True
        pend = np.flatnonzero((part.inv_pos < part.ret_pos[fop]) & ~in_prefix)
        res.concurrent = [int(x) for x in pend if x != fop]
    res.elapsed_s = time.perf_counter() - t0
    return res


_warm = False


def warm_up() -> None:
    """Load (or compile) the kernel with a two-op history, so that timing and
    pool workers do not pay for it inside a check.  Once per process."""
    global _warm
    if _warm:
        return
    _warm = True
    from .encode import Partition
    z = np.zeros(2, np.int64)
    part = Partition(model_id=K.M_CAS, key=None, rows=np.arange(2), kind=np.array([1, 0]),
                     a=np.array([1, 1]), b=z, c=z, must=np.ones(2, np.int8),
                     inv_pos=np.array([0, 2]), ret_pos=np.array([1, 3]))
    run_partition(part, deadline=None, memory_limit_mib=None)
    from .unique import run_unique
    run_unique(part)  # the unique-values check: its own compiled function
    from . import unique_appends  # noqa: F401  (imported by every check: not in its time)
