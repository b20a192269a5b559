"""A columnar, numpy-backed view of a history for the numba checkers.

Built in one pass over the ops.  Every column is a flat int array indexed by
*position* in the history (not by the op's ``index`` field, which a foreign
history may number sparsely):

====================  =====================================================
``index``             the op's own index
``time``              ns since test start, ``-1`` where unknown
``process``           client process id (>= 0); the nemesis is ``-1``
                      (see ``process_names``)
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

from operator import itemgetter
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .op import I64_MAX, I64_MIN, NEMESIS, TYPE_CODE, HistoryError, Op
from .values import EdnSet, ValueTooDeep, intern_key

__all__ = ["Columnar", "EdnSet", "Interner", "Operations", "build_columnar", "intern_key"]

T_INVOKE, T_OK, T_FAIL, T_INFO = 0, 1, 2, 3


class Interner:
    """Maps values to dense int codes; ``code(None) == 0`` when ``none_first``."""

    def __init__(self, none_first: bool = True):
        self._table: dict[Any, int] | None = {}
        self.items: list[Any] = []
        if none_first:
            self.code(None)

    @classmethod
    def from_items(cls, items: list[Any], int_items: np.ndarray | None = None,
                   int_item_codes: np.ndarray | None = None) -> "Interner":
        """An interner whose codes are ``items``' positions (distinct by intern
        key); its lookup table is built only if someone looks a value up.
        ``int_items``/``int_item_codes``: every plain-int item and its code,
        when the caller has them as arrays (for :meth:`int_codes`)."""
        self = cls.__new__(cls)
        self.items = items
        self._table = None
        if int_items is not None and int_item_codes is not None:
            order = np.argsort(int_items, kind="stable")
            self._ints = (int_items[order], int_item_codes[order])
        return self

    def int_codes(self, xs: np.ndarray) -> np.ndarray:
        """Codes of the ints ``xs`` (int64), -1 where an int was never interned:
        a million lookups without a Python dict of a million entries."""
        ints = getattr(self, "_ints", None)
        if ints is None:
            pairs = [(v, c) for c, v in enumerate(self.items)
                     if type(v) is int and I64_MIN <= v <= I64_MAX]
            vals = np.array([v for v, _ in pairs], np.int64)
            codes = np.array([c for _, c in pairs], np.int64)
            order = np.argsort(vals, kind="stable")
            ints = self._ints = (vals[order], codes[order])
        vals, codes = ints
        if vals.shape[0] == 0:
            return np.full(xs.shape[0], -1, np.int64)
        at = np.minimum(np.searchsorted(vals, xs), vals.shape[0] - 1)
        return np.where(vals[at] == xs, codes[at], -1)

    @property
    def _codes(self) -> dict[Any, int]:
        if self._table is None:
            self._table = {intern_key(v): c for c, v in enumerate(self.items)}
        return self._table

    def code(self, v: Any) -> int:
        k = intern_key(v)
        c = self._codes.get(k)
        if c is None:
            c = len(self.items)
            self._codes[k] = c
            self.items.append(v)
            self.__dict__.pop("_ints", None)  # int_codes' table no longer has every int
        return c

    def lookup(self, v: Any) -> int:
        """The code of ``v``, or -1 when it was never interned."""
        if v is None and self._table is None and self.items and self.items[0] is None:
            return 0  # the usual init: no need to build the table for it
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
    lines: np.ndarray | None = field(default=None, repr=False)  # source line per position
    source: str | None = None

    def where(self, position: int) -> str:
        """``file:line`` of the op at ``position`` (what a person can open)."""
        line = int(self.lines[position]) if self.lines is not None else None
        if line is None:
            return f"{self.source}: op #{position}" if self.source else f"op #{position}"
        return f"{self.source}:{line}" if self.source else f"line {line}"

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


def build_columnar(ops: Sequence[Op], lines: Sequence[int] | None = None,
                   source: str | None = None) -> Columnar:
    """The columnar view of Op objects (EDN imports, histories built in memory)."""
    records = [{"index": o.index, "time": o.time, "process": o.process, "type": o.type,
                "f": o.f, "key": o.key, "value": o.value} for o in ops]
    return build_columnar_from_records(records, lines, source)


def build_columnar_from_records(records: Sequence[dict], lines: Sequence[int] | None = None,
                                source: str | None = None) -> Columnar:
    """The columnar view straight from decoded JSON records, validating each
    record's fields on the way (a bad one raises HistoryError naming its line).

    This loop is the hot path of loading a million-op history, hence the
    inlined interning and the absence of helper calls per op."""
    from .history import gc_paused

    with gc_paused():
        try:
            fast = _fast_columnar(records)
        except ValueTooDeep:
            fast = None  # the careful loop names the line
    if fast is not None:
        fast.lines, fast.source = _lines_array(lines, len(records)), source
        return fast
    return _careful_columnar(records, lines, source)


def _careful_columnar(records: Sequence[dict], lines: Sequence[int] | None = None,
                      source: str | None = None, *,
                      positions: Sequence[int] | None = None) -> Columnar:
    """One op at a time, judging every unusual record with op_from_mapping.
    ``positions``: each record's position in the history (its index when it
    states none), when ``records`` are only some of the history's."""
    from .history import gc_paused, op_from_mapping

    n = len(records)

    index = [0] * n
    time = [0] * n
    process = [0] * n
    typ = [0] * n
    fcol = [0] * n
    key = [0] * n
    value = [0] * n  # 0 is None's code, so a None value needs no store
    pair = [-1] * n

    values = Interner(none_first=True)
    keys = Interner(none_first=False)
    f_codes: dict[str, int] = {}
    f_names: list[str] = []
    named = {NEMESIS: -1}
    open_inv: dict[int, int] = {}
    type_code = TYPE_CODE
    vcode = values.code
    kcode = keys.code
    # Ints and strings are their own intern keys: look them up without a call.
    vdict = values._codes
    kdict = keys._codes

    i = 0
    with gc_paused():
        try:
            for i, r in enumerate(records):
                get = r.get
                at = i if positions is None else positions[i]
                ix = get("index", at)
                t_ns = get("time")
                p = get("process")
                ty = get("type")
                f = get("f")
                k = get("key")
                v = get("value")
                t = type_code.get(ty) if type(ty) is str else None
                if (t is None or type(ix) is not int or (t_ns is not None and type(t_ns) is not int)
                        or type(f) is not str or not f
                        or not ((type(p) is int and p >= 0) or p == NEMESIS)):
                    # Not the common shape: let the one careful parser judge it,
                    # which raises naming the field and line, or normalises it.
                    op = op_from_mapping(r, at, file=source, line=lines[i] if lines else None)
                    ix, t_ns, p, ty, f, k, v = op.index, op.time, op.process, op.type, op.f, \
                        op.key, op.value
                    t = type_code[ty]
                index[i] = ix
                time[i] = -1 if t_ns is None else t_ns
                if type(p) is not int:
                    p = -1  # the nemesis: the only named process (op_from_mapping)
                process[i] = p
                typ[i] = t
                fc = f_codes.get(f)
                if fc is None:
                    fc = len(f_names)
                    f_codes[f] = fc
                    f_names.append(f)
                fcol[i] = fc
                if k is None:
                    key[i] = -1
                else:
                    c = kdict.get(k) if (type(k) is int or type(k) is str) else None
                    key[i] = kcode(k) if c is None else c
                if v is not None:
                    c = vdict.get(v) if (type(v) is int or type(v) is str) else None
                    value[i] = vcode(v) if c is None else c
                if t == 0:
                    open_inv[p] = i
                else:
                    j = open_inv.pop(p, -1)
                    if j >= 0:
                        pair[i] = j
                        pair[j] = i
        except ValueTooDeep as e:
            raise HistoryError(str(e), file=source, line=lines[i] if lines else None) from None

    try:
        arrays = [np.array(col, np.int64) for col in (index, time, process)]
    except OverflowError:
        _raise_first_bad(records, lines, source)
        raise
    return Columnar(index=arrays[0], time=arrays[1],
                    process=arrays[2], type=np.array(typ, np.int8),
                    f=np.array(fcol, np.int32), key=np.array(key, np.int64),
                    value=np.array(value, np.int64), pair=np.array(pair, np.int64),
                    f_names=f_names, keys=keys.items, values=values.items,
                    process_names={c: name for name, c in named.items()},
                    _f_codes=f_codes, _values=values, _keys=keys,
                    lines=_lines_array(lines, n), source=source)


def _raise_first_bad(records: Sequence[dict], lines: Sequence[int] | None,
                     source: str | None) -> None:
    """Raise the HistoryError op_from_mapping gives the first bad record."""
    from .history import op_from_mapping
    for i, r in enumerate(records):
        op_from_mapping(r, i, file=source, line=lines[i] if lines else None)


def _lines_array(lines: Sequence[int] | None, n: int) -> np.ndarray | None:
    if lines is None or len(lines) != n:
        return None
    return np.array(lines, np.int64)


_SIX = itemgetter("index", "time", "process", "type", "f", "value")
_NONE = type(None)


def _fast_columnar(records: Sequence[dict]) -> Columnar | None:
    """Column-at-a-time build for well-formed records (what our writer emits):
    C-level itemgetter/zip/map instead of a Python loop per op, validation by
    the set of types in each column, pairing with numpy.  Returns None when
    any record is unusual, so the careful per-op loop judges (and names) it."""
    n = len(records)
    if n == 0:
        return None
    try:
        rows = list(map(_SIX, records))
    except KeyError:
        return None
    index, time, process, types, fs, vals = zip(*rows)
    del rows
    if set(map(type, index)) != {int}:
        return None
    ttypes = set(map(type, time))
    if not ttypes <= {int, _NONE}:
        return None
    ptypes = set(map(type, process))
    if not ptypes <= {int, str}:
        return None
    if str in ptypes and any(type(p) is str and p != NEMESIS for p in process):
        return None  # the careful loop names the line of the bad process
    try:
        tcol = list(map(TYPE_CODE.__getitem__, types))
    except (KeyError, TypeError):
        return None
    f_order = list(dict.fromkeys(fs))
    if any(type(f) is not str or not f for f in f_order):
        return None
    f_codes = {f: c for c, f in enumerate(f_order)}
    fcol = list(map(f_codes.__getitem__, fs))
    if _NONE in ttypes:
        time = [-1 if t is None else t for t in time]
    named = {NEMESIS: -1}
    if str in ptypes:
        # every int must be >= 0: checked below, before the nemesis becomes -1
        if min((p for p in process if type(p) is int), default=0) < 0:
            return None
        process = [p if type(p) is int else -1 for p in process]
    try:
        proc = np.array(process, np.int64)
        index_col = np.array(index, np.int64)
        time_col = np.array(time, np.int64)
    except OverflowError:
        return None  # wider than 64 bits: the careful loop names the line
    if str not in ptypes and n and proc.min() < 0:
        return None

    values = Interner(none_first=True)
    keys = Interner(none_first=False)
    vcol = _intern_column(vals, values, 0)
    kcol = _intern_column([r.get("key") for r in records], keys, -1)

    typ = np.array(tcol, np.int8)
    return Columnar(index=index_col, time=time_col,
                    process=proc, type=typ, f=np.array(fcol, np.int32),
                    key=np.array(kcol, np.int64), value=np.array(vcol, np.int64),
                    pair=_pair(proc, typ), f_names=f_order, keys=keys.items,
                    values=values.items,
                    process_names={c: name for name, c in named.items()},
                    _f_codes=f_codes, _values=values, _keys=keys)


def _intern_column(col: Sequence[Any], interner: Interner, none_code: int) -> list[int]:
    out = [none_code] * len(col)
    get = interner._codes.get
    code = interner.code
    for i, v in enumerate(col):
        if v is None:
            continue
        c = get(v) if (type(v) is int or type(v) is str) else None
        out[i] = code(v) if c is None else c
    return out


def _pair(process: np.ndarray, typ: np.ndarray) -> np.ndarray:
    """Invoke <-> completion positions, exactly as the per-op loop pairs them:
    a completion pairs with the op just before it *of the same process* when
    that op is an invoke.  (Two invokes in a row: the later one is paired;
    a bare completion: unpaired — validation reports both.)"""
    n = process.shape[0]
    pair = np.full(n, -1, np.int64)
    order = np.argsort(process, kind="stable")
    prev, cur = order[:-1], order[1:]
    hit = (process[prev] == process[cur]) & (typ[prev] == 0) & (typ[cur] != 0)
    pair[cur[hit]] = prev[hit]
    pair[prev[hit]] = cur[hit]
    return pair
