"""Latency-over-time and throughput-over-time charts with fault windows.

Large histories are downsampled: every fail/info op is kept (they are the
interesting ones) up to a cap, and ok ops are thinned evenly so a 100,000-op
run still yields a chart of ~20,000 points that a browser draws at once.
"""

from __future__ import annotations

import math

import numpy as np
from markupsafe import Markup

from checkers.history import T_FAIL, T_INFO, T_OK

from .data import OpTable
from .faults import Faults
from .svg import SHAPE_NAMES, Frame, Svg, legend, marker

MAX_POINTS = 20_000
WIDTH = 1100
STATUS_CLASS = {T_OK: "ok", T_FAIL: "fail", T_INFO: "info"}


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


def shade_faults(svg: Svg, fr: Frame, faults: Faults, *, labels: bool) -> None:
    lanes: list[float] = []  # right edge of the last label in each lane, to avoid overlaps
    for i, w in enumerate(faults.windows):
        x0 = fr.px(max(w.start, fr.x0))
        x1 = fr.px(min(w.end, fr.x1))
        if w.end < fr.x0 or w.start > fr.x1:
            continue
        cls = f"fault fault-{i % 4}"
        svg.rect(x0, fr.t, max(x1 - x0, 1.5), fr.b - fr.t, cls,
                 title=f"{w.label} ({'still active at the end' if w.open_at_end else 'healed'})",
                 extra=f' data-fault="{i}"')
        if labels:
            text = w.label if len(w.label) <= 40 else w.label[:39] + "…"
            lane = next((j for j, edge in enumerate(lanes) if edge < x0), len(lanes))
            if lane == len(lanes):
                lanes.append(0.0)
            lanes[lane] = x0 + 6.5 * len(text) + 8
            svg.text(x0 + 3, fr.t + 12 + 12 * (lane % 4), text, "faultlbl")
    for e in faults.events:
        if fr.x0 <= e.at <= fr.x1:
            x = fr.px(e.at)
            svg.line(x, fr.t, x, fr.b, "event")
            near_right = x > fr.r - 80
            svg.text(x - 3 if near_right else x + 3, fr.b - 4, e.f, "faultlbl",
                     anchor="end" if near_right else "start", title=f"{e.f} {e.detail}")


def latency_chart(table: OpTable, faults: Faults) -> Markup | None:
    if not table.axis.timed or len(table) == 0:
        return None
    rows = sample(table)
    lat = table.latency_ms
    finite = lat[rows][np.isfinite(lat[rows])]
    ymin = max(float(finite.min()) if len(finite) else 0.01, 1e-3) / 1.5
    ymax = max(float(finite.max()) if len(finite) else 1.0, ymin * 10) * 1.5
    svg = Svg(WIDTH, 360, label="latency over time", elem_id="latency")
    fr = Frame(svg, 60, 34, 20, 34, table.span, (ymin, ymax), ylog=True)
    shade_faults(svg, fr, faults, labels=True)
    fr.axes(f"time ({table.axis.unit})", "latency (ms, log)")
    # info ops never completed (or nobody knows when): drawn at the top edge
    # from their invoke time, so they are visible rather than silently dropped.
    y_top = ymax
    st = table.status[rows]
    fc = table.f[rows]
    xs = table.start[rows]
    ys = np.where(np.isfinite(lat[rows]), lat[rows], y_top)
    for code in (T_OK, T_INFO, T_FAIL):  # fail last: drawn on top
        for fcode in np.unique(fc[st == code]):
            sel = (st == code) & (fc == fcode)
            px, py = fr.px_array(xs[sel]), fr.py_array(ys[sel])
            d = "".join(marker(int(fcode), x, y) for x, y in zip(px.tolist(), py.tolist()))
            svg.path(d, f"pt {STATUS_CLASS[code]}" + (" cross" if int(fcode) % 5 == 4 else ""))
    items = [("ok", "ok"), ("fail", "fail"), ("info", "info")]
    legend(svg, fr.l + 8, 16, items)
    fx = fr.l + 260
    for fcode in np.unique(table.f)[:12]:
        name = table.f_names[int(fcode)]
        svg.text(fx, 16, f"{SHAPE_NAMES[int(fcode) % 5]} {name}", "tick")
        fx += 30 + 7 * len(name)
    if len(rows) < len(table):
        svg.text(fr.r, 16, f"{len(rows):,} of {len(table):,} ops drawn (all fail/info kept)",
                 "tick", anchor="end")
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
    series = {}
    for code in (T_OK, T_FAIL, T_INFO):
        counts, _ = np.histogram(at[table.status == code], bins=edges)
        series[code] = counts * per_unit
    ymax = max(float(max(s.max() for s in series.values())), 1.0) * 1.1
    svg = Svg(WIDTH, 260, label="throughput over time", elem_id="throughput")
    fr = Frame(svg, 60, 34, 20, 34, (lo, hi), (0, ymax))
    shade_faults(svg, fr, faults, labels=True)
    unit = "ops/s" if table.axis.timed else f"ops per {math.ceil(width)} positions"
    fr.axes(f"time ({table.axis.unit})", f"throughput ({unit})")
    mids = (edges[:-1] + edges[1:]) / 2
    for code in (T_OK, T_FAIL, T_INFO):
        pts = [(fr.px(x), fr.py(y)) for x, y in zip(mids, series[code])]
        svg.polyline(pts, f"tp {STATUS_CLASS[code]}")
    legend(svg, fr.l + 8, 16, [("ok", "ok"), ("fail", "fail"), ("info", "info")])
    return svg.render()
