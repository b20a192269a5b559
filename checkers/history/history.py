"""A history: ops in the order they happened, and where each came from.

Building an :class:`Op` from a loosely typed mapping (a JSON object, an EDN
map) is done here once for every format, so every format reports a missing
or malformed field the same way, naming the line.
"""

from __future__ import annotations

import contextlib
import gc
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence

from .op import CORE_FIELDS, I64_MAX, I64_MIN, NEMESIS, TYPES, HistoryError, Op

_TYPESET = frozenset(TYPES)
_CORE_SET = frozenset(CORE_FIELDS)

if TYPE_CHECKING:  # pragma: no cover
    from .columnar import Columnar


def op_from_mapping(d: Mapping[str, Any], position: int, *, file: str | None = None,
                    line: int | None = None) -> Op:
    """Turn one decoded record into an Op, or raise HistoryError naming the field."""

    if type(d) is dict:
        # Fast path for the common well-formed record; anything unusual falls
        # through to the checks below, which name the offending field.
        typ = d.get("type")
        proc = d.get("process")
        f = d.get("f")
        index = d.get("index", position)
        time = d.get("time")
        if typ in _TYPESET and ((type(proc) is int and 0 <= proc <= I64_MAX) or proc == NEMESIS) \
                and type(f) is str and f and type(index) is int and I64_MIN <= index <= I64_MAX \
                and (time is None or (type(time) is int and I64_MIN <= time <= I64_MAX)):
            node = d.get("node")
            if _CORE_SET.issuperset(d):
                extra = {}
            else:
                extra = {k: v for k, v in d.items() if k not in _CORE_SET}
            if node is None or type(node) is str:
                return Op(index, time, proc, typ, f, d.get("key"), d.get("value"), node,
                          d.get("error"), extra)

    def bad(msg: str) -> HistoryError:
        return HistoryError(msg, file=file, line=line)

    if not isinstance(d, Mapping):
        raise bad(f"expected an operation (a map/object), got {type(d).__name__}")
    for req in ("process", "type", "f"):
        if req not in d or d[req] is None:
            raise bad(f"missing field '{req}' (every op needs process, type and f)")
    typ = d["type"]
    if typ not in TYPES:
        raise bad(f"unknown type {typ!r}: expected one of invoke, ok, fail, info")
    proc = d["process"]
    if not ((type(proc) is int and 0 <= proc <= I64_MAX) or proc == NEMESIS):
        # one rule for validate and every checker: an op of any other process
        # would be counted by one and silently skipped by the others
        raise bad(f"field 'process' must be a client number 0..2^63-1 or \"nemesis\", "
                  f"got {_short(proc)}")
    f = d["f"]
    if not isinstance(f, str) or not f:
        raise bad(f"field 'f' must be a non-empty string, got {f!r}")
    index = d.get("index", position)
    if index is None:
        index = position
    if type(index) is not int or not I64_MIN <= index <= I64_MAX:
        raise bad(f"field 'index' must be a 64-bit integer, got {_short(index)}")
    time = d.get("time")
    if time is not None and type(time) is not int:
        if type(time) is float and time.is_integer():
            time = int(time)
        else:
            raise bad(f"field 'time' must be integer nanoseconds, got {_short(time)}")
    if time is not None and not I64_MIN <= time <= I64_MAX:
        raise bad(f"field 'time' must be a 64-bit integer (nanoseconds), got {_short(time)}")
    node = d.get("node")
    if node is not None and not isinstance(node, str):
        node = str(node)
    extra = {k: v for k, v in d.items() if k not in CORE_FIELDS}
    return Op(index=index, time=time, process=proc, type=typ, f=f, key=d.get("key"),
              value=d.get("value"), node=node, error=d.get("error"), extra=extra)


def _short(v: Any, limit: int = 60) -> str:
    r = repr(v)
    return r if len(r) <= limit else r[:limit - 1] + "…"


class History:
    """Ops in history order, plus their source lines for error messages.

    A history loaded from JSON Lines keeps the decoded records and builds
    :class:`Op` objects only when ``ops`` is first used: the checkers work on
    the columnar view, and a million Op objects cost seconds to build.
    """

    def __init__(self, ops: list[Op] | None = None, source: str | None = None,
                 lines: "Sequence[int] | None" = None, warnings: list[str] | None = None, *,
                 records: list[dict] | None = None, columnar: "Columnar | None" = None):
        if ops is None and records is None:
            ops = []
        self._ops = ops
        self._records = records
        self.source = source
        self.lines = lines
        self.warnings = warnings if warnings is not None else []
        self._columnar = columnar

    @property
    def ops(self) -> list[Op]:
        if self._ops is None:
            recs, lines, src = self._records if self._records is not None else [], self.lines, \
                self.source
            if lines is not None and not isinstance(lines, list):
                lines = lines.tolist()  # a numpy column (the scanning loader)
            with gc_paused():
                self._ops = [op_from_mapping(r, i, file=src, line=lines[i] if lines else None)
                             for i, r in enumerate(recs)]
            self._records = None
        return self._ops

    def __len__(self) -> int:
        return len(self._ops) if self._ops is not None else len(self._records or ())

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def __getitem__(self, i: int) -> Op:
        return self.ops[i]

    def __repr__(self) -> str:
        return f"History({len(self)} ops from {self.source or 'memory'})"

    def error_at(self, position: int) -> Any:
        """The ``error`` field of the op at ``position`` (without building every op)."""
        if self._ops is None and self._records is not None:
            return self._records[position].get("error")
        return self.ops[position].error

    def line_of(self, position: int) -> int | None:
        if self.lines is None or position >= len(self.lines):
            return None
        return int(self.lines[position])

    def columnar(self) -> "Columnar":
        """The numpy view the checkers work on (built once, then cached)."""
        if self._columnar is None:
            from .columnar import build_columnar
            self._columnar = build_columnar(self.ops, self.lines, self.source)
        return self._columnar

    def client_ops(self) -> list[Op]:
        return [o for o in self.ops if o.process != NEMESIS]

    def nemesis_ops(self) -> list[Op]:
        return [o for o in self.ops if o.process == NEMESIS]

    @classmethod
    def from_dicts(cls, records: Iterable[Mapping[str, Any]], source: str | None = None) -> "History":
        ops = [op_from_mapping(r, i, file=source) for i, r in enumerate(records)]
        return cls(ops=ops, source=source)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Building millions of small objects triggers the cyclic GC over and over;
    none of them form cycles, so pause it (this halves load times)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
