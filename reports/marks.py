"""Where on the time axis each checker's findings fall.

Sections turn evidence into :class:`Mark` s (a lost element at its add, the
op that could not be linearized, the ops of a causal cycle, a counter read
out of bounds); the latency chart draws them in colours of their own, so
the picture alone says "lost writes, here, during this partition" — after
the set-full plot of Jepsen's checker, which draws lost and stale elements
over time.  Also here: naming an op with its time, node and process, which
every list of ops in the report shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from checkers.history import T_FAIL, T_OK, History
from checkers.history.columnar import intern_key

from .data import Axis, OpTable
from .fmt import opref_text, short
from .outcomes import op_field

# kind → legend text.  Order is legend order.
MARK_KINDS = {
    "lost": "lost element (at its add)",
    "stale": "stale element (at its add)",
    "unexpected": "unexpected element",
    "nonlinear": "op that could not be linearized",
    "cycle": "op of a causal anomaly",
    "counter": "counter read out of bounds",
}
MAX_MARKS_PER_KIND = 1000
# Reading every read's whole set to find where an unexpected element first
# showed up is bounded: past this many elements scanned the rest go unmarked.
_MAX_SCANNED = 5_000_000


@dataclass
class Mark:
    kind: str
    t: float            # plotted time (s, or op position when untimed)
    latency_ms: float   # NaN when unknown: drawn at the chart's top edge
    title: str


def time_text(t: float | None, axis: Axis) -> str:
    if t is None or t != t:
        return "?"
    return f"{t:.3f} s" if axis.timed else f"op #{int(t)}"


def _plain(v: Any) -> Any:
    """A checker's in-memory element (tuples for lists) as the history spells it."""
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


class Placer:
    """Finds an op's row, time and node in a history for marks and list entries."""

    def __init__(self, history: History | None, table: OpTable | None,
                 pos_of: dict[int, int]):
        self.history = history
        self.table = table
        self.pos_of = pos_of
        self.axis = table.axis if table is not None else Axis(False, 0.0)
        self.marks: list[Mark] = []
        self.totals: dict[str, int] = {}

    # -- one op ---------------------------------------------------------------------------
    def row_of_pos(self, pos: int | None) -> int | None:
        if self.table is None or pos is None:
            return None
        inv = self.table.invoke_pos
        r = int(np.searchsorted(inv, pos))
        return r if r < len(inv) and int(inv[r]) == pos else None

    def node_of(self, o: dict[str, Any] | None) -> str | None:
        """The node an op talked to (recorded on its invoke or completion)."""
        if self.history is None or not o:
            return None
        for k in ("index", "complete_index"):
            pos = self.pos_of.get(o.get(k)) if o.get(k) is not None else None
            if pos is not None:
                node = op_field(self.history, pos, "node")
                if node is not None:
                    return str(node)
        return None

    def time_of(self, o: dict[str, Any] | None) -> float | None:
        if not o:
            return None
        if self.axis.timed and isinstance(o.get("invoke_time"), (int, float)):
            return float(self.axis.at(float(o["invoke_time"])))
        pos = self.pos_of.get(o.get("index"))
        if not self.axis.timed and pos is not None:
            return float(pos)
        return None

    def entry(self, o: dict[str, Any] | None, limit: int = 60) -> dict[str, str]:
        """An op as a list entry: time, node, process and what it did."""
        o = o or {}
        node = self.node_of(o)
        process = f"p{short(o.get('process'), 12)}"
        text = opref_text(o, limit)
        return {"time": time_text(self.time_of(o), self.axis), "node": node or "—",
                "process": process, "op": text.removeprefix(process + " ")}

    def mark_op(self, kind: str, o: dict[str, Any] | None, what: str = "") -> None:
        t = self.time_of(o)
        if t is None or not o:
            return
        row = self.row_of_pos(self.pos_of.get(o.get("index")))
        lat = float(self.table.latency_ms[row]) if row is not None and self.table is not None \
            else float("nan")
        e = self.entry(o)
        self._add(Mark(kind, t, lat, f"{what or MARK_KINDS[kind]}: {e['op']} — {e['time']}, "
                                     f"node {e['node']}, {e['process']}"))

    def _add(self, m: Mark) -> None:
        self.totals[m.kind] = self.totals.get(m.kind, 0) + 1
        if self.totals[m.kind] <= MAX_MARKS_PER_KIND:
            self.marks.append(m)

    # -- set elements ---------------------------------------------------------------------
    def mark_elements(self, kind: str, elements: Iterable[Any], add_f: str = "add",
                      read_f: str = "read") -> None:
        """Mark each element at its add (the acknowledged one if any), or for an element
        nobody added, at the first read that showed it."""
        if self.history is None or self.table is None:
            return
        elements = [_plain(e) for e in list(elements)[:MAX_MARKS_PER_KIND]]
        if not elements:
            return
        col = self.history.columnar()
        tb = self.table
        add_code = col.f_code(add_f)
        rows = np.flatnonzero(tb.f == add_code) if add_code >= 0 else np.empty(0, np.int64)
        first: dict[int, int] = {}
        for r in rows.tolist():
            code = int(col.value[int(tb.invoke_pos[r])])
            prev = first.get(code)
            if prev is None or (tb.status[r] == T_OK and tb.status[prev] != T_OK):
                first[code] = r
        unplaced = []
        for e in elements:
            r = first.get(col.value_code(e))
            if r is None:
                unplaced.append(e)
                continue
            self._mark_row(kind, r, f"{MARK_KINDS[kind].split(' (')[0]} {short(e, 30)}")
        if unplaced:
            self._mark_first_reads(kind, unplaced, col.f_code(read_f))

    def _mark_row(self, kind: str, r: int, what: str) -> None:
        tb = self.table
        assert tb is not None and self.history is not None
        inv = int(tb.invoke_pos[r])
        comp = int(tb.complete_pos[r])
        node = op_field(self.history, inv, "node") or \
            (op_field(self.history, comp, "node") if comp >= 0 else None)
        t = float(tb.start[r])
        typ = {T_OK: "ok", T_FAIL: "fail"}.get(int(tb.status[r]), "info")
        self._add(Mark(kind, t, float(tb.latency_ms[r]),
                       f"{what}: {tb.f_names[int(tb.f[r])]} by p{short(tb.process[r], 12)} → "
                       f"{typ} — {time_text(t, tb.axis)}, node {node or '—'}"))

    def _mark_first_reads(self, kind: str, elements: list[Any], read_code: int) -> None:
        tb = self.table
        assert tb is not None and self.history is not None
        if read_code < 0:
            return
        col = self.history.columnar()
        want = {intern_key(e): e for e in elements}
        scanned = 0
        for r in np.flatnonzero((tb.f == read_code) & (tb.status == T_OK)).tolist():
            v = col.values[int(col.value[int(tb.complete_pos[r])])]
            if not isinstance(v, (list, tuple)):
                continue
            scanned += len(v)
            for x in v:
                k = intern_key(x)
                if k in want:
                    self._mark_row(kind, r, f"{MARK_KINDS[kind]} {short(want.pop(k), 30)}"
                                            " first read")
            if not want or scanned > _MAX_SCANNED:
                return
