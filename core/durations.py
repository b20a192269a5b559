"""The one duration parser: ``10``, ``2.5``, ``"10s"``, ``"500ms"``, ``"2m"``, ``"1h"``."""

from __future__ import annotations

import re
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "h": 3600.0}
EXPECTED = "a number of seconds or e.g. 10s, 500ms, 2m"


def parse_duration(value: Any, what: str | None = None, *, positive: bool = False) -> float:
    """Seconds, never negative; zero allowed unless ``positive`` (an interval must
    be > 0, a jitter may be 0).  ValueError naming ``what`` and what is allowed."""
    prefix = f"{what}: " if what else ""
    secs: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        secs = float(value)
    elif isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            secs = float(m.group(1)) * _UNIT[m.group(2)]
    if secs is None:
        raise ValueError(f"{prefix}{value!r} is not a duration; expected {EXPECTED}")
    if secs < 0:
        raise ValueError(f"{prefix}{value!r} is negative; expected a duration >= 0")
    if positive and secs == 0:
        raise ValueError(f"{prefix}{value!r} is not valid; expected a duration > 0")
    return secs
