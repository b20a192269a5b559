"""The ``set`` checker, after Jepsen's set-full (jepsen.checker/set-full).

Ops: ``add`` of an element (unique per add) and ``read`` whose ok value is
the whole set.  An element becomes *known* when its add completes ok, or when
a read first shows it (an ``info`` add may have happened).  Only reads that
*began* after an element was known say anything about it; ordering uses
history positions, which respect real time (a completion before an invoke
in the history happened before it).  Per element, over those reads:

* never read — no read began after it was known;
* lost       — known, but absent from the last read (the final read, after
               healing, decides);
* stale      — present in the last read, but some read that began after it
               was known missed it before it first showed up;
* recovered  — present in the last read, but missing from a read between
               its first appearance and the end (it vanished and came back);
* unexpected — read but never added, or added by an add that *failed*.

Invalid when anything is lost or unexpected (with ``linearizable: true``,
stale and recovered elements too).  Unknown when no read succeeded, or when
an *acknowledged* element was never read (no final read covered it).
"""

from __future__ import annotations

import bisect
import time
from typing import Any

import numpy as np

from .history import T_FAIL, T_OK, History
from .registry import register
from .result import UNKNOWN, CheckResult
from .stats import Pairs

MAX_LISTED = 1000


def _hashable(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _hashable(x)) for k, x in v.items()))
    return v


def _sorted(xs: Any) -> list:
    try:
        return sorted(xs)
    except TypeError:
        return sorted(xs, key=repr)


def check_set(history: History, add_f: str = "add", read_f: str = "read",
              linearizable: bool = False, **_ignored: Any) -> CheckResult:
    t0 = time.perf_counter()
    p = Pairs(history)
    ops = history.ops
    # element -> add rows; known position (completion of an ok add)
    add_rows: dict[Any, list[int]] = {}
    known: dict[Any, int] = {}
    failed: set = set()
    reads: list[tuple[int, int, Any]] = []  # (invoke pos, completion pos, row)
    attempted = acknowledged = 0
    for row in range(len(p)):
        f = p.f[row]
        st = p.status[row]
        if f == add_f:
            e = _hashable(ops[p.invoke[row]].value)
            attempted += 1
            add_rows.setdefault(e, []).append(row)
            if st == T_OK:
                acknowledged += 1
                c = p.complete[row]
                if e not in known or c < known[e]:
                    known[e] = c
            elif st == T_FAIL:
                failed.add(e)
        elif f == read_f and st == T_OK:
            reads.append((p.invoke[row], p.complete[row], row))
    reads.sort()
    n_reads = len(reads)
    read_inv = [r[0] for r in reads]
    # element -> sorted read numbers (positions in `reads`) that contained it
    seen_in: dict[Any, list[int]] = {}
    first_seen: dict[Any, int] = {}
    unexpected: set = set()
    bad_reads = 0
    for k, (_, comp, row) in enumerate(reads):
        v = ops[comp].value
        if v is None:
            v = []
        if not isinstance(v, (list, tuple)):
            bad_reads += 1
            continue
        for x in v:
            e = _hashable(x)
            lst = seen_in.get(e)
            if lst is None:
                seen_in[e] = [k]
            elif lst[-1] != k:
                lst.append(k)
            fs = first_seen.get(e)
            if fs is None or comp < fs:
                first_seen[e] = comp
    for e, comp in first_seen.items():
        if e not in add_rows or all(p.status[r] == T_FAIL for r in add_rows[e]):
            unexpected.add(e)
        elif e not in known or comp < known[e]:
            known[e] = comp  # an info add that a read showed took effect

    lost: list = []
    stale: list = []
    recovered: list = []
    never_read: list = []
    latencies: list[float] = []
    last = n_reads - 1
    for e, kpos in known.items():
        if e in unexpected:
            continue
        start = bisect.bisect_right(read_inv, kpos)  # first read that began after known
        if start > last:
            never_read.append(e)
            continue
        rows = seen_in.get(e, [])
        i = bisect.bisect_left(rows, start)
        after = rows[i:]
        if not after or after[-1] != last:
            lost.append(e)
            continue
        if after[0] > start:
            stale.append(e)
        if len(after) != last - after[0] + 1:
            recovered.append(e)
        # stable from the start of the final unbroken run of presence
        j = len(after) - 1
        while j > 0 and after[j - 1] == after[j] - 1:
            j -= 1
        stable_read = reads[after[j]]
        add_row = min(add_rows[e], key=lambda r: p.invoke[r])
        t_add = ops[p.invoke[add_row]].time
        t_st = ops[stable_read[0]].time
        if t_add is not None and t_st is not None:
            latencies.append(max(0, t_st - t_add) / 1e6)
    # elements added (ok or info) but never known: unknown fate, not judged

    never_acked = [e for e in never_read
                   if any(p.status[r] == T_OK for r in add_rows.get(e, ()))]
    lost_ops = []
    for e in _sorted(lost)[:100]:
        rows = [r for r in add_rows.get(e, []) if p.status[r] == T_OK] or add_rows.get(e, [])
        if rows:
            lost_ops.append(p.opref(rows[0]))
    lat = {"p50": None, "p99": None}
    if latencies:
        arr = np.asarray(latencies)
        lat = {"p50": round(float(np.percentile(arr, 50)), 3),
               "p99": round(float(np.percentile(arr, 99)), 3)}
    ev = {"attempted": attempted, "acknowledged": acknowledged,
          "lost": _sorted(lost)[:MAX_LISTED], "unexpected": _sorted(unexpected)[:MAX_LISTED],
          "stale": _sorted(stale)[:MAX_LISTED], "never_read": _sorted(never_read)[:MAX_LISTED],
          "recovered": _sorted(recovered)[:MAX_LISTED], "lost_ops": lost_ops,
          "stable_latency_ms": lat,
          "counts": {"lost": len(lost), "unexpected": len(unexpected), "stale": len(stale),
                     "never_read": len(never_read), "recovered": len(recovered),
                     "reads": n_reads, "malformed_reads": bad_reads}}
    problems = []
    if lost:
        problems.append(f"{len(lost)} lost")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected")
    strict = []
    if stale:
        strict.append(f"{len(stale)} stale")
    if recovered:
        strict.append(f"{len(recovered)} recovered")
    if problems or (linearizable and strict):
        valid: Any = False
        summary = ", ".join(problems + strict) + f" of {attempted} attempted adds"
        if lost:
            summary += f" (e.g. {_sorted(lost)[0]!r} acknowledged but missing from the final read)"
    elif n_reads == 0:
        valid = UNKNOWN
        summary = f"no read succeeded, so nothing is known about {attempted} adds"
    elif bad_reads:
        valid = UNKNOWN
        summary = f"{bad_reads} read(s) returned something other than a list"
    elif never_acked:
        # Nothing wrong was seen, but acknowledged elements went unchecked (no
        # read began after their add completed — no final read?): can't vouch.
        valid = UNKNOWN
        summary = (f"{len(never_acked)} acknowledged element(s) never read after their add "
                   f"completed (e.g. {_sorted(never_acked)[0]!r}); no final read succeeded?")
    else:
        valid = True
        summary = (f"all {len(known) - len(never_read)} known elements present in the final read"
                   f" ({acknowledged}/{attempted} adds acknowledged")
        summary += f"; {', '.join(strict)})" if strict else ")"
    return CheckResult("set", valid, summary, time.perf_counter() - t0, ev)


register("set", check_set,
         "Jepsen's set-full: lost, unexpected, stale, recovered and never-read elements")
