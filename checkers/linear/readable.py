"""Values as a person reads them in evidence: shortened, and for two long
strings or two sets, where they differ rather than both in full."""

from __future__ import annotations

import json
from typing import Any, Iterable

from ..history.values import intern_key
from .encode import show

STRING_LIMIT = 80      # characters of a string shown whole
SET_LIMIT = 20         # members of a set listed
CONTEXT = 12           # characters shown on each side of where two strings differ


def show_string(s: str, limit: int = STRING_LIMIT) -> str:
    """A JSON string literal, its middle elided when it is long."""
    if len(s) <= limit:
        return json.dumps(s, ensure_ascii=False)
    half = (limit - 1) // 2
    return (json.dumps(s[:half], ensure_ascii=False)[:-1] + "…"
            + json.dumps(s[-half:], ensure_ascii=False)[1:] + f" ({len(s)} characters)")


def show_value(v: Any, limit: int = STRING_LIMIT) -> str:
    """Any value in one short piece: strings elided in the middle, others cut."""
    if isinstance(v, str):
        return show_string(v, limit)
    text = show(v)
    return text if len(text) <= limit else text[:limit - 1] + f"… ({len(text)} characters)"


def string_diff(got: str, want: str) -> str:
    """Where ``got`` leaves ``want``: the first differing character, with a
    little context on each side (the common prefix and suffix are elided)."""
    if got == want:
        return "identical"
    p = 0
    n = min(len(got), len(want))
    while p < n and got[p] == want[p]:
        p += 1
    q = 0
    while q < n - p and got[-1 - q] == want[-1 - q]:
        q += 1
    lo = max(0, p - CONTEXT)

    def window(s: str) -> str:
        mid = s[lo:len(s) - q + CONTEXT if q else len(s)]
        text = show_string(mid, STRING_LIMIT)
        return ("…" if lo else "") + text + ("…" if q > CONTEXT else "")

    return f"they differ from character {p}: {window(got)} where expected {window(want)}"


def show_set(members: Iterable[Any], limit: int = SET_LIMIT) -> str:
    items = sorted(members, key=lambda v: repr(intern_key(v)))
    shown = ", ".join(show(v) for v in items[:limit])
    more = f", … ({len(items)} members)" if len(items) > limit else ""
    return "#{" + shown + more + "}"


def set_diff(got: Iterable[Any], want: Iterable[Any]) -> str:
    g = {intern_key(v): v for v in got}
    w = {intern_key(v): v for v in want}
    missing = [w[k] for k in w if k not in g]
    extra = [g[k] for k in g if k not in w]
    parts = []
    if missing:
        parts.append(f"missing {show_set(missing)}")
    if extra:
        parts.append(f"unexpected {show_set(extra)}")
    return "; ".join(parts) or "the same members"
