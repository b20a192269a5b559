"""The ``causal`` checker: CC / CM / CCv and the four session guarantees."""

from __future__ import annotations

import time
from typing import Any

from checkers.history import History
from checkers.result import CheckResult

from .analysis import GUARANTEES, analyse
from .explain import evidence, satisfied
from .prepare import prepare

LEVELS = ("CC", "CM", "CCv")
DEFAULT_MEMORY_MIB = 8192.0


def check_causal(history: History, level: str = "CCv", init: Any = None,
                 time_limit: float | None = None, memory_limit: float | None = None,
                 cap: int = 10, hb_small_targets: int = 256, **_ignored: Any) -> CheckResult:
    """Judge ``history`` (register reads/writes per key) against ``level``.

    ``hb_small_targets`` tunes CM: sessions whose reads returned at most
    that many writes are first judged on a compressed graph (0: never)."""
    if level not in LEVELS:
        raise ValueError(f"unknown causal level {level!r}: expected one of CC, CM, CCv")
    t0 = time.monotonic()
    p = prepare(history, init=init)
    # Two n x S int32 clock arrays plus a reads x S prefix array (see the
    # package docstring); refuse up front rather than die mid-way.
    need_mib = 3 * p.n * max(p.nchain, 1) * 4 / 2**20
    limit = DEFAULT_MEMORY_MIB if memory_limit is None else float(memory_limit)
    if need_mib > limit:
        return CheckResult(
            checker="causal", valid="unknown", elapsed_s=time.monotonic() - t0,
            summary=f"{level}: unknown — vector clocks for {p.n} ops x {p.nchain} sessions need "
                    f"~{need_mib:.0f} MiB, over the {limit:.0f} MiB memory limit",
            evidence={"level": level, "satisfies": {lv: "unknown" for lv in LEVELS},
                      "patterns": [], "sessions": {}, "unknown_reason": "memory limit"})
    deadline = t0 + time_limit if time_limit else None
    a = analyse(p, cap=cap, deadline=deadline, small_targets=hb_small_targets)
    ev = evidence(history, p, a, level)
    sat = satisfied(a)
    held = [lv for lv in LEVELS if sat[lv] is True]
    broken = [lv for lv in LEVELS if sat[lv] is False]
    parts = []
    if held:
        parts.append("satisfies " + " and ".join(held))
    if broken:
        names = sorted({f"{n} ×{c}" for n, c in a.counts.items() if c})
        parts.append("violates " + " and ".join(broken) + f" ({', '.join(names)})")
    if sat["CM"] == "unknown":
        parts.append("CM unknown: " + (a.cm_unknown or ""))
    bad_sessions = [g for g in GUARANTEES if ev["sessions"][g]["valid"] is False]
    if bad_sessions:
        parts.append("session guarantees broken: " + ", ".join(bad_sessions))
    summary = f"{level}: " + "; ".join(parts) + f" — {p.n} ops, {p.nchain} sessions, {p.nkeys} keys"
    return CheckResult(checker="causal", valid=sat[level], summary=summary,
                       elapsed_s=time.monotonic() - t0, evidence=ev)
