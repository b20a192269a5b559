"""From a history to the node arrays the causal kernels work on.

Semantics (Jepsen's, for register read/write histories):
- ``fail`` ops did not happen and are dropped;
- an ``info`` (or never completed) read returned nothing we know: dropped;
- an ``info`` write may or may not have happened.  When some read returned
  its value it happened and is kept; otherwise it is dropped, which is
  sound and complete: a write nobody read only adds constraints, and
  "never happened" is one of its allowed outcomes;
- each value is written at most once per key, so a read names the write it
  read from; a read of the initial value (``init``, default None) reads
  from "init".  Anything else is rejected with a one-line error.

Nodes are numbered session-major — all ops of session 0 in session order,
then session 1, ... — so that a session is a contiguous id range.  A
session is a client process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from checkers.history import T_FAIL, T_INFO, T_OK, History, HistoryError

WRITE, READ = 0, 1
SRC_INIT, SRC_NONE = -1, -2


@dataclass
class Prepared:
    n: int
    nchain: int
    chain: np.ndarray      # session index per node (int64)
    pos: np.ndarray        # position within the session (int64)
    start: np.ndarray      # first node id of each session, length nchain + 1
    kind: np.ndarray       # WRITE / READ (int8)
    key: np.ndarray        # dense key index (int64)
    src: np.ndarray        # reads: write node read, SRC_INIT or SRC_NONE; writes: -1
    row: np.ndarray        # row into history.columnar().operations() per node
    processes: list[Any]   # process id per session
    nkeys: int
    dropped: dict[str, int] = field(default_factory=dict)


def _where(history: History, position: int) -> tuple[str | None, int | None]:
    return history.source, history.line_of(position)


def _duplicate_write(history: History, ops, w_rows, w_key, w_val) -> None:
    """Raise for the first value (by key, value) written twice."""
    order = np.lexsort((w_rows, w_val, w_key))
    sk, sv = w_key[order], w_val[order]
    dup = np.flatnonzero((sk[1:] == sk[:-1]) & (sv[1:] == sv[:-1]))
    a = int(ops.invoke[w_rows[order[dup[0]]]])
    b = int(ops.invoke[w_rows[order[dup[0] + 1]]])
    file, line = _where(history, b)
    raise HistoryError(
        f"value {history.ops[b].value!r} is written twice to key {history.ops[b].key!r} "
        f"(ops {history.ops[a].index} and {history.ops[b].index}); the causal checker "
        f"needs each value written at most once per key", file=file, line=line)


def prepare(history: History, init: Any = None) -> Prepared:
    col = history.columnar()
    ops = col.operations()
    m = len(ops)
    fw, fr = col.f_code("write"), col.f_code("read")
    other = np.flatnonzero((ops.f != fw) & (ops.f != fr))
    if other.size:
        p = int(ops.invoke[other[0]])
        file, line = _where(history, p)
        raise HistoryError(
            f"causal checker reads register histories: op {history.ops[p].index} has "
            f"f={col.f_names[ops.f[other[0]]]!r}, expected 'read' or 'write'", file=file, line=line)

    status = ops.status
    is_w = (ops.f == fw) & (status != T_FAIL)
    is_r = (ops.f == fr) & (status == T_OK)
    init_code = 0 if init is None else col.value_code(init)  # -1: nobody mentions init

    w_rows = np.flatnonzero(is_w)
    w_key = ops.key[w_rows]
    w_val = ops.invoke_value[w_rows]
    bad = np.flatnonzero(w_val == init_code)
    if bad.size:
        p = int(ops.invoke[w_rows[bad[0]]])
        file, line = _where(history, p)
        raise HistoryError(
            f"write {history.ops[p].index} writes the initial value {init!r} to key "
            f"{history.ops[p].key!r}; the causal checker needs every written value to differ "
            f"from the initial one (pass the right init)", file=file, line=line)
    r_rows = np.flatnonzero(is_r)
    r_key = ops.key[r_rows]
    r_val = ops.complete_value[r_rows]
    # Which write (row) each read returned, by (key, value) code pairs.
    vmax = int(max(int(ops.invoke_value.max(initial=0)), int(ops.complete_value.max(initial=0)))) + 2
    kmin = int(min(int(ops.key.min(initial=0)), 0))
    w_comb = (w_key - kmin) * vmax + w_val
    r_comb = (r_key - kmin) * vmax + r_val
    size = (int(ops.key.max(initial=0)) - kmin + 1) * vmax
    if size <= 4 * m + 1024:
        # Codes are dense (interned): a direct table, no sort, no search.
        slot = np.full(size, -1, np.int64)
        slot[w_comb] = w_rows
        if not np.array_equal(slot[w_comb], w_rows):
            _duplicate_write(history, ops, w_rows, w_key, w_val)
        r_src_row = slot[r_comb]
    else:
        worder = np.argsort(w_comb, kind="stable")
        wc_sorted = w_comb[worder]
        if np.any(wc_sorted[1:] == wc_sorted[:-1]):
            _duplicate_write(history, ops, w_rows, w_key, w_val)
        at = np.searchsorted(wc_sorted, r_comb)
        at_c = np.minimum(at, max(len(wc_sorted) - 1, 0))
        found = ((at < len(wc_sorted)) & (wc_sorted[at_c] == r_comb) if len(wc_sorted)
                 else np.zeros(len(r_rows), bool))
        r_src_row = np.where(found, w_rows[worder[at_c]] if len(wc_sorted) else -1, -1)
    is_init = r_val == init_code
    r_src_row = np.where(is_init, -1, r_src_row)

    # Keep info writes only when read.
    read_rows = np.zeros(m, bool)
    read_rows[r_src_row[r_src_row >= 0]] = True
    w_keep = (status[w_rows] == T_OK) | read_rows[w_rows]
    dropped = {
        "fail": int(np.count_nonzero(status == T_FAIL)),
        "info_reads": int(np.count_nonzero((ops.f == fr) & (status == T_INFO))),
        "unread_info_writes": int(np.count_nonzero(~w_keep)),
    }
    keep_rows = np.concatenate([w_rows[w_keep], r_rows])
    kinds = np.concatenate([np.zeros(int(w_keep.sum()), np.int8), np.ones(len(r_rows), np.int8)])
    proc = ops.process[keep_rows]
    inv = ops.invoke[keep_rows]
    # session-major, each session in invoke order (processes of client ops are >= 0)
    order = np.argsort(proc * (int(inv.max(initial=0)) + 1) + inv)
    keep_rows, kinds, proc = keep_rows[order], kinds[order], proc[order]
    n = len(keep_rows)
    first = np.flatnonzero(np.concatenate(([True], proc[1:] != proc[:-1]))) if n else \
        np.empty(0, np.int64)
    uproc = proc[first]
    start = np.append(first, n).astype(np.int64)
    chain = np.repeat(np.arange(len(first), dtype=np.int64), np.diff(start))
    pos = np.arange(n, dtype=np.int64) - start[chain]
    # dense key codes: the columnar codes in use, renumbered in order
    kc = ops.key[keep_rows]
    klo = int(kc.min(initial=0))
    used = np.zeros(int(kc.max(initial=0)) - klo + 1, bool)
    used[kc - klo] = True
    key = (np.cumsum(used) - 1)[kc - klo]
    ukeys = np.flatnonzero(used)
    node_of_row = np.full(m, -1, np.int64)
    node_of_row[keep_rows] = np.arange(n, dtype=np.int64)
    src = np.full(n, -1, np.int64)
    rnode = node_of_row[r_rows]
    src[rnode] = np.where(is_init, SRC_INIT, np.where(r_src_row >= 0, node_of_row[np.maximum(r_src_row, 0)], SRC_NONE))
    return Prepared(n=n, nchain=len(uproc), chain=chain, pos=pos, start=start, kind=kinds,
                    key=key.astype(np.int64), src=src, row=keep_rows.astype(np.int64),
                    processes=[int(p) for p in uproc], nkeys=len(ukeys), dropped=dropped)
