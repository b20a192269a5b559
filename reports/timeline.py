"""A per-process timeline around an anomaly, in the manner of Jepsen's
timeline.html: one column per process, history order flowing down, each op a
box from its invoke to its completion, the anomalous ops highlighted.

Only the neighbourhood of the anomaly is drawn (a few ops either side of each
anomalous op; gaps between neighbourhoods are collapsed and marked), so the
drawing stays small however long the history is.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
from markupsafe import Markup

from checkers.history import History, NEMESIS

from .data import op_at
from .fmt import short
from .svg import CHAR_W, Svg

AROUND = 10          # history positions either side of each anomalous op
MAX_POSITIONS = 160
MAX_PROCESSES = 14
ROW = 15
COL_W = 150


def _label(history: History, inv: int, comp: int) -> str:
    a = op_at(history, inv)
    text = f"{a.f} {short(a.value, 24)}" if a.value is not None else a.f
    if a.key is not None:
        text = f"[{short(a.key, 10)}] " + text
    if comp >= 0:
        c = op_at(history, comp)
        if c.type != "ok":
            text += f" → {c.type}"
        elif a.value is None or "read" in a.f or c.value != a.value:
            text += f" → {short(c.value, 24)}"
    else:
        text += " → (no completion)"
    return text


def timeline_svg(history: History, anomaly_positions: Iterable[int], elem_id: str) -> Markup | None:
    col = history.columnar()
    n = len(col)
    marked = sorted({p for p in anomaly_positions if 0 <= p < n})
    if not marked:
        return None
    # Include each anomalous op's partner too, so its whole interval is seen.
    partners = [int(col.pair[p]) for p in marked if col.pair[p] >= 0]
    centres = sorted(set(marked) | set(partners))
    sel: set[int] = set()
    for c in centres:
        sel.update(range(max(0, c - AROUND), min(n, c + AROUND + 1)))
        if len(sel) >= MAX_POSITIONS:
            break
    positions = np.array(sorted(sel)[:MAX_POSITIONS], dtype=np.int64)
    marked_set = set(marked) | set(partners)

    # Ops touching the window, grouped by process.
    ops: list[tuple[int, int]] = []
    seen: set[int] = set()
    for p in positions.tolist():
        q = int(col.pair[p])
        inv, comp = (p, q) if col.type[p] == 0 else (q, p)
        if inv < 0:
            inv = p  # a completion with no invoke: drawn as a point
        if inv in seen:
            continue
        seen.add(inv)
        ops.append((inv, comp))
    procs: list = []
    involved = [op_at(history, p).process for p in marked]
    for p in involved + [op_at(history, i).process for i, _ in ops]:
        if p not in procs:
            procs.append(p)
    procs = procs[:MAX_PROCESSES]
    procs.sort(key=lambda p: (p == NEMESIS, not isinstance(p, int), p if isinstance(p, int) else str(p)))
    col_of = {p: i for i, p in enumerate(procs)}

    top = 30
    height = top + ROW * len(positions) + 20
    svg = Svg(60 + COL_W * len(procs), height, cls="chart timeline",
              label="per-process timeline", elem_id=elem_id)
    for p, i in col_of.items():
        x = 60 + i * COL_W
        svg.rect(x, top, COL_W - 4, height - top - 10, f"lane lane-{i % 2}")
        svg.text(x + COL_W / 2, top - 10, "nemesis" if p == NEMESIS else f"p{short(p, 12)}",
                 "proc", anchor="middle")

    def y_of(pos: int, *, end: bool) -> float:
        k = int(np.searchsorted(positions, pos, side="right" if end else "left"))
        if end:
            k -= 1
        k = min(max(k, 0), len(positions) - 1)
        return top + k * ROW + (ROW if end else 0)

    # gaps: where consecutive drawn positions are not adjacent in the history
    for k in range(1, len(positions)):
        if positions[k] != positions[k - 1] + 1:
            y = top + k * ROW
            svg.line(60, y, 60 + COL_W * len(procs), y, "gap")
            svg.text(56, y + 4, f"⋯ {int(positions[k] - positions[k - 1] - 1)} ops", "tick", anchor="end")
    for k in range(0, len(positions), 10):
        svg.text(56, top + k * ROW + 11, f"{op_at(history, int(positions[k])).index}", "tick", anchor="end")

    for inv, comp in ops:
        proc = op_at(history, inv).process
        if proc not in col_of:
            continue
        x = 60 + col_of[proc] * COL_W
        y0 = y_of(inv, end=False)
        y1 = y_of(comp, end=True) if comp >= 0 else top + ROW * len(positions)
        typ = op_at(history, comp).type if comp >= 0 else "info"
        if op_at(history, inv).type != "invoke":
            typ = op_at(history, inv).type
        if proc == NEMESIS:
            typ = "nemesis"
        cls = f"tlop {typ}" + (" anomaly" if inv in marked_set or comp in marked_set else "")
        label = _label(history, inv, comp)
        idx = op_at(history, inv).index
        svg.rect(x + 3, y0 + 1, COL_W - 10, max(y1 - y0 - 2, ROW - 3), cls,
                 title=f"#{idx} p{proc} {label}", extra=f' data-index="{idx}"')
        room = int((COL_W - 14) / (CHAR_W * 10 / 11))  # tltxt is 10 px
        svg.text(x + 6, y0 + 11, label if len(label) <= room else label[: room - 1] + "…", "tltxt")
    return svg.render()
