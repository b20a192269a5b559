"""Turning history values into short, escaped text.

Every value that came from a history (or from a checker quoting one) reaches
HTML either through jinja2 with autoescape on, or through :func:`esc` here
when Python builds SVG — never by string concatenation of raw values.
"""

from __future__ import annotations

import json
import math
from typing import Any

from markupsafe import Markup, escape

MAX_VALUE_CHARS = 80


def short(v: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """A value as compact text (JSON-ish, ``nil`` for None), cut at ``limit``."""
    if v is None:
        s = "nil"
    elif isinstance(v, str):
        s = v
    else:
        try:
            s = json.dumps(v, separators=(",", ":"), default=str, ensure_ascii=False)
        except (TypeError, ValueError):
            s = str(v)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def esc(v: Any) -> Markup:
    """Escape for HTML/SVG text and attribute values (quotes included)."""
    return escape(v if isinstance(v, str) else str(v))


def num(x: float) -> str:
    """A coordinate with at most one decimal: keeps large SVGs small."""
    r = round(float(x), 1)
    if r == int(r):
        return str(int(r))
    return f"{r:.1f}"


def opref_text(o: dict[str, Any] | None, limit: int = 60) -> str:
    """``p3 cas [x] [1,2] → ok``, ``p1 read [x] → 3`` — how an op is named throughout."""
    if not o:
        return "?"
    key = o.get("key")
    text = f"p{o.get('process')} {o.get('f')}"
    if key is not None:
        text += f" [{short(key, 30)}]"
    value, res, typ = o.get("value"), o.get("result"), o.get("type") or "info"
    if value is not None:
        text += f" {short(value, limit)}"
    if typ != "ok":
        return f"{text} → {typ}"
    if value is None or "read" in str(o.get("f")):
        return f"{text} → {short(res, limit)}"
    if res is not None and res != value:
        return f"{text} → ok {short(res, limit)}"
    return f"{text} → ok"


def duration(ns: float | None) -> str:
    if ns is None:
        return "?"
    ms = ns / 1e6
    if ms < 1:
        return f"{ns / 1e3:.0f} µs"
    if ms < 1000:
        return f"{ms:.1f} ms"
    return f"{ms / 1000:.2f} s"


def safe(markup: str) -> Markup:
    """Mark SVG built from already-escaped parts as safe for jinja2."""
    return Markup(markup)


def number(v: Any, *, decimals: int | None = None, significant: int = 3) -> str:
    """Every number the report prints, in one format: fixed point (never ``9.6e-05``),
    thousands separated, and ``significant`` digits unless ``decimals`` is given."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "" if v is None else str(v)
    if isinstance(v, int) and decimals is None:
        return f"{v:,}"
    x = float(v)
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    if decimals is None:
        if x == 0:
            return "0"
        decimals = max(0, significant - 1 - math.floor(math.log10(abs(x))))
        text = f"{x:,.{min(decimals, 9)}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    text = f"{x:,.{decimals}f}"
    return text.lstrip("-") if text.strip("-0.,") == "" else text  # no "-0.0"
