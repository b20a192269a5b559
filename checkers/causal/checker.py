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
# What each level needs judged: CC's patterns belong to every level, the
# hb saturation only to CM, the co ∪ cf cycle check only to CCv.
JUDGED = {"CC": ("CC",), "CM": ("CC", "CM"), "CCv": ("CC", "CCv"), None: LEVELS}


def check_causal(history: History, level: str | None = None, init: Any = None,
                 time_limit: float | None = None, memory_limit: float | None = None,
                 cap: int = 10, hb_small_targets: int | None = None,
                 **_ignored: Any) -> CheckResult:
    """Judge ``history`` (register reads/writes per key) against ``level``,
    looking only at what that level needs; with no level, all three are
    judged and the verdict is CCv's.

    ``hb_small_targets`` tunes CM: sessions whose reads returned at most
    that many writes are saturated by the one-sweep kernel (None: all of
    them; 0: none, every session by full-graph rounds)."""
    if level not in JUDGED:
        raise ValueError(f"unknown causal level {level!r}: expected one of CC, CM, CCv")
    judged = JUDGED[level]
    level = level or "CCv"
    t0 = time.monotonic()
    p = prepare(history, init=init)
    # The n x S int32 co clocks, up to one more copy in undo rows while a
    # broken session is re-run for its witness, and the session guarantees'
    # reads x S prefix array (see the package docstring); refuse up front
    # rather than die mid-way.
    need_mib = 3 * p.n * max(p.nchain, 1) * 4 / 2**20
    limit = DEFAULT_MEMORY_MIB if memory_limit is None else float(memory_limit)
    if need_mib > limit:
        return CheckResult(
            checker="causal", valid="unknown", elapsed_s=time.monotonic() - t0,
            summary=f"{level}: unknown — vector clocks for {p.n} ops x {p.nchain} sessions need "
                    f"~{need_mib:.0f} MiB, over the {limit:.0f} MiB memory limit",
            evidence={"level": level, "satisfies": {lv: "unknown" for lv in judged},
                      "patterns": [], "sessions": {}, "unknown_reason": "memory limit"})
    deadline = t0 + time_limit if time_limit else None
    a = analyse(p, levels=judged, cap=cap, deadline=deadline, small_targets=hb_small_targets)
    ev = evidence(history, p, a, level)
    sat = satisfied(a)
    held = [lv for lv in judged if sat[lv] is True]
    broken = [lv for lv in judged if sat[lv] is False]
    parts = []
    if held:
        parts.append("satisfies " + " and ".join(held))
    if broken:
        names = sorted({f"{n} ×{c}" for n, c in a.counts.items() if c})
        parts.append("violates " + " and ".join(broken) + f" ({', '.join(names)})")
    if sat.get("CM") == "unknown":
        parts.append("CM unknown: " + (a.cm_unknown or ""))
    bad_sessions = [g for g in GUARANTEES if ev["sessions"][g]["valid"] is False]
    if bad_sessions:
        parts.append("session guarantees broken: " + ", ".join(bad_sessions))
    summary = f"{level}: " + "; ".join(parts) + f" — {p.n} ops, {p.nchain} sessions, {p.nkeys} keys"
    return CheckResult(checker="causal", valid=sat[level], summary=summary,
                       elapsed_s=time.monotonic() - t0, evidence=ev)
