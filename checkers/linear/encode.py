"""Encoded partitions: the integer arrays one search runs over.

A partition is the ops of one independent object (one key, or the whole
history) after the model's encoder has decided, per op, its kind, integer
arguments and whether it *must* be linearized (``ok``) or *may* be (``info``
and invokes never completed).  ``fail`` ops are dropped before this point
(except a CAS whose compare failed, error "cas-mismatch", under ``cas_fail_observes``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..history import Columnar
from ..history.columnar import intern_key


@dataclass
class Partition:
    model_id: int
    key: Any                 # the key (Python value) or None for the whole history
    rows: np.ndarray         # row in Operations of each op (for evidence)
    kind: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    must: np.ndarray         # int8: 1 = ok (must be linearized), 0 = may
    inv_pos: np.ndarray      # history positions, the real-time order
    ret_pos: np.ndarray      # completion position; open-ended ops get one past the end
    init_state: int = 0
    init_vec: np.ndarray | None = None   # store models: the initial state vector
    store_need: int = 0                  # store models: longest state vector + 1
    aux: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))

    def __len__(self) -> int:
        return int(self.kind.shape[0])


class ValueTable:
    """Integer codes for values: the history's own intern codes, extended with
    codes for values that only appear inside compound values or in ``init``."""

    def __init__(self, columnar: Columnar):
        self.col = columnar
        self.extra: dict[Any, int] = {}
        self.extra_items: list[Any] = []
        self.base = len(columnar.values)

    def code(self, v: Any) -> int:
        c = self.col.value_code(v)
        if c >= 0:
            return c
        return self.extra_code(v)

    def extra_code(self, v: Any) -> int:
        """The code of a value known not to be among the history's own."""
        k = intern_key(v)
        c = self.extra.get(k)
        if c is None:
            c = self.base + len(self.extra_items)
            self.extra[k] = c
            self.extra_items.append(v)
        return c

    def value(self, code: int) -> Any:
        if code < self.base:
            return self.col.values[code]
        return self.extra_items[code - self.base]


def show(v: Any) -> str:
    """A value as Jepsen people read it: nil for None, JSON otherwise."""
    if v is None:
        return "nil"
    try:
        return json.dumps(v, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(v)
