"""A tiny SVG builder: every text and attribute value goes through
:func:`reports.fmt.esc`, so history values can never become markup."""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
from markupsafe import Markup

from .fmt import esc, num, number


class Svg:
    def __init__(self, width: float, height: float, *, cls: str = "chart",
                 label: str | None = None, elem_id: str | None = None):
        self.width = width
        self.height = height
        self.parts: list[str] = []
        attrs = f' class="{esc(cls)}"'
        if elem_id:
            attrs += f' id="{esc(elem_id)}"'
        if label:
            attrs += f' role="img" aria-label="{esc(label)}"'
        self._open = (f'<svg width="{num(width)}" '
                      f'height="{num(height)}" viewBox="0 0 {num(width)} {num(height)}"{attrs}>')

    def raw(self, markup: str) -> None:
        """Append markup built by this module (already escaped)."""
        self.parts.append(markup)

    def rect(self, x: float, y: float, w: float, h: float, cls: str, *,
             title: str | None = None, extra: str = "") -> None:
        t = f"<title>{esc(title)}</title>" if title else ""
        self.parts.append(f'<rect x="{num(x)}" y="{num(y)}" width="{num(max(w, 0))}" '
                          f'height="{num(max(h, 0))}" class="{esc(cls)}"{extra}>{t}</rect>')

    def line(self, x1: float, y1: float, x2: float, y2: float, cls: str) -> None:
        self.parts.append(f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" '
                          f'class="{esc(cls)}"/>')

    def path(self, d: str, cls: str, *, title: str | None = None, extra: str = "") -> None:
        if not d:
            return
        t = f"<title>{esc(title)}</title>" if title else ""
        self.parts.append(f'<path d="{esc(d)}" class="{esc(cls)}"{extra}>{t}</path>')

    def polyline(self, pts: Iterable[tuple[float, float]], cls: str) -> None:
        p = " ".join(f"{num(x)},{num(y)}" for x, y in pts)
        if p:
            self.parts.append(f'<polyline points="{p}" class="{esc(cls)}"/>')

    def text(self, x: float, y: float, s: object, cls: str = "lbl", *,
             anchor: str = "start", title: str | None = None, extra: str = "") -> None:
        t = f"<title>{esc(title)}</title>" if title else ""
        self.parts.append(f'<text x="{num(x)}" y="{num(y)}" class="{esc(cls)}" '
                          f'text-anchor="{esc(anchor)}"{extra}>{t}{esc(s)}</text>')

    def render(self) -> Markup:
        return Markup(self._open + "".join(self.parts) + "</svg>")


def nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """Round tick values covering [lo, hi] (1-2-5 steps)."""
    if not math.isfinite(lo) or not math.isfinite(hi) or hi <= lo:
        return [lo] if math.isfinite(lo) else [0.0]
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    out = []
    v = start
    for _ in range(n * 3):  # bounded
        if v > hi + step * 1e-9:
            break
        out.append(round(v, 12))
        v += step
    return out


def tick_label(v: float, step: float | None = None) -> str:
    """A tick value with as many decimals as the tick step needs, so neighbouring
    ticks never print the same text (``10, 10.02, 10.04``, not ``10, 10, 10.1``)."""
    if step is not None and step > 0 and math.isfinite(step):
        step = float(f"{step:.9g}")  # 10.01 - 10.0 is 0.00999…, meant as 0.01
        decimals = max(0, -math.floor(math.log10(step)))
        scaled = step * 10 ** decimals
        if abs(scaled - round(scaled)) > 1e-6:  # steps like 0.25 need one more
            decimals += 1
        return number(v, decimals=min(decimals, 9))
    if v == int(v) and abs(v) < 1e6:
        return number(v)
    return number(v, significant=3)


class Frame:
    """A plotting area with linear x and linear or log y."""

    def __init__(self, svg: Svg, left: float, top: float, right: float, bottom: float,
                 x: tuple[float, float], y: tuple[float, float], *, ylog: bool = False):
        self.svg = svg
        self.l, self.t = left, top
        self.r, self.b = svg.width - right, svg.height - bottom
        self.x0, self.x1 = x
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1
        self.ylog = ylog
        y0, y1 = y
        if ylog:
            y0, y1 = math.log10(max(y0, 1e-6)), math.log10(max(y1, 1e-6))
        if y1 <= y0:
            y1 = y0 + 1
        self.y0, self.y1 = y0, y1

    def px(self, x: float) -> float:
        return self.l + (x - self.x0) / (self.x1 - self.x0) * (self.r - self.l)

    def py(self, y: float) -> float:
        if self.ylog:
            y = math.log10(max(y, 1e-6))
        return self.b - (y - self.y0) / (self.y1 - self.y0) * (self.b - self.t)

    def px_array(self, xs: "np.ndarray") -> "np.ndarray":
        return self.l + (xs - self.x0) / (self.x1 - self.x0) * (self.r - self.l)

    def py_array(self, ys: "np.ndarray") -> "np.ndarray":
        if self.ylog:
            ys = np.log10(np.maximum(ys, 1e-6))
        return self.b - (ys - self.y0) / (self.y1 - self.y0) * (self.b - self.t)

    def axes(self, xlabel: str, ylabel: str, *, yticks: bool = True) -> None:
        s = self.svg
        s.line(self.l, self.b, self.r, self.b, "axis")
        s.line(self.l, self.t, self.l, self.b, "axis")
        xt = nice_ticks(self.x0, self.x1, 10)
        xstep = xt[1] - xt[0] if len(xt) > 1 else None
        for v in xt:
            x = self.px(v)
            s.line(x, self.b, x, self.b + 4, "axis")
            s.text(x, self.b + 16, tick_label(v, xstep), "tick xtick", anchor="middle",
                   extra=f' data-v="{v!r}"')
        if self.ylog:
            lo, hi = math.floor(self.y0), math.ceil(self.y1)
            steps = (1, 2, 5) if hi - lo <= 3 else (1,)  # few decades: label 1-2-5 too
            yt = [m * 10.0 ** e for e in range(int(lo), int(hi) + 1) for m in steps]
        else:
            yt = nice_ticks(self.y0, self.y1, 5)
        ystep = None if self.ylog or len(yt) < 2 else yt[1] - yt[0]
        for v in (yt if yticks else []):
            y = self.py(v)
            if y < self.t - 1 or y > self.b + 1:
                continue
            s.line(self.l - 4, y, self.r, y, "grid")
            s.text(self.l - 6, y + 4, tick_label(v, ystep), "tick", anchor="end")
        s.text((self.l + self.r) / 2, self.svg.height - 4, xlabel, "axislbl", anchor="middle")
        if ylabel:
            # Upright along the left edge: clear of the legend and fault labels above.
            cy = (self.t + self.b) / 2
            s.text(12, cy, ylabel, "axislbl", anchor="middle",
                   extra=f' transform="rotate(-90 12 {num(cy)})"')


# Marker shapes per f, drawn as path fragments so one <path> holds thousands
# of points (a <circle> element per point would triple the file size).
def marker(shape: int, x: float, y: float) -> str:
    X, Y = num(x), num(y)
    shape %= 5
    if shape == 0:  # circle
        return f"M{num(x - 2.5)} {Y}a2.5 2.5 0 1 0 5 0a2.5 2.5 0 1 0 -5 0"
    if shape == 1:  # square
        return f"M{num(x - 2.5)} {num(y - 2.5)}h5v5h-5z"
    if shape == 2:  # triangle
        return f"M{X} {num(y - 3)}l3 5.5h-6z"
    if shape == 3:  # diamond
        return f"M{X} {num(y - 3.2)}l3.2 3.2l-3.2 3.2l-3.2 -3.2z"
    return f"M{num(x - 2.5)} {num(y - 2.5)}l5 5m0 -5l-5 5"  # cross


SHAPE_NAMES = ("●", "■", "▲", "◆", "✕")


# Chart text is monospace (report.css.j2), so its width is known here:
# DejaVu Sans Mono advances 0.602 em; 11 px text is 6.62 px a character.
CHAR_W = 6.8


def text_width(s: str) -> float:
    return CHAR_W * len(s)


def legend(svg: Svg, x: float, y: float, items: Sequence[tuple[str, str]], *,
           right: float | None = None, row_h: float = 15) -> float:
    """(css class, label) swatches flowing left to right, wrapping before ``right``;
    returns the y of the last row.  A class starting ``mark`` draws a ring."""
    right = svg.width - 10 if right is None else right
    cx = x
    for cls, label in items:
        w = 14 + text_width(label) + 12
        if cx > x and cx + w > right:
            cx, y = x, y + row_h
        if cls.startswith("mark"):
            svg.raw(f'<circle cx="{num(cx + 5)}" cy="{num(y - 4)}" r="4.5" class="{esc(cls)}"/>')
        elif cls:
            svg.rect(cx, y - 9, 10, 10, cls)
        svg.text(cx + 14, y, label, "tick legend")
        cx += w
    return y
