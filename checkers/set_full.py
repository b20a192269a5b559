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

Each key is a set of its own (P-compositional, as in the linearizability
checker): an add on one key is looked for only in reads of that key, and the
verdicts merge (invalid beats unknown beats valid).  Elements are told apart
by type and value, with the linearizability checker's interning: ``1``,
``1.0`` and ``true`` are three elements (JSON says they are different values;
a store that returns ``1.0`` for an added ``1`` changed it).
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .history import T_FAIL, T_OK, History
from .history.columnar import intern_key
from .registry import Checker
from .result import UNKNOWN, CheckResult, Verdict, merge_verdicts
from .stats import Pairs

MAX_LISTED = 1000
MAX_LOST_OPS = 100
MAX_VALID_KEYS_LISTED = 1000


def _sorted(xs: Any) -> list:
    try:
        return sorted(xs)
    except TypeError:
        return sorted(xs, key=repr)


@dataclass
class KeyFindings:
    """What one key's set showed; lists hold elements as the history wrote them."""
    key: Any
    valid: Verdict = True
    reason: str = ""
    attempted: int = 0
    acknowledged: int = 0
    n_known: int = 0
    reads: int = 0
    malformed_reads: int = 0
    lost: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    stale: list = field(default_factory=list)
    never_read: list = field(default_factory=list)
    recovered: list = field(default_factory=list)
    lost_ops: list = field(default_factory=list)
    latencies_ms: list = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"lost": len(self.lost), "unexpected": len(self.unexpected),
                "stale": len(self.stale), "never_read": len(self.never_read),
                "recovered": len(self.recovered), "reads": self.reads,
                "malformed_reads": self.malformed_reads}

    def evidence(self) -> dict[str, Any]:
        return {"key": self.key, "valid": self.valid, "summary": self.reason,
                "attempted": self.attempted, "acknowledged": self.acknowledged,
                "lost": self.lost[:MAX_LISTED], "unexpected": self.unexpected[:MAX_LISTED],
                "stale": self.stale[:MAX_LISTED], "never_read": self.never_read[:MAX_LISTED],
                "recovered": self.recovered[:MAX_LISTED], "counts": self.counts()}


def _check_key(p: Pairs, key: Any, rows: list[int], add_f: str, read_f: str,
               linearizable: bool) -> KeyFindings:
    ops = p.history.ops
    out = KeyFindings(key)
    value_of: dict[Any, Any] = {}  # element identity -> the element as first written

    def ident(x: Any) -> Any:
        e = intern_key(x)
        value_of.setdefault(e, x)
        return e

    # element -> add rows; known position (completion of an ok add)
    add_rows: dict[Any, list[int]] = {}
    known: dict[Any, int] = {}
    reads: list[tuple[int, int, int]] = []  # (invoke pos, completion pos, row)
    for row in rows:
        f = p.f[row]
        st = p.status[row]
        if f == add_f:
            e = ident(ops[p.invoke[row]].value)
            out.attempted += 1
            add_rows.setdefault(e, []).append(row)
            if st == T_OK:
                out.acknowledged += 1
                c = p.complete[row]
                if e not in known or c < known[e]:
                    known[e] = c
        elif f == read_f and st == T_OK:
            reads.append((p.invoke[row], p.complete[row], row))
    reads.sort()
    out.reads = n_reads = len(reads)
    read_inv = [r[0] for r in reads]
    # element -> sorted read numbers (positions in `reads`) that contained it
    seen_in: dict[Any, list[int]] = {}
    first_seen: dict[Any, int] = {}
    unexpected: set = set()
    for k, (_, comp, row) in enumerate(reads):
        v = ops[comp].value
        if v is None:
            v = []
        if not isinstance(v, (list, tuple)):
            out.malformed_reads += 1
            continue
        for x in v:  # the hot loop: every element of every read
            t = type(x)
            e = x if t is int or t is str else intern_key(x)
            lst = seen_in.get(e)
            if lst is None:
                seen_in[e] = [k]
                value_of.setdefault(e, x)
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
    last = n_reads - 1
    for e, kpos in known.items():
        if e in unexpected:
            continue
        start = bisect.bisect_right(read_inv, kpos)  # first read that began after known
        if start > last:
            never_read.append(e)
            continue
        seen = seen_in.get(e, [])
        after = seen[bisect.bisect_left(seen, start):]
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
        add_row = min(add_rows[e], key=lambda r: p.invoke[r])
        t_add = ops[p.invoke[add_row]].time
        t_st = ops[reads[after[j]][0]].time
        if t_add is not None and t_st is not None:
            out.latencies_ms.append(max(0, t_st - t_add) / 1e6)
    # elements added (ok or info) but never known: unknown fate, not judged

    def values(es: Any) -> list:
        return _sorted(value_of[e] for e in es)

    out.n_known = len(known) - len(never_read)
    out.lost, out.unexpected = values(lost), values(unexpected)
    out.stale, out.never_read, out.recovered = values(stale), values(never_read), values(recovered)
    for e in sorted(lost, key=lambda e: repr(value_of[e]))[:MAX_LOST_OPS]:
        acked = [r for r in add_rows[e] if p.status[r] == T_OK] or add_rows[e]
        out.lost_ops.append(p.opref(acked[0]))
    never_acked = values(e for e in never_read
                         if any(p.status[r] == T_OK for r in add_rows.get(e, ())))
    out.valid, out.reason = _judge(out, never_acked, linearizable)
    return out


def _judge(k: KeyFindings, never_acked: list, linearizable: bool) -> tuple[Verdict, str]:
    problems = []
    if k.lost:
        problems.append(f"{len(k.lost)} lost")
    if k.unexpected:
        problems.append(f"{len(k.unexpected)} unexpected")
    strict = []
    if k.stale:
        strict.append(f"{len(k.stale)} stale")
    if k.recovered:
        strict.append(f"{len(k.recovered)} recovered")
    if problems or (linearizable and strict):
        summary = ", ".join(problems + strict) + f" of {k.attempted} attempted adds"
        if k.lost:
            summary += f" (e.g. {k.lost[0]!r} acknowledged but missing from the final read)"
        elif k.unexpected:
            summary += f" (e.g. {k.unexpected[0]!r} read but never added, or its add failed)"
        return False, summary
    if k.reads == 0:
        return UNKNOWN, f"no read succeeded, so nothing is known about {k.attempted} adds"
    if k.malformed_reads:
        return UNKNOWN, f"{k.malformed_reads} read(s) returned something other than a list"
    if never_acked:
        # Nothing wrong was seen, but acknowledged elements went unchecked (no
        # read began after their add completed — no final read?): can't vouch.
        return UNKNOWN, (f"{len(never_acked)} acknowledged element(s) never read after their "
                         f"add completed (e.g. {never_acked[0]!r}); no final read succeeded?")
    summary = (f"all {k.n_known} known elements present in the final read"
               f" ({k.acknowledged}/{k.attempted} adds acknowledged")
    return True, summary + (f"; {', '.join(strict)})" if strict else ")")


def check_set(history: History, add_f: str = "add", read_f: str = "read",
              linearizable: bool = False, **_ignored: Any) -> CheckResult:
    t0 = time.perf_counter()
    p = Pairs(history)
    ops = history.ops
    groups: dict[Any, tuple[Any, list[int]]] = {}
    for row in range(len(p)):
        key = ops[p.invoke[row]].key
        groups.setdefault(intern_key(key), (key, []))[1].append(row)
    keyed = any(k is not None for k, _ in groups.values())
    found = [_check_key(p, key, rows, add_f, read_f, linearizable)
             for key, rows in groups.values()]
    valid = merge_verdicts(k.valid for k in found) if found else UNKNOWN
    ev = _evidence(found, keyed)
    return CheckResult("set", valid, _summary(valid, found, keyed), time.perf_counter() - t0, ev)


def _evidence(found: list[KeyFindings], keyed: bool) -> dict[str, Any]:
    """The documented top-level shape (every key's elements together) and, when
    ops carry keys, one entry per key — the keys that are not valid first."""
    def joined(name: str) -> list:
        return [x for k in found for x in getattr(k, name)][:MAX_LISTED]

    lat = {"p50": None, "p99": None}
    latencies = [x for k in found for x in k.latencies_ms]
    if latencies:
        arr = np.asarray(latencies)
        lat = {"p50": round(float(np.percentile(arr, 50)), 3),
               "p99": round(float(np.percentile(arr, 99)), 3)}
    counts: dict[str, int] = {}
    for k in found:
        for name, n in k.counts().items():
            counts[name] = counts.get(name, 0) + n
    ev: dict[str, Any] = {
        "attempted": sum(k.attempted for k in found),
        "acknowledged": sum(k.acknowledged for k in found),
        "lost": joined("lost"), "unexpected": joined("unexpected"), "stale": joined("stale"),
        "never_read": joined("never_read"), "recovered": joined("recovered"),
        "lost_ops": joined("lost_ops")[:MAX_LOST_OPS], "stable_latency_ms": lat,
        "counts": counts}
    if keyed:
        ranked = sorted(found, key=lambda k: 0 if k.valid is False else (2 if k.valid is True else 1))
        listed = [k for k in ranked if k.valid is not True]
        listed += [k for k in ranked if k.valid is True][:MAX_VALID_KEYS_LISTED]
        ev["keys_total"] = len(found)
        ev["by_key"] = [k.evidence() for k in listed]
    return ev


def _summary(valid: Verdict, found: list[KeyFindings], keyed: bool) -> str:
    if not found:
        return "no client operations, so nothing was checked"
    if valid is True:
        s = (f"all {sum(k.n_known for k in found)} known elements present in the final read "
             f"({sum(k.acknowledged for k in found)}/{sum(k.attempted for k in found)} adds "
             f"acknowledged")
        strict = [f"{n} {name}" for name in ("stale", "recovered")
                  if (n := sum(len(getattr(k, name)) for k in found))]
        s += "".join(f"; {x}" for x in strict)
        return s + (f"; {len(found)} keys)" if keyed else ")")
    bad = [k for k in found if k.valid == valid]
    where = f"key {bad[0].key!r}: " if keyed else ""
    more = f" (and {len(bad) - 1} more keys)" if len(bad) > 1 else ""
    return where + bad[0].reason + more


SET = Checker("set", check_set,
         "Jepsen's set-full per key: lost, unexpected, stale, recovered and never-read elements")
