"""Loading a large JSON Lines history straight into columns.

Lines of the writer's own shape are read by the compiled scanner
(jsonl_scan) without a Python object per op; every other line — a nemesis
event with a map value, a txn, a foreign field, a bad line — is decoded and
judged by the ordinary per-record code, so rules, warnings and error
messages are those of ``read_jsonl_records`` and ``build_columnar_from_records``.
Values and keys are interned in order of first occurrence across both kinds
of line, exactly as the per-record build numbers them.

The decoded records are not kept: :class:`LineRecords` decodes a line again
when someone asks for an op (a report reading one op's ``error``, say).
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

from .columnar import Columnar, Interner, _careful_columnar, _fast_columnar, _pair
from .history import gc_paused
from .jsonl_scan import K_INT, K_PAIR, K_STR, intern_int_pairs, intern_slices, scan_lines
from .op import HistoryError
from .values import ValueTooDeep, intern_key


class LineRecords(Sequence):
    """The records of a history, decoded from its bytes one line at a time."""

    def __init__(self, data: bytes, starts: np.ndarray, ends: np.ndarray,
                 loads: Callable[[bytes], Any]):
        self._data, self._starts, self._ends, self._loads = data, starts, ends, loads

    def __len__(self) -> int:
        return int(self._starts.shape[0])

    def __getitem__(self, pos: int) -> dict:  # type: ignore[override]
        return self._loads(self._data[int(self._starts[pos]):int(self._ends[pos])])

    def __iter__(self):
        for s, e in zip(self._starts.tolist(), self._ends.tolist()):
            yield self._loads(self._data[s:e])


def load_columns(data: bytes, source: str | None, warnings: list[str],
                 decode_line: Callable[[bytes, int, bool], dict | None],
                 loads: Callable[[bytes], Any]) -> tuple[Columnar, LineRecords, np.ndarray]:
    """The columnar view, the records (decoded on demand) and the 1-based line
    number of each op.  ``decode_line(line, line_number, may_be_torn)`` is the
    ordinary decoder of one line: a record, None to skip it, or HistoryError."""
    buf = np.frombuffer(data, np.uint8)
    nl = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], nl + 1)).astype(np.int64)
    ends = np.concatenate((nl, [len(data)])).astype(np.int64)
    torn_candidate = True
    if starts[-1] == len(data):  # the file ends with a newline: the last line is whole
        starts, ends, torn_candidate = starts[:-1], ends[:-1], False
    scan = list(scan_lines(buf, starts, ends))
    accepted = scan[0]
    rejected = np.flatnonzero(~accepted)
    m = len(starts)

    keep = accepted.copy()
    rec_lines: list[int] = []
    records: list[dict] = []
    with gc_paused():
        for j in rejected.tolist():
            rec = decode_line(data[starts[j]:ends[j]], j + 1, j == m - 1 and torn_candidate)
            if rec is not None:
                keep[j] = True
                records.append(rec)
                rec_lines.append(j + 1)
    kept = np.flatnonzero(keep)
    n = kept.shape[0]
    all_kept = n == m
    pos_of_line = np.cumsum(keep) - 1
    del keep
    acc_rows = np.flatnonzero(accepted)          # line indices read by the scanner
    acc_pos = acc_rows if all_kept else pos_of_line[acc_rows]  # their positions
    rej_pos = pos_of_line[np.array(rec_lines, np.int64) - 1] if records else \
        np.zeros(0, np.int64)
    del pos_of_line, accepted
    sub = _subset_columnar(records, rec_lines, rej_pos, source)
    del records

    def column(at: int, sub_col: np.ndarray | None) -> np.ndarray:
        """A scanned column in history positions (the scanner's own array when no
        line was skipped), the ordinary rows filled in; frees the scanned one."""
        arr = scan[at] if all_kept else scan[at][kept]
        scan[at] = None
        if sub_col is not None:
            arr[rej_pos] = sub_col
        return arr

    scan[3] = None  # time_null: the time column already holds -1 for null
    col_index = column(1, sub.index if sub is not None else None)
    col_time = column(2, sub.time if sub is not None else None)
    col_proc = column(4, sub.process if sub is not None else None)
    col_type = column(5, sub.type if sub is not None else None)

    merge = _Merge(data, buf, acc_rows, acc_pos, rej_pos, n)
    f_names_i, f_codes = merge.strings_only(scan[6], scan[7], sub.f if sub is not None else None,
                                            sub.f_names if sub is not None else [])
    scan[6] = scan[7] = None
    f_names = f_names_i.items
    keys, key_col = merge.values(scan[8], scan[9], None, scan[10], scan[11],
                                 sub.key if sub is not None else None,
                                 sub.keys if sub is not None else [], none_first=False)
    scan[8:12] = [None] * 4
    values, value_col = merge.values(scan[12], scan[13], scan[14], scan[15], scan[16],
                                     sub.value if sub is not None else None,
                                     sub.values if sub is not None else [], none_first=True)
    del scan, merge, sub
    lines = kept + 1
    col = Columnar(index=col_index, time=col_time, process=col_proc, type=col_type,
                   f=f_codes.astype(np.int32), key=key_col, value=value_col,
                   pair=_pair(col_proc, col_type), f_names=f_names, keys=keys.items,
                   values=values.items, process_names={-1: "nemesis"},
                   _f_codes={name: c for c, name in enumerate(f_names)},
                   _values=values, _keys=keys, lines=lines, source=source)
    records_view = LineRecords(data, starts if all_kept else starts[kept],
                               ends if all_kept else ends[kept], loads)
    _return_freed_memory()
    return col, records_view, lines


def _return_freed_memory() -> None:
    """Hand the scanner's freed work arrays back to the OS.  numba allocates
    them with malloc; glibc keeps freed blocks below its (self-raising) mmap
    threshold in the heap, so without this the checker's arrays would stack
    on ~400 MiB the loader no longer uses (the 1 GiB budget of issue 17)."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


def _subset_columnar(records: list[dict], rec_lines: list[int], positions: np.ndarray,
                     source: str | None) -> Columnar | None:
    """The ordinary build of the lines the scanner left, each judged (and any
    error named) as the per-record loader does; an absent index is its
    position in the whole history."""
    if not records:
        return None
    with gc_paused():
        try:
            fast = _fast_columnar(records)
        except ValueTooDeep:
            fast = None
    if fast is not None:
        return fast
    return _careful_columnar(records, rec_lines, source, positions=positions.tolist())


class _Group:
    """The distinct items of one kind on scanner lines: ``codes`` numbers each
    row's item (0..), ``first`` the position where each item first occurs."""

    def __init__(self, codes: np.ndarray, pos: np.ndarray, items: list, first: np.ndarray,
                 find: Callable[[Any], int | None], ints: np.ndarray | None = None):
        self.codes, self.pos, self.items, self.first, self.find = codes, pos, items, first, find
        self.ints = ints  # the items as an int64 array, for an int group


def _dict_finder(keys: Callable[[], list]) -> Callable[[Any], int | None]:
    table: dict[Any, int] = {}

    def find(k: Any) -> int | None:
        if not table:
            table.update((x, i) for i, x in enumerate(keys()))
        return table.get(k)
    return find


class _Merge:
    """Interns one column's strings/ints/pairs (scanner rows) together with the
    ordinary build's items (other rows), numbered by first occurrence."""

    def __init__(self, data: bytes, buf: np.ndarray, acc_rows: np.ndarray, acc_pos: np.ndarray,
                 rej_pos: np.ndarray, n: int):
        self.data, self.buf, self.rows, self.pos, self.rej_pos, self.n = \
            data, buf, acc_rows, acc_pos, rej_pos, n

    def _strings(self, s: np.ndarray, e: np.ndarray, pos: np.ndarray) -> _Group:
        codes, first = intern_slices(self.buf, s, e)
        data = self.data
        items = [data[a:b].decode("ascii") for a, b in zip(s[first].tolist(), e[first].tolist())]
        return _Group(codes, pos, items, pos[first], _dict_finder(lambda: items))

    def strings_only(self, s_all: np.ndarray, e_all: np.ndarray,
                     sub_codes: np.ndarray | None, sub_items: list) -> tuple[Interner, np.ndarray]:
        """The f column: on scanner rows always a string."""
        group = self._strings(s_all[self.rows], e_all[self.rows], self.pos)
        return self._finish([group], sub_codes, sub_items, none_first=False)

    def values(self, kind: np.ndarray, ints: np.ndarray, pair_b: np.ndarray | None,
               starts: np.ndarray, ends: np.ndarray, sub_codes: np.ndarray | None,
               sub_items: list, *, none_first: bool) -> tuple[Interner, np.ndarray]:
        """A key or value column, merged with the ordinary rows' codes."""
        kind = kind[self.rows]
        groups = []
        m = kind == K_INT
        if m.any():
            pos = self.pos[m]
            v = ints[self.rows][m]
            codes, first = intern_int_pairs(v, v)
            uniq = v[first]
            items = uniq.tolist()
            groups.append(_Group(codes, pos, items, pos[first], _dict_finder(lambda: items),
                                 ints=uniq))
        m = kind == K_STR
        if m.any():
            groups.append(self._strings(starts[self.rows][m], ends[self.rows][m], self.pos[m]))
        m = kind == K_PAIR
        if m.any() and pair_b is not None:
            pos = self.pos[m]
            x, y = ints[self.rows][m], pair_b[self.rows][m]
            codes, first = intern_int_pairs(x, y)
            pairs = [list(p) for p in zip(x[first].tolist(), y[first].tolist())]
            groups.append(_Group(codes, pos, pairs, pos[first],
                                 _dict_finder(lambda: [("l", *p) for p in pairs])))
        return self._finish(groups, sub_codes, sub_items, none_first=none_first)

    def _finish(self, groups: list[_Group], sub_codes: np.ndarray | None, sub_items: list, *,
                none_first: bool) -> tuple[Interner, np.ndarray]:
        """Number every distinct item by its first position; fill the column."""
        offset = 1 if none_first else 0  # code 0 is None in a value column
        col = np.full(self.n, 0 if none_first else -1, np.int64)
        bases, base = [], 0
        for g in groups:
            bases.append(base)
            base += len(g.items)
        firsts = [g.first.astype(np.int64) for g in groups]
        extra_items: list[Any] = []
        extra_first: list[int] = []
        sub_map = None
        if sub_codes is not None and len(sub_codes):
            # an ordinary row's item equal (by intern key) to a scanner item is that item
            sub_map = np.full(len(sub_items), -1, np.int64)
            order = np.argsort(sub_codes, kind="stable")
            sc = sub_codes[order]
            used = np.unique(sc[sc >= offset])
            for c, at in zip(used.tolist(), np.searchsorted(sc, used).tolist()):
                fp = int(self.rej_pos[order[at]])
                k = intern_key(sub_items[c])
                for gi, g in enumerate(groups):
                    j = g.find(k)
                    if j is not None:
                        firsts[gi][j] = min(int(firsts[gi][j]), fp)
                        sub_map[c] = bases[gi] + j
                        break
                else:
                    sub_map[c] = base + len(extra_items)
                    extra_items.append(sub_items[c])
                    extra_first.append(fp)
        first = np.concatenate(firsts + [np.array(extra_first, np.int64)])
        order = np.argsort(first, kind="stable")
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order), dtype=np.int64) + offset
        for gi, g in enumerate(groups):
            col[g.pos] = rank[bases[gi] + g.codes]
        if sub_map is not None:
            m = sub_codes >= offset
            col[self.rej_pos[m]] = rank[sub_map[sub_codes[m]]]
        every = [x for g in groups for x in g.items] + extra_items
        items = [every[i] for i in order.tolist()]
        ints, int_codes = None, None
        if not any(type(x) is int for x in extra_items):
            # every int item is in the int group (if any): hand its codes over
            ints, int_codes = np.zeros(0, np.int64), np.zeros(0, np.int64)
            for gi, g in enumerate(groups):
                if g.ints is not None:
                    ints = g.ints
                    int_codes = rank[bases[gi] + np.arange(len(g.items), dtype=np.int64)]
        return Interner.from_items(([None] if none_first else []) + items, ints,
                                   int_codes), col
