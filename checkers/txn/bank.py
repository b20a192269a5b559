"""The bank checker (Jepsen's bank workload): transfers move money between
accounts inside one transaction; every read of all balances must add up to
the same total, and no balance may go negative unless that is allowed.

Ops: ``{"f": "transfer", "value": {"from": a, "to": b, "amount": n}}`` and
``{"f": "read", "value": {account: balance, ...}}`` (JSON object keys are
strings; an account read as "3" and one named 3 are the same account).
The expected total is the ``total`` option, else the first successful
read's total; the accounts are ``accounts``, else the first read's.  When the
history has a final phase (reads after the last nemesis ``heal``) and none of
its reads succeeded, the verdict is unknown: nothing shows the balances survived.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

from checkers.history import History
from checkers.result import CheckResult

from .durability import final_phase_start

POINTS_KEPT = 2000   # totals-over-time points kept for the report plot
BAD_KEPT = 50


def _acct(k: Any) -> str:
    return str(k)


def check_bank(history: History, total: int | None = None, negative_balances: bool = False,
               accounts: Iterable[Any] | None = None, **_ignored: Any) -> CheckResult:
    t0 = time.monotonic()
    known = None if accounts is None else {_acct(a) for a in accounts}
    expected = total
    reads = 0
    bad: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    points: list[tuple[int, int | None, int]] = []   # (index, time, total)
    transfers = 0

    def flag(kind: str, op: Any, pos: int, **more: Any) -> None:
        counts[kind] = counts.get(kind, 0) + 1
        if len(bad) < BAD_KEPT:
            bad.append({"type": kind, "op": op.index, "line": history.line_of(pos),
                        "process": op.process, "time": op.time, "value": op.value, **more})

    heal = final_phase_start(history)
    final_reads = final_ok = 0
    final_failed: Any = None
    for pos, op in enumerate(history.ops):
        if heal >= 0 and pos > heal and op.f == "read" and isinstance(op.process, int):
            if op.type == "invoke":
                final_reads += 1
            elif op.type == "ok":
                final_ok += 1
            elif final_failed is None:
                final_failed = op
        if op.type != "ok" or not isinstance(op.process, int):
            continue
        if op.f == "transfer":
            transfers += 1
            continue
        if op.f != "read":
            continue
        v = op.value
        if not isinstance(v, dict):
            flag("malformed-read", op, pos, expected="a map of account to balance")
            continue
        reads += 1
        balances = {_acct(k): b for k, b in v.items()}
        if known is None:
            known = set(balances)
        nil = sorted(a for a, b in balances.items() if b is None)
        if nil:
            flag("nil-balance", op, pos, accounts=nil)
            continue
        if any(isinstance(b, bool) or not isinstance(b, (int, float)) for b in balances.values()):
            flag("malformed-read", op, pos, expected="numeric balances")
            continue
        unexpected = sorted(set(balances) - known)
        if unexpected:
            flag("unexpected-key", op, pos, accounts=unexpected)
        s = sum(balances.values())
        if expected is None:
            expected = s
        points.append((op.index, op.time, s))
        if s != expected:
            flag("wrong-total", op, pos, total=s, expected=expected)
        neg = sorted(a for a, b in balances.items() if b < 0)
        if neg and not negative_balances:
            flag("negative-value", op, pos, accounts=neg)
    step = max(1, len(points) // POINTS_KEPT)
    evidence = {"total": expected, "reads": reads, "transfers": transfers,
                "accounts": sorted(known) if known else [], "bad_counts": counts,
                "bad_reads": bad, "negative_balances_allowed": negative_balances,
                "totals": [{"index": i, "time": t, "total": s} for i, t, s in points[::step]]}
    if counts:
        what = ", ".join(f"{k} ×{c}" for k, c in sorted(counts.items()))
        return CheckResult("bank", False, f"{what} — {reads} reads, total {expected}",
                           time.monotonic() - t0, evidence)
    if reads == 0:
        return CheckResult("bank", "unknown", "no successful reads to judge",
                           time.monotonic() - t0, evidence)
    if final_reads and not final_ok:
        # the balances after healing are what the run is about (a database lost at a
        # restart fails every later read): earlier reads cannot vouch for them
        evidence["final_reads"] = {"after_position": heal, "reads": final_reads, "ok": 0}
        why = "" if final_failed is None else \
            f" (e.g. op {final_failed.index}: {final_failed.error or 'no error given'})"
        return CheckResult("bank", "unknown", f"none of the {final_reads} final reads after "
                           f"healing succeeded{why}", time.monotonic() - t0, evidence)
    return CheckResult("bank", True, f"every read of {reads} totals {expected}"
                       + ("" if negative_balances else ", none negative"),
                       time.monotonic() - t0, evidence)
