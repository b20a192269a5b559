"""How stale the reads of a unique-value register were, and the history's Δ.

For a read of value v (written by w), a write w' *certainly overwrote* v
before the read if w' began after w completed and completed before the read
began: every linearization orders w < w' < read.  The read's staleness is
how long before it began the first such overwrite completed (0 when there is
none), and its versions behind is how many such writes there are.  Both are
lower bounds, and 0 for every read of a linearizable history.

Δ (Golab, Li & Shah, PODC 2011; used to benchmark eventual consistency by
Golab, Rahman, AuYoung, Keeton & Gupta, ICDCS 2014): the history is
Δ-atomic when moving every read's start Δ earlier makes it linearizable.
That is monotone in Δ, and each test is the exact unique-values check on
the shifted history, so the smallest Δ is found by bisection on time, to
``RESOLUTION_NS``.  A history where no Δ works (a read of a value written
only after it ended, two successful CASes from one value) has Δ = None.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ..jit import njit

from ..history import T_INFO
from ..sorting import argsort
from . import kernel as K
from .encode import Partition
from .unique import INVALID, N_OUT, O_STATUS, VALID, _decide

RESOLUTION_NS = 1000
MAX_POINTS = 2000
NS = 1e9
_FAR = 1 << 62


def op_times(ctx: Any, part: Partition) -> tuple[np.ndarray, np.ndarray] | None:
    """(invoke, completion) times in ns of a partition's ops; crashed ops
    complete "never" (far in the future).  None when the history is untimed."""
    rows = part.rows
    inv = ctx.ops.invoke_time[rows].astype(np.int64)
    ret = ctx.ops.complete_time[rows].astype(np.int64)
    open_ = (ctx.ops.status[rows] == T_INFO) | (ctx.ops.complete[rows] < 0)
    if (inv < 0).any() or (ret[~open_] < 0).any():
        return None
    ret = np.where(open_, _FAR + np.arange(rows.size), ret)
    return inv, ret


@njit(cache=True)
def _count_overwrites(w_inv, w_ret, r_after, r_before):
    """Per read q: how many writes began after r_after[q] and completed before
    r_before[q] (offline 2-D dominance count with a Fenwick tree)."""
    nw = w_inv.shape[0]
    nr = r_after.shape[0]
    # not np.sort / np.argsort in a cached kernel: see checkers/sorting.py
    inv_sorted = w_inv[argsort(w_inv)]
    by_ret = argsort(w_ret)
    by_before = argsort(r_before)
    tree = np.zeros(nw + 1, np.int64)
    out = np.zeros(nr, np.int64)
    added = 0
    j = 0
    for qi in range(nr):
        q = by_before[qi]
        while j < nw and w_ret[by_ret[j]] < r_before[q]:
            i = np.searchsorted(inv_sorted, w_inv[by_ret[j]], side="left") + 1
            while i <= nw:
                tree[i] += 1
                i += i & -i
            added += 1
            j += 1
        # writes added so far with inv <= r_after[q]
        i = np.searchsorted(inv_sorted, r_after[q], side="right")
        le = 0
        while i > 0:
            le += tree[i]
            i -= i & -i
        out[q] = added - le
    return out


def read_staleness(part: Partition, inv_t: np.ndarray, ret_t: np.ndarray):
    """(read op ids, staleness ns, versions behind) of the reads whose value
    some op of the partition wrote (or the initial value)."""
    kind = part.kind
    wr = np.flatnonzero((kind == K.K_WRITE) | (kind == K.K_CAS))
    wval = np.where(kind[wr] == K.K_CAS, part.b[wr], part.a[wr])
    reads = np.flatnonzero((kind == K.K_READ) & (part.a != K.ANY))
    order = np.argsort(wval, kind="stable")
    sv, sw = wval[order], wr[order]
    pos = np.minimum(np.searchsorted(sv, part.a[reads]), max(sv.size - 1, 0))
    found = (sv.size > 0) & (sv[pos] == part.a[reads]) if sv.size else np.zeros(reads.size, bool)
    from_init = ~found & (part.a[reads] == part.init_state)
    keep = found | from_init
    reads, pos, found = reads[keep], pos[keep], found[keep]
    writer = np.where(found, sw[pos] if sv.size else 0, -1)
    after = np.where(writer >= 0, ret_t[np.maximum(writer, 0)], -_FAR)   # the write completed
    before = inv_t[reads]                                                # the read began
    w_inv, w_ret = inv_t[wr], ret_t[wr]
    by_inv = np.argsort(w_inv, kind="stable")
    inv_s = w_inv[by_inv]
    sufmin = np.minimum.accumulate(w_ret[by_inv][::-1])[::-1] if wr.size else w_ret
    sufmin = np.r_[sufmin, _FAR]
    first_over = sufmin[np.searchsorted(inv_s, after, side="right")]
    stale = np.where(first_over < before, before - first_over, 0)
    versions = (_count_overwrites(w_inv, w_ret, after, before) if wr.size and reads.size
                else np.zeros(reads.size, np.int64))
    return reads, stale, versions


def is_delta_atomic(part: Partition, inv_t: np.ndarray, ret_t: np.ndarray,
                    delta_ns: int) -> bool:
    """The exact unique-values check with every read's start moved
    ``delta_ns`` earlier (ties broken by history order)."""
    n = len(part)
    start = np.where(part.kind == K.K_READ, inv_t - delta_ns, inv_t)
    keys = np.concatenate([start, ret_t])
    tie = np.concatenate([part.inv_pos, part.ret_pos])
    order = np.lexsort((tie, keys))
    rank = np.empty(2 * n, np.int64)
    rank[order] = np.arange(2 * n)
    out = np.zeros(N_OUT + 1, np.int64)
    _decide(part.kind, part.a, part.b, part.must, rank[:n], rank[n:],
            np.int64(part.init_state), out)
    return int(out[O_STATUS]) == VALID


def smallest_delta_ns(part: Partition, inv_t: np.ndarray, ret_t: np.ndarray,
                      at_least_ns: int = 0, deadline: float | None = None) -> int | None:
    """The smallest Δ (ns, to RESOLUTION_NS) making the partition Δ-atomic, or
    None when no Δ does.  Only for partitions the unique-values check found
    not linearizable.  ``at_least_ns``: a Δ known to fail (the largest read
    staleness: such a read must still move before the write that certainly
    overwrote its value), so the search starts there and gallops up.  Raises
    TimeoutError past ``deadline`` (time.monotonic)."""
    import time
    finite = ret_t[ret_t < _FAR]
    span = int(max(finite.max() if finite.size else 0, inv_t.max()) - inv_t.min()) + 1

    def holds(d: int) -> bool:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError
        return is_delta_atomic(part, inv_t, ret_t, d)

    if not holds(span):
        return None
    lo = max(0, min(int(at_least_ns), span - 1))   # fails
    step = RESOLUTION_NS
    hi = min(lo + step, span)
    while not holds(hi):
        lo, step = hi, step * 4
        hi = min(lo + step, span)
    while hi - lo > RESOLUTION_NS:
        mid = (lo + hi) // 2
        if holds(mid):
            hi = mid
        else:
            lo = mid
    return hi


def summarize(stale_ns: np.ndarray, versions: np.ndarray, at_ns: np.ndarray,
              delta_ns: int | None, delta_known: bool) -> dict[str, Any]:
    """The evidence block (docs/evidence.md, "staleness")."""
    s = stale_ns / NS
    ev: dict[str, Any] = {
        "reads": int(s.size),
        "stale_reads": int(np.count_nonzero(stale_ns > 0)),
        "max_s": float(s.max()) if s.size else 0.0,
        "p50_s": float(np.percentile(s, 50)) if s.size else 0.0,
        "p99_s": float(np.percentile(s, 99)) if s.size else 0.0,
        "max_versions": int(versions.max()) if versions.size else 0,
        # delta_known and delta_s None: no Δ makes the history consistent
        "delta_s": (None if delta_ns is None else delta_ns / NS) if delta_known else None,
        "delta_known": bool(delta_known),
    }
    stale = np.flatnonzero(stale_ns > 0)
    if stale.size > MAX_POINTS:
        # evenly spread, and always the stalest read
        pick = np.unique(np.r_[np.linspace(0, stale.size - 1, MAX_POINTS - 1).astype(np.int64),
                               int(np.argmax(stale_ns[stale]))])
        stale = stale[pick]
    ev["points"] = [[int(at_ns[i]), float(s[i]), int(versions[i])] for i in stale.tolist()]
    return ev


# --------------------------------------------------------------------------- fault windows

def fault_windows(col: Any) -> list[tuple[int, int, str]]:
    """(start ns, end ns, label) of the faults the nemesis recorded: a window
    opens when a fault-starting op completes and closes when its healing op
    completes (``start-X``/``stop-X``, kill/start, pause/resume; ``heal``
    closes all), as the report shades them."""
    from ..history import T_INVOKE
    starts = {"kill": "kill", "pause": "pause"}
    stops = {"start": "kill", "resume": "pause"}
    open_: dict[str, list[list]] = {}
    out: list[list] = []
    end = int(col.time.max()) if len(col) else 0
    for pos in np.flatnonzero((col.process < 0) & (col.type != T_INVOKE)).tolist():
        f = col.f_names[int(col.f[pos])]
        t = int(col.time[pos])
        if t < 0:
            continue
        if f in ("heal", "heal-all"):
            for ws in open_.values():
                for w in ws:
                    w[1] = t
            open_.clear()
            continue
        if f in starts or (f.startswith("start-") and len(f) > 6):
            kind = starts.get(f) or f[6:]
            v = col.values[int(col.value[pos])]
            label = kind
            if isinstance(v, dict) and isinstance(v.get("topology"), str):
                label += " " + v["topology"]
            w = [t, end, label]
            open_.setdefault(kind, []).append(w)
            out.append(w)
        elif f in stops or (f.startswith("stop-") and len(f) > 5):
            for w in open_.pop(stops.get(f) or f[5:], []):
                w[1] = t
    return [(int(a), int(b), str(c)) for a, b, c in out]


def where_stale(at_ns: np.ndarray, windows: list[tuple[int, int, str]]) -> str:
    """"all during partition isolate-primary", "3 of 5 during faults", or ""."""
    if at_ns.size == 0 or not windows:
        return ""
    labels: set[str] = set()
    inside = np.zeros(at_ns.size, bool)
    for a, b, label in windows:
        m = (at_ns >= a) & (at_ns <= b)
        if m.any():
            labels.add(label)
            inside |= m
    k = int(inside.sum())
    if k == 0:
        return "none during a fault"
    if k == at_ns.size:
        return "all during " + (next(iter(labels)) if len(labels) == 1 else "faults (" +
                                ", ".join(sorted(labels)) + ")")
    return f"{k} of {at_ns.size} during faults"


# --------------------------------------------------------------------------- the checker's view

def staleness_evidence(ctx: Any, parts: list[Partition], results: list,
                       deadline: float | None = None) -> dict[str, Any] | None:
    """The ``staleness`` evidence of a check, or None when no key had unique
    values or the history is untimed.  Past ``deadline`` Δ is left unknown."""
    from .unique import UniqueResult, applies
    # register keys only: an append-kv key decided without the search has no versions
    fast = [(p, r) for p, r in zip(parts, results) if isinstance(r, UniqueResult) and applies(p)]
    if not fast:
        return None
    times = [op_times(ctx, p) for p, _ in fast]
    if any(t is None for t in times):
        return None
    # Δ is per key (a shifted history is linearizable iff each key's is); a key
    # the search judged (values not unique) has a Δ only when it is linearizable
    delta_known = all(r.valid is True for p, r in zip(parts, results)
                      if not isinstance(r, UniqueResult))
    stale_parts, vers_parts, at_parts = [], [], []
    delta: int | None = 0
    timed_out = False
    for (p, r), (inv_t, ret_t) in zip(fast, times):
        if r.valid is True:
            reads = np.flatnonzero((p.kind == K.K_READ) & (p.a != K.ANY))
            stale_parts.append(np.zeros(reads.size, np.int64))
            vers_parts.append(np.zeros(reads.size, np.int64))
            at_parts.append(inv_t[reads])
            continue
        reads, stale, versions = read_staleness(p, inv_t, ret_t)
        stale_parts.append(stale)
        vers_parts.append(versions)
        at_parts.append(inv_t[reads])
        if delta is not None and delta_known:
            try:
                d = smallest_delta_ns(p, inv_t, ret_t, int(stale.max(initial=1)) - 1,
                                      deadline)
            except TimeoutError:
                delta_known, timed_out = False, True
                continue
            delta = None if d is None else max(delta, d)
    stale = np.concatenate(stale_parts)
    versions = np.concatenate(vers_parts)
    at = np.concatenate(at_parts)
    ev = summarize(stale, versions, at, delta, delta_known)
    if timed_out:
        ev["delta_note"] = "the time budget ran out before Δ was found"
    windows = fault_windows(ctx.col)
    if ev["stale_reads"]:
        ev["during"] = where_stale(at[stale > 0], windows)
    if windows:
        ev["faults"] = inside_outside(stale, at, windows)
    return ev


def inside_outside(stale_ns: np.ndarray, at_ns: np.ndarray,
                   windows: list[tuple[int, int, str]]) -> dict[str, dict[str, Any]]:
    """Staleness of the reads that began inside a fault window and of the rest: whether a
    fault (a starved follower) made reads staler shows as inside against outside."""
    inside = np.zeros(at_ns.size, bool)
    for a, b, _label in windows:
        inside |= (at_ns >= a) & (at_ns <= b)

    def block(m: np.ndarray) -> dict[str, Any]:
        x = stale_ns[m] / NS
        return {"reads": int(x.size), "stale_reads": int(np.count_nonzero(x > 0)),
                "max_s": float(x.max()) if x.size else 0.0,
                "p99_s": float(np.percentile(x, 99)) if x.size else 0.0}
    return {"inside": block(inside), "outside": block(~inside)}


def staleness_note(ev: dict[str, Any]) -> str:
    """"; reads up to 1.8 s / 3 versions stale, all during partition isolate-primary"."""
    if not ev.get("stale_reads"):
        return ""
    text = (f"; reads up to {ev['max_s']:.3g} s / {ev['max_versions']} "
            f"version{'' if ev['max_versions'] == 1 else 's'} stale")
    if ev.get("during"):
        text += ", " + ev["during"]
    return text


def bounded_staleness(linearizable: Any, ev: dict[str, Any] | None, bound_s: float,
                      summary: str) -> tuple[Any, str]:
    """The verdict and summary for "reads are at most ``bound_s`` stale"
    (Δ-atomicity with Δ = ``bound_s``): holds when linearizable or Δ <= bound."""
    if linearizable is True:
        return True, f"bounded staleness holds (linearizable, Δ = 0 ≤ {bound_s:g} s); {summary}"
    if ev is None or not ev.get("delta_known"):
        why = ("some key's values are not unique, so its staleness cannot be measured"
               if ev is not None else "staleness is measured only for registers whose "
               "written values are unique, in timed histories")
        return "unknown", f"unknown: bounded staleness ({bound_s:g} s) not measured: {why}; {summary}"
    d = ev.get("delta_s")
    if d is None:
        return False, (f"bounded staleness does not hold: no Δ makes the reads consistent "
                       f"(some read saw a value before it was written, or a value was "
                       f"replaced twice); {summary}")
    if d <= bound_s:
        return True, f"bounded staleness holds: Δ = {d:.3g} s ≤ {bound_s:g} s; {summary}"
    return False, f"bounded staleness does not hold: Δ = {d:.3g} s > {bound_s:g} s; {summary}"

