"""A linearizability counterexample drawn the way Porcupine draws one
(github.com/anishathalye/porcupine, its HTML visualisation): one row per
process, each op a bar from invoke to completion on a shared time axis, the
longest linearizable prefix numbered in linearization order with a line
through its linearization points, and the op that could not be linearized
highlighted.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from markupsafe import Markup

from checkers.history import History

from .data import Axis, op_at
from .fmt import opref_text, short
from .svg import CHAR_W, Frame, Svg, text_width

PREFIX_TAIL = 15     # prefix ops drawn before the failing op
MAX_CONCURRENT = 30
MAX_OTHERS = 40
WIDTH = 1100


def _interval(o: dict[str, Any], axis: Axis,
              pos_of: dict[int, int]) -> tuple[float, float | None]:
    """Plotted (start, end) of an opref; end None when it never completed."""
    if axis.timed and o.get("invoke_time") is not None:
        s = float(axis.at(float(o["invoke_time"])))
        ct = o.get("complete_time")
        e = float(axis.at(float(ct))) if ct is not None and o.get("complete_index") is not None \
            else None
        return s, e
    s = float(pos_of.get(o.get("index"), o.get("index") or 0))
    ci = o.get("complete_index")
    e = float(pos_of.get(ci, ci)) if ci is not None else None
    return s, e


def _others(history: History, axis: Axis, key: Any, lo: float, hi: float,
            skip: set) -> list[dict[str, Any]]:
    col = history.columnar()
    ops = col.operations()
    kc = col.key_code(key) if key is not None else -1
    if key is not None and kc < 0:
        return []
    sel = ops.key == kc
    if axis.timed:
        start = np.asarray(axis.at(ops.invoke_time.astype(np.float64)))
        end = np.where(ops.complete >= 0, axis.at(ops.complete_time.astype(np.float64)), np.inf)
    else:
        start = ops.invoke.astype(np.float64)
        end = np.where(ops.complete >= 0, ops.complete.astype(np.float64), np.inf)
    rows = np.flatnonzero(sel & (start <= hi) & (end >= lo))[:MAX_OTHERS * 2]
    out = []
    for r in rows.tolist():
        inv, comp = int(ops.invoke[r]), int(ops.complete[r])
        a = op_at(history, inv)
        if a.index in skip:
            continue
        c = op_at(history, comp) if comp >= 0 else None
        out.append({"index": a.index, "complete_index": c.index if c else None,
                    "process": a.process, "f": a.f, "key": a.key, "value": a.value,
                    "result": c.value if c else None, "type": c.type if c else "info",
                    "invoke_time": a.time, "complete_time": c.time if c else None})
        if len(out) >= MAX_OTHERS:
            break
    return out


def counterexample_svg(failure: dict[str, Any], history: History | None, axis: Axis,
                       pos_of: dict[int, int]) -> tuple[Markup, int]:
    """The drawing and how many earlier prefix ops were left out of it."""
    op = failure.get("op") or {}
    prefix = list(failure.get("prefix") or [])
    concurrent = [c for c in (failure.get("concurrent") or []) if c.get("index") != op.get("index")]
    concurrent = concurrent[:MAX_CONCURRENT]
    shown_prefix = prefix[-PREFIX_TAIL:]
    # A checker may list only the end of a long prefix and give its full length.
    total = max(int(failure.get("prefix_length") or 0), len(prefix))
    hidden = total - len(shown_prefix)
    first_order = hidden + 1

    entries: list[tuple[str, dict[str, Any], int | None]] = []
    for i, p in enumerate(shown_prefix):
        entries.append(("prefix", p, first_order + i))
    seen = {p.get("index") for p in shown_prefix}
    for c in concurrent:
        if c.get("index") not in seen:
            entries.append(("concurrent", c, None))
            seen.add(c.get("index"))
    entries.append(("failing-op", op, None))

    spans = []
    for _, o, _ in entries:
        s, e = _interval(o, axis, pos_of)
        spans.append((s, e))
    starts = [s for s, _ in spans]
    # The window ends where the failing op (and the prefix ops that completed
    # ok) end: an info op may stay open for seconds and would squash the rest
    # into a sliver, so longer bars are cut at the edge instead.
    ends = [e for (kind, o, _), (_, e) in zip(entries, spans)
            if e is not None and (kind == "failing-op" or o.get("type") == "ok")]
    lo = min(starts) if starts else 0.0
    hi = max(ends + starts) if starts else 1.0
    pad = (hi - lo) * 0.04 or 1.0
    lo, hi = lo - pad, hi + pad * 3

    # Like Porcupine, also draw the key's other ops in the window (grey): they are
    # what the failing op raced with, even when the checker did not list them.
    if history is not None:
        for o in _others(history, axis, op.get("key"), lo, hi, seen | {op.get("index")}):
            entries.insert(len(entries) - 1, ("other", o, None))
            spans.insert(len(spans) - 1, _interval(o, axis, pos_of))

    procs: list[Any] = []
    for _, o, _ in entries:
        if o.get("process") not in procs:
            procs.append(o.get("process"))
    procs.sort(key=lambda p: (not isinstance(p, int), p if isinstance(p, int) else str(p)))
    row_of = {p: i for i, p in enumerate(procs)}
    row_h = 36
    height = 60 + row_h * len(procs) + 38  # room for tick labels and, below them, the axis label
    svg = Svg(WIDTH, height, cls="chart linear", label="linearizability counterexample",
              elem_id=f"counterexample-{short(op.get('key'), 20)}")
    fr = Frame(svg, 70, 40, 20, 38, (lo, hi), (0, len(procs)))
    fr.axes(f"time ({axis.unit})", "", yticks=False)
    for p, r in row_of.items():
        y = fr.t + r * row_h
        svg.rect(fr.l, y, fr.r - fr.l, row_h, f"lane lane-{r % 2}")
        svg.text(fr.l - 8, y + row_h / 2 + 4, f"p{short(p, 12)}", "proc", anchor="end")

    lin_pts: list[tuple[float, float]] = []
    last_point = lo
    for (kind, o, order), (s, e) in zip(entries, spans):
        r = row_of[o.get("process")]
        y = fr.t + r * row_h + 6
        x0 = max(fr.px(s), fr.l)
        x1 = min(fr.px(e), fr.r) if e is not None else fr.r
        cut = e is None or e > hi
        cls = f"bar {kind}" + (" open" if cut else "")
        name = opref_text(o)
        title = name + (f" — #{order} in the linearization" if order else "")
        if kind == "failing-op":
            title += " — could not be linearized"
        extra = f' data-index="{o.get("index")}"' if isinstance(o.get("index"), int) else ""
        svg.rect(x0, y, max(x1 - x0, 3), row_h - 12, cls, title=title, extra=extra)
        label = (f"#{order} " if order else ("✗ " if kind == "failing-op" else "")) + name
        # Text is clipped visually by its length; cut it to the bar width.
        room = max(int((x1 - x0 - 6) / CHAR_W), 6)
        if kind == "failing-op" and len(label) > room:
            # The op everyone looks for: never cut its name; put it beside a short bar.
            if x1 + 8 + text_width(label) <= fr.r:
                svg.text(x1 + 4, y + row_h / 2 + 1, label, "barlbl failing-out")
            else:
                svg.text(x0 - 4, y + row_h / 2 + 1, label, "barlbl failing-out", anchor="end")
        else:
            if len(label) > room:
                label = label[: room - 1] + "…"
            svg.text(x0 + 3, y + row_h / 2 + 1, label, "barlbl " + kind)
        if kind == "prefix":
            # Each op linearizes inside its interval, no earlier than its predecessor.
            point = max(s, last_point)
            if e is not None:
                point = min(point, e)
            last_point = point
            lin_pts.append((fr.px(point), y + (row_h - 12) / 2))
    if lin_pts:
        svg.polyline(lin_pts, "linpath")
        for x, y in lin_pts:
            svg.raw(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" class="linpt"/>')
        x_end = lin_pts[-1][0]
        svg.line(x_end, fr.t - 4, x_end, fr.b, "prefix-end")
        right = x_end > fr.r - 240
        svg.text(x_end - 3 if right else x_end + 3, fr.t - 8,
                 "end of the longest linearizable prefix", "tick",
                 anchor="end" if right else "start")
    return svg.render(), hidden
