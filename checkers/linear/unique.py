"""Exact O(n log n) linearizability of a register whose written values are unique.

When no two writes (plain writes and successful CASes) write the same value,
and none writes the initial value, every read names the one write it read
from.  Gibbons & Korach ("Testing shared memories", SIAM J. Comput. 1997)
showed that with this read mapping a read/write register is decidable in
O(n log n); Golab, Li & Shah ("Analyzing consistency properties for fun and
profit", PODC 2011) state it with *zones*.  This module extends it to
successful CASes.  The argument, in the order the code checks it:

1. Which crashed ops took effect.  A crashed (``info``) write or CAS whose
   value nothing needed observes may be dropped (it can be removed from any
   linearization without changing what anyone reads: no read returns its
   value and no CAS expects it); one that something needed observes must
   have taken effect, since it is the only writer of that value.  "Needed"
   is the closure of the ``ok`` ops under "reads from".  Every needed op
   reading a value must find its writer (or the initial value).

2. Units.  A value is the state from its write until the next write, and
   cannot come back, so its write and every read of it are contiguous in a
   linearization: a *cluster*.  A successful CAS a→b reads a and writes b
   atomically, so it is the last op of a's cluster and the first of b's; two
   needed CASes from the same value can never both succeed.  A *unit* is a
   chain: a plain write (or the initial value), its reads, the CAS from it,
   that CAS's reads, the CAS from its value, ...  Units are contiguous in any
   linearization, and inside a unit the order of layers is fixed
   (write, reads, CAS, reads, CAS, ...).

3. Inside a unit.  The unit fits a segment [x, y] iff every op can be placed
   after every op of an earlier layer: for every op o and every op p of an
   earlier layer, inv(p) < ret(o).  Given that, with f = the unit's smallest
   completion and s = its largest invocation, the unit can be placed in any
   segment with x <= f and y >= max(x, s) (each op at max(x, the largest
   invocation of its own and earlier layers), plus an infinitesimal per
   layer) — exactly the freedom a Gibbons–Korach cluster has, so their
   theorem carries over unchanged:

4. Zones.  A unit with f < s has a *forward zone* [f, s]: its segment must
   cover it.  One with s < f has a *backward zone* [s, f]: all its ops
   overlap there, and it can sit at any single point of it.  The history is
   linearizable iff no two forward zones overlap and no backward zone lies
   inside a forward zone.  (Necessity: segments are disjoint and cover their
   forward zones; a unit whose ops all overlap inside another's forward zone
   can go neither before nor after it.  Sufficiency: forward units in the
   order of their zones, each backward unit at a point of its zone outside
   every forward zone — one exists, as forward zones are disjoint and leave
   gaps.)

Event positions are all distinct, so no comparison ties.  Failed CASes kept
as observations (``cas_fail_observes``) say "the value was not a", which is
no cluster; such histories go to the search, as do histories whose values
are not unique.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ..jit import njit

from ..sorting import argsort
from . import kernel as K
from .encode import Partition
from .search import PartResult

# _decide's answer, out[O_STATUS]
NOT_UNIQUE, VALID, INVALID = 0, 1, 2
# why the op out[O_OP] cannot be placed, out[O_REASON]
R_NONE, R_UNWRITTEN, R_TWO_CAS, R_BEFORE_WRITE, R_STALE, R_OVERLAP, R_INSIDE = range(7)
O_STATUS, O_OP, O_REASON, O_W1, O_W2, O_W3, O_COUNT = range(7)
N_OUT = 7

REASONS = {
    R_UNWRITTEN: "it returned a value no write wrote (nor the initial value)",
    R_TWO_CAS: "another successful cas changed the same value first",
    R_BEFORE_WRITE: "it observed a value before the op writing that value began",
    R_STALE: "the value it observed had already been replaced before it began",
    R_OVERLAP: "its value was replaced, and the newer value observed, before it began",
    R_INSIDE: "another write (and every read of its value) came entirely after this op's "
              "value was written and before this op began",
}


@dataclass
class UniqueResult(PartResult):
    """A result decided without the search (which check: ``algorithm``)."""
    reason: str = ""
    witnesses: list[int] = field(default_factory=list)   # local op ids that force the failure
    violations: int = 0
    algorithm: str = "unique-values"
    expected: str = ""       # what was possible, when the model cannot say from states


@njit(cache=True)
def _cand(out, x, ret_x, reason, w1, w2, w3):
    """Remember violation (op x, ...) if x completes before the one kept so far."""
    out[O_COUNT] += 1
    if out[O_OP] < 0 or ret_x < out[N_OUT]:
        out[O_OP] = x
        out[N_OUT] = ret_x
        out[O_REASON] = reason
        out[O_W1] = w1
        out[O_W2] = w2
        out[O_W3] = w3


@njit(cache=True)
def _decide(kind, a, b, must, inv0, ret0, init, out):
    """The whole decision (module docstring).  ``out`` (length N_OUT + 1) gets
    the status, the op that cannot be placed, why, and up to three witnesses."""
    n = kind.shape[0]
    for i in range(out.shape[0]):
        out[i] = -1
    out[O_COUNT] = 0
    INIT = n
    inv = np.empty(n + 1, np.int64)
    ret = np.empty(n + 1, np.int64)
    for o in range(n):
        inv[o] = inv0[o]
        ret[o] = ret0[o]
    inv[INIT] = -2   # the initial value: a write before everything
    ret[INIT] = -1
    active = np.zeros(n + 1, np.bool_)   # ops that observe or change something
    nw = 0
    for o in range(n):
        k = kind[o]
        if k == K.K_CASFAIL:
            out[O_STATUS] = NOT_UNIQUE
            return
        if k == K.K_WRITE or k == K.K_CAS:
            nw += 1
            active[o] = True
        elif k == K.K_READ and a[o] != K.ANY:
            active[o] = True
    # 1. who reads from whom: writer op id, INIT, or -2 (nobody wrote it)
    parent = np.full(n + 1, -3, np.int64)
    vmin = init
    vmax = init
    for o in range(n):
        if active[o]:
            v = b[o] if kind[o] == K.K_CAS else a[o]
            vmin = min(vmin, v, a[o])
            vmax = max(vmax, v, a[o])
    if vmin >= 0 and vmax <= 4 * n + 64:
        # values are intern codes, dense: a table, no sort
        writer_of = np.full(vmax + 1, -1, np.int64)
        for o in range(n):
            k = kind[o]
            if k == K.K_WRITE or k == K.K_CAS:
                v = b[o] if k == K.K_CAS else a[o]
                if v == init or writer_of[v] >= 0:
                    out[O_STATUS] = NOT_UNIQUE
                    return
                writer_of[v] = o
        for o in range(n):
            if active[o] and (kind[o] == K.K_READ or kind[o] == K.K_CAS):
                v = a[o]
                if writer_of[v] >= 0:
                    parent[o] = writer_of[v]
                elif v == init:
                    parent[o] = INIT
                else:
                    parent[o] = -2
    else:
        wid = np.empty(nw, np.int64)
        wv = np.empty(nw, np.int64)
        j = 0
        for o in range(n):
            if kind[o] == K.K_WRITE:
                wid[j] = o
                wv[j] = a[o]
                j += 1
            elif kind[o] == K.K_CAS:
                wid[j] = o
                wv[j] = b[o]
                j += 1
        order = argsort(wv)
        sv = wv[order]
        sid = wid[order]
        for i in range(nw):
            if sv[i] == init or (i > 0 and sv[i] == sv[i - 1]):
                out[O_STATUS] = NOT_UNIQUE
                return
        for o in range(n):
            if active[o] and (kind[o] == K.K_READ or kind[o] == K.K_CAS):
                v = a[o]
                p = np.searchsorted(sv, v)
                if p < nw and sv[p] == v:
                    parent[o] = sid[p]
                elif v == init:
                    parent[o] = INIT
                else:
                    parent[o] = -2
    need = np.zeros(n + 1, np.bool_)
    need[INIT] = True
    for o in range(n):
        if active[o] and must[o]:
            need[o] = True
    for o in range(n):
        if not (active[o] and must[o]):
            continue
        p = parent[o]
        while p >= 0 and not need[p]:
            need[p] = True
            p = parent[p] if kind[p] == K.K_CAS else -1
    for o in range(n):
        if need[o] and parent[o] == -2:
            _cand(out, o, ret[o], R_UNWRITTEN, -1, -1, -1)
    # 2. units: chains linked by the CAS reading each value
    child = np.full(n + 1, -1, np.int64)
    for o in range(n):
        if need[o] and kind[o] == K.K_CAS and parent[o] >= 0:
            p = parent[o]
            c = child[p]
            if c < 0:
                child[p] = o
            elif inv[o] > inv[c]:
                _cand(out, o, ret[o], R_TWO_CAS, c, -1, -1)
            else:
                child[p] = o
                _cand(out, c, ret[c], R_TWO_CAS, o, -1, -1)
    if out[O_OP] >= 0:
        out[O_STATUS] = INVALID
        return
    unit = np.full(n + 1, -1, np.int64)
    for r in range(n + 1):
        if need[r] and (r == INIT or kind[r] == K.K_WRITE):
            x = r
            while x >= 0:
                unit[x] = r
                x = child[x]
    # the reads of each writer, bucketed by writer (a counting sort: O(n))
    rcount = np.zeros(n + 2, np.int64)
    for o in range(n):
        if need[o] and kind[o] == K.K_READ:
            if unit[parent[o]] < 0:
                # not reachable from a write: cannot happen given step 1; be safe
                out[O_STATUS] = NOT_UNIQUE
                return
            rcount[parent[o] + 1] += 1
    for p in range(n + 1):
        rcount[p + 1] += rcount[p]
    rlist = np.empty(rcount[n + 1], np.int64)
    fill = rcount[:n + 1].copy()
    for o in range(n):
        if need[o] and kind[o] == K.K_READ:
            rlist[fill[parent[o]]] = o
            fill[parent[o]] += 1
    for o in range(n):
        if need[o] and kind[o] != K.K_READ and unit[o] < 0:
            out[O_STATUS] = NOT_UNIQUE
            return
    # 3. inside each unit, layer by layer (writer, its reads, the next writer, ...):
    # every op after every op of an earlier layer
    f = np.full(n + 1, np.iinfo(np.int64).max, np.int64)
    s = np.full(n + 1, np.iinfo(np.int64).min, np.int64)
    fo = np.full(n + 1, -1, np.int64)
    so = np.full(n + 1, -1, np.int64)
    for u in range(n + 1):
        if not (need[u] and (u == INIT or kind[u] == K.K_WRITE)):
            continue
        prev_max = np.iinfo(np.int64).min   # largest invocation of earlier layers
        prev_op = -1
        x = u
        while x >= 0:
            for q in range(-1, rcount[x + 1] - rcount[x]):
                o = x if q < 0 else rlist[rcount[x] + q]
                if ret[o] < prev_max:
                    if kind[prev_op] == K.K_READ:
                        _cand(out, prev_op, ret[prev_op], R_STALE, o, -1, -1)
                    else:
                        _cand(out, o, ret[o], R_BEFORE_WRITE, prev_op, -1, -1)
                if ret[o] < f[u]:
                    f[u] = ret[o]
                    fo[u] = o
                if inv[o] > s[u]:
                    s[u] = inv[o]
                    so[u] = o
                if q < 0 and inv[x] > prev_max:
                    # the writer is a layer of its own
                    prev_max = inv[x]
                    prev_op = x
            # the reads' layer ends here
            for q in range(rcount[x + 1] - rcount[x]):
                o = rlist[rcount[x] + q]
                if inv[o] > prev_max:
                    prev_max = inv[o]
                    prev_op = o
            x = child[x]
    # 4. zones
    nf = 0
    for u in range(n + 1):
        if fo[u] >= 0 and f[u] < s[u]:
            nf += 1
    fu = np.empty(nf, np.int64)
    ff = np.empty(nf, np.int64)
    j = 0
    for u in range(n + 1):
        if fo[u] >= 0 and f[u] < s[u]:
            fu[j] = u
            ff[j] = f[u]
            j += 1
    fs = argsort(ff)
    fu = fu[fs]
    ff = ff[fs]
    for q in range(nf - 1):
        u1 = fu[q]
        u2 = fu[q + 1]
        if ff[q + 1] < s[u1]:
            _cand(out, so[u1], ret[so[u1]], R_OVERLAP, fo[u1], fo[u2], so[u2])
    for u in range(n + 1):
        if fo[u] >= 0 and s[u] < f[u] and nf > 0:
            q = np.searchsorted(ff, s[u]) - 1
            if q >= 0:
                w = fu[q]
                if f[u] < s[w]:
                    _cand(out, so[w], ret[so[w]], R_INSIDE, fo[w], fo[u], so[u])
    out[O_STATUS] = INVALID if out[O_OP] >= 0 else VALID


def applies(part: Partition) -> bool:
    """Whether the fast path can decide this partition (register models only)."""
    return part.model_id in (K.M_REGISTER, K.M_CAS) and part.store_need == 0


def run_unique(part: Partition) -> UniqueResult | None:
    """The verdict for a register partition with unique written values, or None
    when its values are not unique (the caller then runs the search)."""
    import time
    t0 = time.perf_counter()
    if not applies(part):
        return None
    n = len(part)
    out = np.zeros(N_OUT + 1, np.int64)
    if n:
        _decide(part.kind, part.a, part.b, part.must, part.inv_pos, part.ret_pos,
                np.int64(part.init_state), out)
    else:
        out[O_STATUS] = VALID
    if out[O_STATUS] == NOT_UNIQUE:
        return None
    res = UniqueResult(valid=True, ops=n, elapsed_s=0.0, configurations=0, steps=0)
    if out[O_STATUS] == INVALID:
        x = int(out[O_OP])
        res.valid = False
        res.fail_op = x
        res.reason = REASONS[int(out[O_REASON])]
        res.violations = int(out[O_COUNT])
        res.witnesses = sorted({int(w) for w in out[O_W1:O_W3 + 1] if 0 <= w < n},
                               key=lambda o: int(part.inv_pos[o]))
        res.states = possible_values(part, x)
        res.concurrent = [int(o) for o in np.flatnonzero(
            (part.inv_pos < part.ret_pos[x]) & (part.ret_pos > part.inv_pos[x])) if o != x]
    res.elapsed_s = time.perf_counter() - t0
    return res


def possible_values(part: Partition, x: int, limit: int = K.MAX_BEST_STATES) -> list[int]:
    """What op ``x`` could have read: the values of writes begun before it
    ended that were not certainly overwritten before it began (overwritten
    by a write that began after them and ended before ``x`` began)."""
    wr = (part.kind == K.K_WRITE) | (part.kind == K.K_CAS)
    wr[x] = False
    inv, ret = part.inv_pos[wr], part.ret_pos[wr]
    vals = np.where(part.kind[wr] == K.K_CAS, part.b[wr], part.a[wr])
    done = ret < part.inv_pos[x]
    last = int(inv[done].max()) if done.any() else -1
    pick = (inv < part.ret_pos[x]) & (ret > last)
    out = [] if done.any() else [int(part.init_state)]
    out += [int(v) for v in vals[pick][np.argsort(inv[pick], kind="stable")]]
    return out[-limit:]


ALGORITHMS = ("auto", "unique-values", "wgl")
# After the fast path finds a violation, the search is given this long to find
# today's counterexample (a linearizable prefix and the op after it): on most
# histories it takes milliseconds; when it cannot, the fast path's own
# (the op, why, and the ops that force it) stays.
COUNTEREXAMPLE_SEARCH_S = 0.5
COUNTEREXAMPLE_MEMORY_MIB = 512.0


def _search_counterexample(part: Partition, r: UniqueResult, deadline: float | None,
                           memory_limit_mib: float | None) -> None:
    import time
    from .search import run_partition
    if COUNTEREXAMPLE_SEARCH_S <= 0:
        return
    dl = time.monotonic() + COUNTEREXAMPLE_SEARCH_S
    if deadline is not None:
        dl = min(dl, deadline)
    mem = COUNTEREXAMPLE_MEMORY_MIB if memory_limit_mib is None else min(
        memory_limit_mib, COUNTEREXAMPLE_MEMORY_MIB)
    w = run_partition(part, deadline=dl, memory_limit_mib=mem)
    if w.valid is True:
        raise RuntimeError(f"internal error: the unique-values check and the search disagree "
                           f"on key {part.key!r}; please report this history")
    if w.valid is False and w.fail_op is not None:
        r.fail_op, r.prefix, r.states, r.concurrent = w.fail_op, w.prefix, w.states, w.concurrent
        r.reason, r.witnesses, r.expected = "", [], ""
        r.configurations, r.steps = w.configurations, w.steps



def decide_parts(parts: list[Partition], algorithm: str, *, deadline: float | None,
                 memory_limit_mib: float | None, workers: int | None,
                 on_start=None, on_done=None, ctx=None) -> list[PartResult]:
    """Each partition's result: the fast path where it applies (``auto``), the
    search for the rest.  ``unique-values`` insists on the fast path (an error
    naming the key when it cannot decide one), ``wgl`` never takes it.  With
    ``ctx``, append-kv keys get the exact check of unique_appends.py (pieces a
    prefix code), under ``auto`` after the lost-append check (append_witness.py,
    which can only say "invalid" but names the lost append, the best
    explanation there is)."""
    from .append_witness import lost_append
    from .models import ModelError
    from .partition import run_all
    from .unique_appends import unique_appends
    if algorithm not in ALGORITHMS:
        raise ModelError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    start = on_start or (lambda i: None)
    done = on_done or (lambda i, r: None)
    results: list[PartResult | None] = [None] * len(parts)
    rest: list[int] = []
    for i, p in enumerate(parts):
        r = None if algorithm == "wgl" else run_unique(p)
        if r is None and algorithm == "auto" and ctx is not None:
            r = lost_append(ctx, p)
        if r is None and algorithm != "wgl" and ctx is not None:
            r = unique_appends(ctx, p)
        if r is None:
            if algorithm == "unique-values":
                from .encode import show
                raise ModelError(f"the unique-values algorithm cannot decide key {show(p.key)}: "
                                 "it needs a register model, written values that are all "
                                 "distinct and differ from the initial value, and no failed "
                                 "cas kept as an observation; or append-kv with put and "
                                 "append values (and init) non-empty, distinct, and none a "
                                 "prefix of another")
            rest.append(i)
            continue
        start(i)
        if r.valid is False:
            _search_counterexample(p, r, deadline, memory_limit_mib)
        results[i] = r
        done(i, r)
    if rest:
        sub = run_all([parts[i] for i in rest], deadline=deadline,
                      memory_limit_mib=memory_limit_mib, workers=workers,
                      on_start=lambda j: start(rest[j]),
                      on_done=lambda j, r: done(rest[j], r))
        for i, r in zip(rest, sub):
            results[i] = r
    return results  # type: ignore[return-value]
