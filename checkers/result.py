"""What every checker returns, and how verdicts combine.

A verdict is ``True`` (valid), ``False`` (invalid) or ``"unknown"`` (the
checker could not decide: budget exhausted, unsupported input).  Unknown is
never folded into valid: a false "valid" is the worst bug we can ship.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Union

Verdict = Union[bool, Literal["unknown"]]
UNKNOWN: Literal["unknown"] = "unknown"


def merge_verdicts(verdicts: Iterable[Verdict]) -> Verdict:
    """Invalid beats unknown beats valid; an empty set of verdicts is valid."""
    out: Verdict = True
    for v in verdicts:
        if v is False:
            return False
        if v != True:  # noqa: E712 - "unknown" or anything unexpected
            out = UNKNOWN
    return out


def exit_code(verdict: Verdict) -> int:
    """0 valid, 1 invalid, 2 unknown — the exit codes of every judging command."""
    if verdict is True:
        return 0
    if verdict is False:
        return 1
    return 2


def verdict_word(verdict: Verdict) -> str:
    return {True: "valid", False: "invalid"}.get(verdict, "unknown")  # type: ignore[arg-type]


@dataclass
class CheckResult:
    """One checker's judgement of one history.

    ``summary`` is the one-line reason a person reads first; ``evidence`` is
    checker-specific and JSON-able (the report draws from it).
    """

    checker: str
    valid: Verdict
    summary: str
    elapsed_s: float = 0.0
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"checker": self.checker, "valid": self.valid, "summary": self.summary,
                "elapsed_s": round(self.elapsed_s, 6), "evidence": self.evidence}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "CheckResult":
        return cls(checker=d["checker"], valid=d["valid"], summary=d.get("summary", ""),
                   elapsed_s=d.get("elapsed_s", 0.0), evidence=d.get("evidence", {}))
