"""Transactions out of a history, as flat arrays the kernels can walk.

A transaction is a client op with ``f: "txn"`` whose value is a list of
micro-ops ``[f, key, value]``: ``["append", k, v]``, ``["w", k, v]`` or
``["r", k, read]``.  The micro-ops we judge come from the completion for an
``ok`` transaction (its reads carry what was read) and from the invoke for
``fail`` and ``info`` ones (nobody saw what they read).  Keys and values are
integers or strings; each distinct one gets a dense id (``keys``/``values``)
so that 1 and "1" stay apart.

Bad input raises :class:`HistoryError` naming the line and the micro-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from checkers.history import History, HistoryError
from checkers.history.history import gc_paused

S_OK, S_FAIL, S_INFO = 1, 2, 3
K_APPEND, K_READ, K_WRITE = 0, 1, 2
_KIND = {"append": K_APPEND, "r": K_READ, "w": K_WRITE}
_STATUS = {"ok": S_OK, "fail": S_FAIL, "info": S_INFO}
_KEYISH = frozenset((int, str))


@dataclass
class Txns:
    """``n`` transactions in invoke order and their micro-ops (CSR by ``mop_start``).

    ``inv_pos``/``comp_pos`` are history positions (``comp_pos`` is -1 when the
    op never completed); ``op_index`` is the history index a person sees (the
    completion's, else the invoke's).  A read's result is ``read_start``/
    ``read_len`` into ``read_vals`` (list-append) or the value id in ``mop_val``
    (rw-register, -1 for nil); ``read_len`` is -1 when the read's result is unknown.
    """

    n: int
    status: np.ndarray
    process: np.ndarray
    inv_pos: np.ndarray
    comp_pos: np.ndarray
    op_index: np.ndarray
    time: np.ndarray        # ns of that op, -1 when unknown
    mop_start: np.ndarray
    mop_txn: np.ndarray
    mop_kind: np.ndarray
    mop_key: np.ndarray
    mop_val: np.ndarray
    read_start: np.ndarray
    read_len: np.ndarray
    read_vals: np.ndarray
    keys: list[Any]
    values: list[Any]
    raw: list[Any]          # the micro-op list each transaction was read from
    lines: list[int | None]
    ignored: int            # client ops that are not transactions

    def describe(self, t: int) -> dict[str, Any]:
        return {"line": self.lines[t], "process": int(self.process[t]),
                "type": {S_OK: "ok", S_FAIL: "fail", S_INFO: "info"}[int(self.status[t])],
                "value": self.raw[t], "index": int(self.op_index[t]),
                "time": None if self.time[t] < 0 else int(self.time[t])}


def _rows(history: History) -> tuple[list[tuple[int, int, int, int, Any, Any]], int]:
    """(invoke position, completion position, status, process, invoke value,
    completion value) of every client txn op, in invoke order."""
    col = getattr(history, "_columnar", None)  # built at load time for JSONL: reuse, never build
    rows = []
    if col is not None:
        ops = col.operations()
        fc = col.f_code("txn")
        sel = np.flatnonzero(ops.f == fc) if fc >= 0 else np.empty(0, np.int64)
        vals = col.values
        inv, comp, st, pr = ops.invoke[sel], ops.complete[sel], ops.status[sel], ops.process[sel]
        iv, cv = ops.invoke_value[sel], ops.complete_value[sel]
        rows = list(zip(inv.tolist(), comp.tolist(), st.tolist(), pr.tolist(),
                        map(vals.__getitem__, iv.tolist()), map(vals.__getitem__, cv.tolist())))
        ignored = int(len(ops) - len(sel))
        return rows, ignored
    open_: dict[Any, int] = {}
    ops_ = history.ops
    slot: dict[int, int] = {}
    ignored = 0
    for pos, o in enumerate(ops_):
        if not isinstance(o.process, int) or isinstance(o.process, bool):
            continue
        if o.type == "invoke":
            if o.f != "txn":
                ignored += 1
                continue
            open_[o.process] = pos
            slot[pos] = len(rows)
            rows.append((pos, -1, S_INFO, o.process, o.value, None))
        elif o.f == "txn":
            inv = open_.pop(o.process, None)
            if inv is not None:
                i = slot.pop(inv)
                rows[i] = (inv, pos, _STATUS[o.type], o.process, ops_[inv].value, o.value)
    return rows, ignored


def read_txns(history: History, *, reads_are_lists: bool) -> Txns:
    """Every transaction of ``history``; ``reads_are_lists`` for list-append
    (reads return lists), else reads return one value (rw-register)."""
    with gc_paused():   # millions of small objects, no cycles among them
        rows, ignored = _rows(history)
        txns = _fast(history, rows, ignored, reads_are_lists)
        if txns is None:
            txns = _careful(history, rows, ignored, reads_are_lists)
    return txns


def _careful(history: History, rows: list, ignored: int, reads_are_lists: bool) -> Txns:
    """One micro-op at a time, naming the first bad one (line and position)."""
    src = history.source
    keys: dict[Any, int] = {}
    key_list: list[Any] = []
    vids: dict[Any, int] = {}
    val_list: list[Any] = []
    n = len(rows)
    status = np.empty(n, np.int8)
    process = np.empty(n, np.int64)
    inv_pos = np.empty(n, np.int64)
    comp_pos = np.empty(n, np.int64)
    mop_start = np.zeros(n + 1, np.int64)
    m_txn: list[int] = []
    m_kind: list[int] = []
    m_key: list[int] = []
    m_val: list[int] = []
    r_start: list[int] = []
    r_len: list[int] = []
    flat: list[Any] = []
    raw: list[Any] = []
    line_of = history.line_of

    def bad(pos: int, msg: str) -> HistoryError:
        return HistoryError(msg, file=src, line=line_of(pos))

    def vid(v: Any, pos: int, what: str) -> int:
        t = type(v)
        if t is not int and t is not str:
            raise bad(pos, f"{what}: values must be integers or strings, got {v!r}")
        c = vids.get(v)
        if c is None:
            c = vids[v] = len(val_list)
            val_list.append(v)
        return c

    for t, (ip, cp, st, proc, iv, cv) in enumerate(rows):
        status[t], process[t], inv_pos[t], comp_pos[t] = st, proc, ip, cp
        use_pos = cp if st == S_OK else ip
        mops = cv if st == S_OK else iv
        problem = txn_problem(mops, iv, st == S_OK, reads_are_lists)
        if problem:
            raise bad(use_pos, problem)
        raw.append(mops)
        for j, mop in enumerate(mops):
            f, k, v = mop
            kind = _KIND[f]
            kc = keys.get(k)
            if kc is None:
                kc = keys[k] = len(key_list)
                key_list.append(k)
            m_txn.append(t)
            m_kind.append(kind)
            m_key.append(kc)
            if kind != K_READ:
                m_val.append(vid(v, use_pos, f"micro-op {j} {mop!r}"))
                r_start.append(0)
                r_len.append(-1)
            elif st != S_OK:
                m_val.append(-1)
                r_start.append(0)
                r_len.append(-1)
            elif reads_are_lists:
                if v is None:
                    v = []
                m_val.append(-1)
                r_start.append(len(flat))
                r_len.append(len(v))
                flat.extend(v)
            else:
                m_val.append(-1 if v is None else vid(v, use_pos, f"micro-op {j} {mop!r}"))
                r_start.append(0)
                r_len.append(1)
        mop_start[t + 1] = len(m_txn)
    if flat:
        get = vids.get
        codes = list(map(get, flat))
        if None in codes:
            codes = [c if c is not None else vid(x, 0, "read") for c, x in zip(codes, flat)]
        read_vals = np.array(codes, np.int64)
    else:
        read_vals = np.empty(0, np.int64)
    op_index, times = _op_index(history, inv_pos, comp_pos)
    lines = [line_of(int(c if c >= 0 else i)) for i, c in zip(inv_pos.tolist(), comp_pos.tolist())]
    return Txns(n=n, status=status, process=process, inv_pos=inv_pos, comp_pos=comp_pos,
                op_index=op_index, time=times, mop_start=mop_start,
                mop_txn=np.array(m_txn, np.int64), mop_kind=np.array(m_kind, np.int8),
                mop_key=np.array(m_key, np.int64), mop_val=np.array(m_val, np.int64),
                read_start=np.array(r_start, np.int64), read_len=np.array(r_len, np.int64),
                read_vals=read_vals, keys=key_list, values=val_list, raw=raw, lines=lines,
                ignored=ignored)


def txn_problem(mops: Any, invoke_mops: Any, ok: bool, reads_are_lists: bool | None) -> str | None:
    """What is wrong with one transaction's micro-ops, or None.  ``reads_are_lists``
    None accepts either workload (``validate`` does not know which it is)."""
    if type(mops) is not list:
        return f"a txn's value must be a list of micro-ops [f, key, value], got {mops!r}"
    if ok and (type(invoke_mops) is not list or len(invoke_mops) != len(mops)):
        return (f"the ok completion has {len(mops)} micro-ops but its invoke has "
                f"{len(invoke_mops) if type(invoke_mops) is list else invoke_mops!r}")
    for j, mop in enumerate(mops):
        if type(mop) is not list or len(mop) != 3:
            return f"micro-op {j} {mop!r}: expected [f, key, value] with f append, r or w"
        f, k, v = mop
        kind = _KIND.get(f) if type(f) is str else None
        if kind is None:
            return f"micro-op {j} {mop!r}: f must be append, r or w"
        if reads_are_lists is not None and (kind == K_APPEND and not reads_are_lists
                                            or kind == K_WRITE and reads_are_lists):
            return (f"micro-op {j} {mop!r}: {f!r} does not belong in a "
                    f"{'list-append' if reads_are_lists else 'rw-register'} history")
        if type(k) not in _KEYISH:
            return f"micro-op {j} {mop!r}: keys must be integers or strings"
        if kind != K_READ:
            if type(v) not in _KEYISH:
                return f"micro-op {j} {mop!r}: values must be integers or strings"
            if ok:
                im = invoke_mops[j]
                if type(im) is not list or len(im) != 3 or im[0] != f or im[1] != k or im[2] != v:
                    return f"micro-op {j} {mop!r} differs from its invoke's {im!r}"
        elif ok and v is not None:
            lists = reads_are_lists if reads_are_lists is not None else type(v) is list
            if lists and (type(v) is not list or not all(type(x) in _KEYISH for x in v)):
                return (f"micro-op {j} {mop!r}: a list-append read returns a list of integers "
                        f"or strings")
            if not lists and type(v) not in _KEYISH:
                return f"micro-op {j} {mop!r}: a register read returns an integer, a string or nil"
    return None


def txn_breaches(history: History, limit: int | None = None) -> list[tuple[int, str]]:
    """(position, message) for every malformed transaction (for ``validate``)."""
    out: list[tuple[int, str]] = []
    rows, _ = _rows(history)
    for ip, cp, st, _p, iv, cv in rows:
        for pos, mops, ok in ((ip, iv, False), (cp, cv, True) if st == S_OK else (-1, None, False)):
            if pos < 0:
                continue
            problem = txn_problem(mops, iv, ok, None)
            if problem:
                out.append((pos, problem))
                if limit is not None and len(out) >= limit:
                    return out
    return out


def _op_index(history: History, inv_pos: np.ndarray, comp_pos: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """History index and time (-1 unknown) of each transaction's completion
    (its invoke when it never completed)."""
    pos = np.where(comp_pos >= 0, comp_pos, inv_pos)
    col = getattr(history, "_columnar", None)
    if col is not None:
        return col.index[pos], col.time[pos]
    ops = history.ops
    return (np.array([ops[p].index for p in pos.tolist()], np.int64),
            np.array([-1 if ops[p].time is None else ops[p].time for p in pos.tolist()], np.int64))




def _fast(history: History, rows: list, ignored: int, reads_are_lists: bool) -> Txns | None:
    """The whole history a column at a time (C-level map/zip/chain); None
    when anything is unusual, and :func:`_careful` then names it."""
    n = len(rows)
    if n == 0:
        return None
    ip, cp, st, pr, iv, cv = zip(*rows)
    chosen = [c if s == S_OK else i for s, i, c in zip(st, iv, cv)]
    if set(map(type, chosen)) != {list}:
        return None
    lens = list(map(len, chosen))
    flat = list(chain.from_iterable(chosen))
    if not flat or set(map(type, flat)) != {list} or set(map(len, flat)) != {3}:
        return None
    fs, ks, vs = zip(*flat)
    kinds = list(map(_KIND.get, fs))
    kset = set(kinds)
    if None in kset or (K_WRITE if reads_are_lists else K_APPEND) in kset:
        return None
    if not set(map(type, ks)) <= _KEYISH:
        return None
    ok = [t for t in range(n) if st[t] == S_OK]
    if ok:
        ivs = [iv[t] for t in ok]
        if set(map(type, ivs)) != {list} or list(map(len, ivs)) != [lens[t] for t in ok]:
            return None
        inv_flat = list(chain.from_iterable(ivs))
        if set(map(type, inv_flat)) != {list} or set(map(len, inv_flat)) != {3}:
            return None
        ok_flat = list(chain.from_iterable(cv[t] for t in ok))
        # compared a column at a time: tuples per micro-op would cost ~100 B each
        for col in (0, 1):
            if [m[col] for m in inv_flat] != [m[col] for m in ok_flat]:
                return None
        if [m[2] for m in inv_flat if m[0] != "r"] != [m[2] for m in ok_flat if m[0] != "r"]:
            return None
        del inv_flat, ok_flat, ivs
    st_arr = np.array(st, np.int8)
    mop_status = np.repeat(st_arr, lens)
    kind_arr = np.array(kinds, np.int8)
    is_read = kind_arr == K_READ
    read_ok = is_read & (mop_status == S_OK)
    wv = [v for k, v in zip(kinds, vs) if k != K_READ]
    if wv and not set(map(type, wv)) <= _KEYISH:
        return None
    rsel = np.flatnonzero(read_ok).tolist()
    rvals = [vs[j] for j in rsel]
    m = len(flat)
    mop_val = np.full(m, -1, np.int64)
    read_start = np.zeros(m, np.int64)
    read_len = np.full(m, -1, np.int64)
    if reads_are_lists:
        rvals = [[] if v is None else v for v in rvals]
        if rvals and set(map(type, rvals)) != {list}:
            return None
        rl = np.array(list(map(len, rvals)), np.int64)
        etypes = set(map(type, chain.from_iterable(rvals)))
        if not etypes <= _KEYISH:
            return None
        wtypes = set(map(type, wv))
        if etypes | wtypes <= {int}:
            # all integers (the common case): intern with numpy, not a dict per element
            # ids: the written values sorted, then values only reads show (garbage);
            # read elements are looked up, never sorted (they outnumber writes ~10x)
            elems = np.fromiter(chain.from_iterable(rvals), np.int64, count=int(rl.sum()))
            w_arr = np.array(wv, np.int64)
            uniq = np.unique(w_arr)
            mop_val[~is_read] = np.searchsorted(uniq, w_arr)
            pos = np.searchsorted(uniq, elems)
            np.minimum(pos, max(len(uniq) - 1, 0), out=pos)
            found = uniq[pos] == elems if len(uniq) else np.zeros(len(elems), np.bool_)
            if found.all():
                values = uniq.tolist()
            else:
                extra = np.unique(elems[~found])
                pos[~found] = len(uniq) + np.searchsorted(extra, elems[~found])
                values = uniq.tolist() + extra.tolist()
            del elems, found
            read_vals = pos
        else:
            elem_list = list(chain.from_iterable(rvals))
            vids = dict.fromkeys(chain(wv, elem_list))
            for i, v in enumerate(vids):
                vids[v] = i
            values = list(vids)
            mop_val[~is_read] = np.array(list(map(vids.__getitem__, wv)), np.int64)
            read_vals = np.array(list(map(vids.__getitem__, elem_list)), np.int64)
        read_len[rsel] = rl
        read_start[rsel] = np.cumsum(rl) - rl
    else:
        elems = [v for v in rvals if v is not None]
        if elems and not set(map(type, elems)) <= _KEYISH:
            return None
        vids = dict.fromkeys(chain(wv, elems))
        for i, v in enumerate(vids):
            vids[v] = i
        values = list(vids)
        mop_val[~is_read] = np.array(list(map(vids.__getitem__, wv)), np.int64)
        read_len[rsel] = 1
        mop_val[rsel] = np.array([-1 if v is None else vids[v] for v in rvals], np.int64)
        read_vals = np.empty(0, np.int64)
    kids = dict.fromkeys(ks)
    for i, k in enumerate(kids):
        kids[k] = i
    mop_start = np.zeros(n + 1, np.int64)
    np.cumsum(lens, out=mop_start[1:])
    inv_pos = np.array(ip, np.int64)
    comp_pos = np.array(cp, np.int64)
    op_index, times = _op_index(history, inv_pos, comp_pos)
    line_of = history.line_of
    lines = [line_of(c if c >= 0 else i) for i, c in zip(ip, cp)]
    return Txns(n=n, status=st_arr, process=np.array(pr, np.int64), inv_pos=inv_pos,
                comp_pos=comp_pos, op_index=op_index, time=times, mop_start=mop_start,
                mop_txn=np.repeat(np.arange(n, dtype=np.int64), lens), mop_kind=kind_arr,
                mop_key=np.array(list(map(kids.__getitem__, ks)), np.int64), mop_val=mop_val,
                read_start=read_start, read_len=read_len, read_vals=read_vals,
                keys=list(kids), values=values, raw=chosen, lines=lines, ignored=ignored)
