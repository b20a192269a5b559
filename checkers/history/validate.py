"""Well-formedness of a history under Jepsen's process semantics.

Checked, each breach reported with its position (and source line):
- a completion (ok/fail/info) whose process has no open invoke;
- an invoke from a process that already has one open (two invokes in a row);
- a completion whose f differs from its invoke's f, or that states a
  different key, or (for ops whose value is an input: write, cas, add, ...)
  a different value — the checkers use the invoke's, so a disagreement would
  otherwise be judged silently on one side of it (a completion may leave
  ``key``/``value`` out: that states nothing);
- a client process invoking again after an op of it ended in ``info``
  (Jepsen retires such a process: the op may still be in flight);
- op indices that do not increase.

The nemesis is exempt from retirement: its ops complete as ``info`` by
convention and it invokes again; older Jepsen versions log nemesis events as
bare ``info`` ops with no invoke, which is accepted too.  Times are not required to be monotonic
across processes because imported Jepsen histories (e.g. Knossos'
``mutex/bad/etcd.edn``) interleave ops from different clocks slightly out of
order; within one process a completion before its invoke is a breach.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .history import History
from .op import INFO, INPUT_VALUE_FS, INVOKE, NEMESIS, HistoryError
from .values import intern_key
from .wellformed import certainly_well_formed


@dataclass(frozen=True)
class Breach:
    position: int
    line: int | None
    message: str

    def where(self, source: str | None) -> str:
        loc = f"line {self.line}" if self.line is not None else f"op #{self.position}"
        return f"{source}:{self.line}" if source and self.line is not None else (
            f"{source}: {loc}" if source else loc)

    def render(self, source: str | None) -> str:
        return f"{self.where(source)}: {self.message}"


def validate(history: History, *, limit: int | None = None) -> list[Breach]:
    """Every breach in ``history`` (at most ``limit`` of them)."""
    if _columnar_says_none(history):
        return []
    return validate_by_walking(history, limit=limit)


def validate_by_walking(history: History, *, limit: int | None = None) -> list[Breach]:
    """Every breach, found op by op (what :func:`validate` falls back to)."""
    breaches: list[Breach] = []
    open_invoke: dict[object, int] = {}
    retired: dict[object, int] = {}
    last_index = None
    ops = history.ops

    def add(pos: int, msg: str) -> bool:
        breaches.append(Breach(pos, history.line_of(pos), msg))
        return limit is not None and len(breaches) >= limit

    for pos, op in enumerate(ops):
        if last_index is not None and op.index <= last_index:
            if add(pos, f"index {op.index} does not increase (previous op has index {last_index})"):
                break
        last_index = op.index
        p = op.process
        if op.type == INVOKE:
            if p in open_invoke:
                prev = open_invoke[p]
                if add(pos, f"process {p} invokes {op.f} while its invoke ({_at(history, prev)})"
                            " has not completed"):
                    break
            elif p in retired and p != NEMESIS:
                prev = retired[p]
                if add(pos, f"process {p} invokes again after its op ({_at(history, prev)}) "
                            "ended in info; a crashed process must continue under a new "
                            "process id"):
                    break
            open_invoke[p] = pos
        else:
            inv = open_invoke.pop(p, None)
            if inv is None and p == NEMESIS and op.type == INFO:
                continue  # Jepsen's nemesis logs bare :info events (invoke and completion both :info)
            if inv is None:
                if add(pos, f"{op.type} completion from process {p} without a preceding invoke"):
                    break
                continue
            invoke = ops[inv]
            at = _at(history, inv)
            if invoke.f != op.f:
                if add(pos, f"completion f {op.f!r} does not match its invoke's f {invoke.f!r}"
                            f" ({at})"):
                    break
            elif p != NEMESIS:
                if op.key is not None and not _same(op.key, invoke.key):
                    if add(pos, f"completion key {_show(op.key)} differs from its invoke's key "
                                f"{_show(invoke.key)} ({at})"):
                        break
                if (op.f in INPUT_VALUE_FS and op.value is not None
                        and not _same(op.value, invoke.value)):
                    if add(pos, f"completion value {_show(op.value)} differs from its invoke's "
                                f"value {_show(invoke.value)} ({at}); a {op.f}'s value is its "
                                "input"):
                        break
            t0, t1 = ops[inv].time, op.time
            if t0 is not None and t1 is not None and t1 < t0:
                if add(pos, f"completion time {t1} is before its invoke's time {t0}"):
                    break
            if op.type == INFO:
                retired[p] = pos
    return breaches


def _columnar_says_none(history: History) -> bool:
    """The whole-array check, when the history has (or cheaply gets) its
    columnar view; building Ops for the walk below is what costs seconds."""
    try:
        col = history.columnar()
    except HistoryError:
        return False  # the walk reports what is wrong, naming the line
    return certainly_well_formed(col)


def _at(history: History, pos: int) -> str:
    line = history.line_of(pos)
    return f"line {line}" if line is not None else f"op #{pos}"


def _same(a: object, b: object) -> bool:
    return intern_key(a) == intern_key(b)  # by type and value: 1 is not 1.0


def _show(v: object, limit: int = 60) -> str:
    r = json.dumps(v, default=str) if not isinstance(v, str) else json.dumps(v)
    return r if len(r) <= limit else r[:limit - 1] + "…"
