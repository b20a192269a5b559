"""Jepsen's long-fork checker, for parallel snapshot isolation.

Each key is written once (``[["w", k, v]]`` in its own transaction); reads
read a whole group of keys in one transaction.  Under snapshot isolation
every two reads of a group are ordered: one saw every write the other saw.
A *long fork* is two reads where each saw a write the other did not — the
two writes became visible in different orders (allowed by parallel
snapshot isolation, forbidden by snapshot isolation and stronger).

Groups follow Jepsen: with integer keys, key k is in group k // group_size;
otherwise a group is the exact set of keys a read covers.  Within a group,
reads sorted by how many writes they saw must each contain the previous
one; the first pair that does not is reported (one per group), with the
keys each saw that the other did not.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from checkers.history import History
from checkers.result import CheckResult

from .models import boundary

FORKS_KEPT = 20


def check_long_fork(history: History, group_size: int = 2, **_ignored: Any) -> CheckResult:
    t0 = time.monotonic()
    if group_size < 1:
        raise ValueError("group-size must be at least 1")
    writes: dict[Any, tuple[Any, int]] = {}    # key -> (value, op index)
    errors: list[dict[str, Any]] = []
    reads: list[tuple[int, int, dict[Any, Any]]] = []   # (op index, line, key -> value)
    for pos, op in enumerate(history.ops):
        if op.type == "invoke" or not isinstance(op.process, int) or op.f != "txn":
            continue
        v = op.value
        if not isinstance(v, list) or not all(isinstance(m, list) and len(m) == 3 for m in v):
            raise ValueError(f"line {history.line_of(pos)}: a long-fork txn is a list of "
                             f"[f, key, value] micro-ops, got {v!r}")
        ws = [m for m in v if m[0] == "w"]
        if ws and op.type in ("ok", "info"):
            for _, k, val in ws:
                if k in writes and op.type == "ok":
                    errors.append({"type": "multiple-writes", "key": k, "ops": [writes[k][1],
                                                                                  op.index]})
                writes.setdefault(k, (val, op.index))
        if op.type == "ok" and any(m[0] == "r" for m in v):
            reads.append((op.index, history.line_of(pos),
                          {m[1]: m[2] for m in v if m[0] == "r"}))
    ints = all(type(k) is int for _, _, r in reads for k in r)
    groups: dict[Any, list[tuple[int, int, frozenset, frozenset]]] = defaultdict(list)
    for idx, line, r in reads:
        parts: dict[Any, dict] = defaultdict(dict)
        for k, val in r.items():
            if val is not None and (k not in writes or writes[k][0] != val):
                errors.append({"type": "garbage-read", "op": idx, "key": k, "value": val})
            parts[k // group_size if ints else None][k] = val
        for g, kv in parts.items():
            gid = g if ints else tuple(sorted(kv, key=repr))
            seen = frozenset(k for k, val in kv.items() if val is not None)
            groups[gid].append((idx, line, frozenset(kv), seen))
    forks = []
    for gid in sorted(groups, key=repr):
        rs = sorted(groups[gid], key=lambda x: (len(x[3]), x[0]))
        for (ia, la, ka, sa), (ib, lb, kb, sb) in zip(rs, rs[1:]):
            common = ka & kb
            if not (sa & common) <= (sb & common):
                only_a = sorted(sa & common - sb, key=repr)
                only_b = sorted(sb & common - sa, key=repr)
                forks.append({"ops": [ia, ib], "lines": [la, lb],
                              "group": sorted(common, key=repr),
                              "only_first": only_a, "only_second": only_b,
                              "explanation": f"op {ia} saw the writes of keys {only_a} but not "
                                             f"{only_b}; op {ib} saw {only_b} but not {only_a}: "
                                             f"the writes became visible in two different "
                                             f"orders (long fork)"})
                break
    found = (["long-fork"] if forks else []) + sorted({e["type"] for e in errors})
    # a long fork is a cycle W1 -wr-> R1 -rw-> W2 -wr-> R2 -rw-> W1: G-nonadjacent
    not_, also_not = boundary(["G-nonadjacent-item"] if forks else [])
    if any(e["type"] == "garbage-read" for e in errors):
        not_, also_not = boundary(["garbage-read"])
    evidence = {"anomaly_types": found, "not": not_, "also_not": also_not,
                "forks": forks[:FORKS_KEPT], "fork_count": len(forks),
                "errors": errors[:FORKS_KEPT], "error_count": len(errors),
                "reads": len(reads), "groups": len(groups), "group_size": group_size}
    if forks or errors:
        what = ", ".join(f"{n}" for n in found)
        return CheckResult("long-fork", False, f"{what} — {len(forks)} forked group(s) in "
                           f"{len(reads)} reads", time.monotonic() - t0, evidence)
    if not reads:
        return CheckResult("long-fork", "unknown", "no successful reads to judge",
                           time.monotonic() - t0, evidence)
    return CheckResult("long-fork", True, f"every two reads of a group are ordered — "
                       f"{len(reads)} reads, {len(groups)} groups", time.monotonic() - t0, evidence)
