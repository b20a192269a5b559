"""A columnar, numpy-backed view of a history for the numba checkers.

Built in one pass over the ops.  Every column is a flat int array indexed by
*position* in the history (not by the op's ``index`` field, which a foreign
history may number sparsely):

====================  =====================================================
``index``             the op's own index
``time``              ns since test start, ``-1`` where unknown
``process``           client process id; the nemesis and other named
                      processes get negative ids (see ``process_names``)
``type``              0 invoke, 1 ok, 2 fail, 3 info
``f``                 code into ``f_names``
``key``               code into ``keys``, ``-1`` for no key
``value``             code into ``values``; code 0 is always ``None``
``pair``              position of the matching invoke/completion, or -1
====================  =====================================================

Values and keys are interned by *type and value*: ``1``, ``1.0`` and
``True`` are three different values, as they are in JSON and EDN.

:meth:`Columnar.operations` pairs each invoke with its completion — the
unit every checker reasons about.  An invoke with no completion counts as
``info``, as in Jepsen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .op import NEMESIS, TYPE_CODE, Op

T_INVOKE, T_OK, T_FAIL, T_INFO = 0, 1, 2, 3


def intern_key(v: Any) -> Any:
    """A hashable key under which equal JSON values (and only those) meet."""
    t = type(v)
    if t is int or t is str or v is None:
        return v
    if t is bool:
        return ("b", v)
    if t is float:
        return ("f", v)
    return ("j", json.dumps(v, sort_keys=True, separators=(",", ":"), default=str))


class Interner:
    """Maps values to dense int codes; ``code(None) == 0`` when ``none_first``."""

    def __init__(self, none_first: bool = True):
        self._codes: dict[Any, int] = {}
        self.items: list[Any] = []
        if none_first:
            self.code(None)

    def code(self, v: Any) -> int:
        k = intern_key(v)
        c = self._codes.get(k)
        if c is None:
            c = len(self.items)
            self._codes[k] = c
            self.items.append(v)
        return c

    def lookup(self, v: Any) -> int:
        """The code of ``v``, or -1 when it was never interned."""
        return self._codes.get(intern_key(v), -1)

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class Operations:
    """Invokes paired with completions: one row per logical operation."""

    invoke: np.ndarray      # position of the invoke
    complete: np.ndarray    # position of the completion, -1 if none
    status: np.ndarray      # T_OK, T_FAIL or T_INFO (no completion -> T_INFO)
    process: np.ndarray
    f: np.ndarray
    key: np.ndarray
    invoke_value: np.ndarray
    complete_value: np.ndarray
    invoke_time: np.ndarray
    complete_time: np.ndarray

    def __len__(self) -> int:
        return int(self.invoke.shape[0])


@dataclass
class Columnar:
    index: np.ndarray
    time: np.ndarray
    process: np.ndarray
    type: np.ndarray
    f: np.ndarray
    key: np.ndarray
    value: np.ndarray
    pair: np.ndarray
    f_names: list[str]
    keys: list[Any]
    values: list[Any]
    process_names: dict[int, str] = field(default_factory=dict)
    _f_codes: dict[str, int] = field(default_factory=dict, repr=False)
    _values: Interner | None = field(default=None, repr=False)
    _keys: Interner | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def f_code(self, name: str) -> int:
        """Code of ``name`` in ``f``, or -1 if the history never uses it."""
        return self._f_codes.get(name, -1)

    def value_code(self, v: Any) -> int:
        return self._values.lookup(v) if self._values is not None else -1

    def key_code(self, k: Any) -> int:
        return self._keys.lookup(k) if self._keys is not None else -1

    def operations(self, *, clients_only: bool = True) -> Operations:
        inv = np.flatnonzero(self.type == T_INVOKE)
        if clients_only:
            inv = inv[self.process[inv] >= 0]
        comp = self.pair[inv]
        has = comp >= 0
        safe = np.where(has, comp, 0)
        status = np.where(has, self.type[safe], T_INFO).astype(np.int8)
        return Operations(
            invoke=inv,
            complete=comp,
            status=status,
            process=self.process[inv],
            f=self.f[inv],
            key=self.key[inv],
            invoke_value=self.value[inv],
            complete_value=np.where(has, self.value[safe], 0),
            invoke_time=self.time[inv],
            complete_time=np.where(has, self.time[safe], -1),
        )


def build_columnar(ops: Sequence[Op]) -> Columnar:
    n = len(ops)
    index = np.empty(n, np.int64)
    time = np.empty(n, np.int64)
    process = np.empty(n, np.int64)
    typ = np.empty(n, np.int8)
    fcol = np.empty(n, np.int32)
    key = np.empty(n, np.int64)
    value = np.empty(n, np.int64)
    pair = np.full(n, -1, np.int64)

    values = Interner(none_first=True)
    keys = Interner(none_first=False)
    f_codes: dict[str, int] = {}
    f_names: list[str] = []
    named: dict[str, int] = {NEMESIS: -1}
    open_inv: dict[int, int] = {}
    type_code = TYPE_CODE
    vcode = values.code
    kcode = keys.code

    for i, op in enumerate(ops):
        index[i] = op.index
        time[i] = -1 if op.time is None else op.time
        p = op.process
        if type(p) is not int:
            pc = named.get(p)
            if pc is None:
                pc = -len(named) - 1
                named[p] = pc
            p = pc
        process[i] = p
        t = type_code[op.type]
        typ[i] = t
        fc = f_codes.get(op.f)
        if fc is None:
            fc = len(f_names)
            f_codes[op.f] = fc
            f_names.append(op.f)
        fcol[i] = fc
        k = op.key
        key[i] = -1 if k is None else kcode(k)
        v = op.value
        value[i] = 0 if v is None else vcode(v)
        if t == 0:
            open_inv[p] = i
        else:
            j = open_inv.pop(p, -1)
            if j >= 0:
                pair[i] = j
                pair[j] = i

    return Columnar(index=index, time=time, process=process, type=typ, f=fcol, key=key,
                    value=value, pair=pair, f_names=f_names, keys=keys.items,
                    values=values.items,
                    process_names={c: name for name, c in named.items()},
                    _f_codes=f_codes, _values=values, _keys=keys)
