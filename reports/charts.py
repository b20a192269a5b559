"""Latency-over-time and throughput-over-time charts with fault windows and
the checkers' findings marked on the time axis.

Large histories are downsampled: every fail/info op is kept (they are the
interesting ones) up to a cap, and ok ops are thinned evenly so a 100,000-op
run still yields a chart of ~20,000 points that a browser draws at once.

Layout, top to bottom: a legend that wraps, a strip of fault labels (each
inside its own band, in lanes so none overlaps another), then the plot.
Labels never sit over data, and text is monospace so its width is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from markupsafe import Markup

from checkers.history import T_OK

from .data import OpTable
from .faults import Faults
from .fmt import esc, num, number
from .marks import MARK_KINDS, Mark
from .outcomes import FAIL_ERROR, FAIL_EXPECTED, INFO, OK, OUTCOME_LABELS
from .svg import SHAPE_NAMES, Frame, Svg, legend, marker, text_width

MAX_POINTS = 20_000
WIDTH = 1100
LEFT, RIGHT, BOTTOM = 70, 20, 34  # left: 6-character tick labels clear of the upright axis label
LANE_H = 13
MAX_LANES = 3
# The plot's x range runs this fraction past the last op, so a heal recorded
# at the very end is drawn inside the frame rather than on its border.
RIGHT_PAD = 0.02
OUTCOME_ORDER = (OK, INFO, FAIL_EXPECTED, FAIL_ERROR)  # errors last: drawn on top


def sample(table: OpTable, max_points: int = MAX_POINTS) -> np.ndarray:
    """Row numbers to plot: all non-ok ops (capped), ok ops thinned evenly."""
    rows = np.arange(len(table))
    if len(rows) <= max_points:
        return rows
    bad = rows[table.status != T_OK]
    ok = rows[table.status == T_OK]
    bad_cap = max_points // 2
    if len(bad) > bad_cap:
        bad = bad[np.linspace(0, len(bad) - 1, bad_cap).astype(np.int64)]
    room = max_points - len(bad)
    if len(ok) > room:
        ok = ok[np.linspace(0, len(ok) - 1, room).astype(np.int64)]
    return np.sort(np.concatenate([bad, ok]))


@dataclass
class _Label:
    x: float
    row: int
    text: str
    anchor: str = "start"
    title: str = ""
    fault: int | None = None


def _fit(text: str, room: float) -> str | None:
    """``text`` cut to ``room`` pixels (with an ellipsis), or None if not even 3 characters fit."""
    chars = int(room // text_width("x"))
    if chars >= len(text):
        return text
    if chars < 3:
        return None
    return text[: chars - 1] + "…"


def plan_fault_labels(faults: Faults, px: Callable[[float], float], lo: float, hi: float,
                      left: float, right: float) -> tuple[list[_Label], int]:
    """Where each fault label and nemesis event label goes, and how many rows they need.

    A window's label stays inside its band (cut to fit; left out when even a
    few characters do not fit — the band's tooltip and the fault table still
    name it), in the first lane where it overlaps no other label.  Events
    (the final heal, one-shot actions) share one row below the lanes.
    """
    labels: list[_Label] = []
    lane_edges: list[float] = []
    for i, w in enumerate(faults.windows):
        if w.end < lo or w.start > hi:
            continue
        x0, x1 = px(max(w.start, lo)), px(min(w.end, hi))
        text = _fit(w.label, x1 - x0 - 6)
        if text is None:
            continue
        lane = next((j for j, edge in enumerate(lane_edges) if edge < x0), None)
        if lane is None:
            if len(lane_edges) >= MAX_LANES:
                continue
            lane = len(lane_edges)
            lane_edges.append(0.0)
        lane_edges[lane] = x0 + 3 + text_width(text) + 4
        labels.append(_Label(x0 + 3, lane, text, title=w.label, fault=i))
    event_row = len(lane_edges)
    taken: list[tuple[float, float]] = []
    for e in faults.events:
        if not lo <= e.at <= hi:
            continue
        x = px(e.at)
        width = text_width(e.f)
        near_right = x + 3 + width > right
        a, b = (x - 3 - width, x - 3) if near_right else (x + 3, x + 3 + width)
        if a < left or any(a < tb + 4 and b > ta - 4 for ta, tb in taken):
            continue  # its dashed line and tooltip still show it
        taken.append((a, b))
        labels.append(_Label(x - 3 if near_right else x + 3, event_row, e.f,
                             "end" if near_right else "start", f"{e.f} {e.detail}".strip()))
    rows = event_row + (1 if taken else 0)
    return labels, rows


class ChartLayout:
    """A chart's legend, fault strip and plot frame, sized to what they hold."""

    def __init__(self, elem_id: str, label: str, plot_h: float, x: tuple[float, float],
                 y: tuple[float, float], legend_items: Sequence[tuple[str, str]],
                 faults: Faults | None, *, ylog: bool = False, fault_labels: bool = True):
        lo, hi = x
        self.faults = faults
        px = self._px(lo, hi)
        labels, rows = plan_fault_labels(faults, px, lo, hi, LEFT, WIDTH - RIGHT) \
            if faults is not None and fault_labels else ([], 0)
        # Measure the legend on a scratch canvas, then draw it for real.
        scratch = Svg(WIDTH, 100)
        legend_bottom = legend(scratch, LEFT + 8, 16, legend_items, right=WIDTH - RIGHT)
        self.strip_top = legend_bottom + 8
        top = self.strip_top + LANE_H * rows + (4 if rows else 0)
        self.svg = Svg(WIDTH, top + plot_h + BOTTOM, label=label, elem_id=elem_id)
        legend(self.svg, LEFT + 8, 16, legend_items, right=WIDTH - RIGHT)
        self.fr = Frame(self.svg, LEFT, top, RIGHT, BOTTOM, (lo, hi), y, ylog=ylog)
        self.labels = labels

    @staticmethod
    def _px(lo: float, hi: float) -> Callable[[float], float]:
        hi = hi if hi > lo else lo + 1
        return lambda v: LEFT + (v - lo) / (hi - lo) * (WIDTH - RIGHT - LEFT)

    def shade(self) -> None:
        """Fault bands (from the label strip down through the plot), events, labels."""
        if self.faults is None:
            return
        svg, fr = self.svg, self.fr
        band_top = self.strip_top if self.labels else fr.t
        for i, w in enumerate(self.faults.windows):
            if w.end < fr.x0 or w.start > fr.x1:
                continue
            x0, x1 = fr.px(max(w.start, fr.x0)), fr.px(min(w.end, fr.x1))
            svg.rect(x0, band_top, max(x1 - x0, 1.5), fr.b - band_top, f"fault fault-{i % 4}",
                     title=f"{w.label} ({'still active at the end' if w.open_at_end else 'healed'})",
                     extra=f' data-fault="{i}"')
        for e in self.faults.events:
            if fr.x0 <= e.at <= fr.x1:
                x = fr.px(e.at)
                svg.line(x, band_top, x, fr.b, "event")
        for lb in self.labels:
            y = self.strip_top + LANE_H * lb.row + 10
            extra = f' data-fault="{lb.fault}"' if lb.fault is not None else ""
            svg.text(lb.x, y, lb.text, "faultlbl" if lb.fault is not None else "eventlbl",
                     anchor=lb.anchor, title=lb.title, extra=extra)


def _x_range(table: OpTable) -> tuple[float, float]:
    lo, hi = table.span
    return lo, hi + (hi - lo) * RIGHT_PAD


def _draw_marks(svg: Svg, fr: Frame, marks: Sequence[Mark], y_top: float) -> None:
    """One ring per finding at its op's latency (top edge when unknown), and a tick
    on a rug along the bottom of the plot, so dense findings still show as a band."""
    for m in marks:
        if not fr.x0 <= m.t <= fr.x1:
            continue
        x = fr.px(m.t)
        y = fr.py(m.latency_ms if m.latency_ms == m.latency_ms else y_top)
        y = min(max(y, fr.t + 6), fr.b - 10)
        svg.raw(f'<g class="mark mark-{esc(m.kind)}" data-kind="{esc(m.kind)}" '
                f'data-t="{m.t!r}"><title>{esc(m.title)}</title>'
                f'<circle cx="{num(x)}" cy="{num(y)}" r="5"/>'
                f'<line x1="{num(x)}" y1="{num(fr.b - 7)}" x2="{num(x)}" y2="{num(fr.b - 1)}"/></g>')


def mark_legend(marks: Sequence[Mark], totals: dict[str, int] | None = None) -> list[tuple[str, str]]:
    present = {m.kind for m in marks}
    items = []
    for kind, text in MARK_KINDS.items():
        if kind in present:
            drawn = sum(1 for m in marks if m.kind == kind)
            total = (totals or {}).get(kind, drawn)
            count = number(drawn) if drawn == total else f"{number(drawn)} of {number(total)}"
            items.append((f"mark mark-{kind}", f"{text} ×{count}"))
    return items


def latency_chart(table: OpTable, faults: Faults, marks: Sequence[Mark] = (),
                  mark_totals: dict[str, int] | None = None) -> Markup | None:
    if not table.axis.timed or len(table) == 0:
        return None
    rows = sample(table)
    lat = table.latency_ms
    finite = lat[rows][np.isfinite(lat[rows])]
    ymin = max(float(finite.min()) if len(finite) else 0.01, 1e-3) / 1.5
    ymax = max(float(finite.max()) if len(finite) else 1.0, ymin * 10) * 1.5
    outcome = table.outcome()[rows]
    present = [o for o in (OK, FAIL_EXPECTED, FAIL_ERROR, INFO) if np.any(outcome == o)]
    items = [(o, OUTCOME_LABELS[o]) for o in present] + mark_legend(marks, mark_totals)
    items += [("", f"{SHAPE_NAMES[int(c) % 5]} {table.f_names[int(c)]}")
              for c in np.unique(table.f)[:12]]
    if len(rows) < len(table):
        items.append(("", f"{number(len(rows))} of {number(len(table))} ops drawn "
                          "(all fail/info kept)"))
    lay = ChartLayout("latency", "latency over time", 280, _x_range(table), (ymin, ymax),
                      items, faults, ylog=True)
    svg, fr = lay.svg, lay.fr
    lay.shade()
    fr.axes(f"time ({table.axis.unit})", "latency (ms, log)")
    # info ops never completed (or nobody knows when): drawn at the top edge
    # from their invoke time, so they are visible rather than silently dropped.
    fc = table.f[rows]
    xs = table.start[rows]
    ys = np.where(np.isfinite(lat[rows]), lat[rows], ymax)
    for cls in OUTCOME_ORDER:
        for fcode in np.unique(fc[outcome == cls]):
            sel = (outcome == cls) & (fc == fcode)
            px, py = fr.px_array(xs[sel]), fr.py_array(ys[sel])
            d = "".join(marker(int(fcode), x, y) for x, y in zip(px.tolist(), py.tolist()))
            svg.path(d, f"pt {cls}" + (" cross" if int(fcode) % 5 == 4 else ""))
    _draw_marks(svg, fr, marks, ymax)
    return svg.render()


def throughput_chart(table: OpTable, faults: Faults, bins: int = 200) -> Markup | None:
    if len(table) == 0:
        return None
    lo, hi = table.span
    # completion time is when the outcome was observed; info ops that never
    # completed are counted at their invoke.
    at = np.where(np.isfinite(table.end), table.end, table.start)
    bins = max(10, min(bins, len(table) // 5 or 10))
    edges = np.linspace(lo, hi, bins + 1)
    width = (hi - lo) / bins
    per_unit = 1.0 / width if table.axis.timed else 1.0
    outcome = table.outcome()
    present = [o for o in (OK, FAIL_EXPECTED, FAIL_ERROR, INFO) if np.any(outcome == o)]
    series = {}
    for cls in present:
        counts, _ = np.histogram(at[outcome == cls], bins=edges)
        series[cls] = counts * per_unit
    ymax = max(max((float(s.max()) for s in series.values()), default=0.0), 1.0) * 1.1
    lay = ChartLayout("throughput", "throughput over time", 200, _x_range(table), (0, ymax),
                      [(o, OUTCOME_LABELS[o]) for o in present], faults)
    svg, fr = lay.svg, lay.fr
    lay.shade()
    unit = "ops/s" if table.axis.timed else f"ops per {math.ceil(width)} positions"
    fr.axes(f"time ({table.axis.unit})", f"throughput ({unit})")
    mids = (edges[:-1] + edges[1:]) / 2
    for cls in present:
        pts = [(fr.px(x), fr.py(y)) for x, y in zip(mids, series[cls])]
        svg.polyline(pts, f"tp {cls}")
    return svg.render()
