"""One operation of a history, with Jepsen's semantics.

An operation is either an invocation or a completion.  The completion of an
invoke is the next operation of the same process: ``ok`` means it took
effect, ``fail`` that it certainly did not, ``info`` that nobody knows (it may
take effect at any later time, or never).  A client process whose op ended in
``info`` never invokes again; the worker continues under a fresh process id.
The nemesis is a process of its own, named ``"nemesis"``.

``process`` is either an integer >= 0 (a client) or ``"nemesis"``; loading
rejects anything else naming the line, so every checker and ``validate``
see the same client ops (docs/history.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INVOKE, OK, FAIL, INFO = "invoke", "ok", "fail", "info"
TYPES = (INVOKE, OK, FAIL, INFO)
TYPE_CODE = {INVOKE: 0, OK: 1, FAIL: 2, INFO: 3}
NEMESIS = "nemesis"

# The columns are int64: an index, time or process outside it is bad input.
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1

# Ops whose value is what the client asked for (an input), so a completion can
# only repeat it.  A read's or txn's completion value is its result instead.
INPUT_VALUE_FS = frozenset({"write", "cas", "add", "put", "append", "enqueue"})

# Fields an op may carry; anything else a foreign history brings is kept in
# ``extra`` so a conversion never drops it.
CORE_FIELDS = ("index", "time", "process", "type", "f", "key", "value", "node", "error")


@dataclass(slots=True)
class Op:
    index: int
    time: int | None
    process: int | str
    type: str
    f: str
    key: Any = None
    value: Any = None
    node: str | None = None
    error: Any = None
    extra: dict = field(default_factory=dict)

    @property
    def is_invoke(self) -> bool:
        return self.type == INVOKE

    @property
    def is_client(self) -> bool:
        return self.process != NEMESIS

    def to_dict(self) -> dict:
        """The JSON Lines form: optional fields only when present."""
        d: dict[str, Any] = {
            "index": self.index,
            "time": self.time,
            "process": self.process,
            "type": self.type,
            "f": self.f,
        }
        if self.key is not None:
            d["key"] = self.key
        d["value"] = self.value
        if self.node is not None:
            d["node"] = self.node
        if self.error is not None:
            d["error"] = self.error
        if self.extra:
            d.update(self.extra)
        return d


class HistoryError(ValueError):
    """Bad input: carries where (file, line) and what was expected."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        self.file = file
        self.line = line
        self.message = message
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)
