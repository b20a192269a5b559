"""Evidence for list-append / rw-register results: the data, and sentences a
tester can follow without the theory (numbered transactions, one step per
edge, ending in the contradiction).  Shapes are in docs/evidence.md."""

from __future__ import annotations

from typing import Any

import numpy as np

from .cycles import CycleReport
from .graph import PROC, RT, RW, TYPE_NAMES, WR, WW, Edges
from .ops import K_APPEND, Txns

CYCLES_KEPT = 20      # instances of one cycle anomaly kept in evidence


class Witnesses:
    """(from node, to node, relation) -> (key, value, value') for the edges of
    reported cycles, looked up only among edges leaving those nodes."""

    def __init__(self, edges: Edges, nodes_of_interest: set[int]):
        self._w: dict[tuple[int, int, int], tuple[int, int, int]] = {}
        if not nodes_of_interest or len(edges.src) == 0:
            return
        sel = np.flatnonzero(np.isin(edges.src, np.fromiter(nodes_of_interest, np.int64)))
        for i in sel.tolist():
            k = (int(edges.src[i]), int(edges.dst[i]), int(edges.typ[i]))
            if k not in self._w:
                self._w[k] = (int(edges.key[i]), int(edges.val[i]), int(edges.val2[i]))

    def get(self, a: int, b: int, t: int) -> tuple[int, int, int]:
        return self._w.get((a, b, t), (-1, -1, -1))


def _show(x: Any) -> str:
    return "nil" if x is None else repr(x) if isinstance(x, str) else str(x)


def cycle_evidence(c: CycleReport, txns: Txns, nodes: np.ndarray, wit: Witnesses, *,
                   lists: bool) -> dict[str, Any]:
    """One cycle as ``cycle``, ``steps`` and an ``explanation``."""
    t_of = [int(nodes[v]) for v in c.verts]
    idx = [int(txns.op_index[t]) for t in t_of]
    label = {}
    for t in t_of:
        label.setdefault(t, f"T{len(label) + 1}")
    steps = []
    sentences = []
    for i, typ in enumerate(c.types):
        a, b = c.verts[i], c.verts[i + 1]
        ta, tb = t_of[i], t_of[i + 1]
        key_id, v1, v2 = wit.get(a, b, typ)
        key = txns.keys[key_id] if key_id >= 0 else None
        val = txns.values[v1] if v1 >= 0 else None
        val2 = txns.values[v2] if v2 >= 0 else None
        steps.append({"type": TYPE_NAMES[typ], "from": idx[i], "to": idx[i + 1], "key": key,
                      "value": val, "value'": val2})
        A, B = label[ta], label[tb]
        put = "appended" if lists else "wrote"
        if typ == WW:
            s = (f"{A} {put} {_show(val)} to key {_show(key)} and {B} {put} {_show(val2)} after it "
                 f"(ww: {_show(val)} precedes {_show(val2)} in the version order of key "
                 f"{_show(key)}), so {A} < {B}")
        elif typ == WR:
            s = (f"{B} read {_show(val)} from key {_show(key)}, which {A} {put} (wr), so {A} < {B}")
        elif typ == RW:
            seen = (f"a list ending in {_show(val)}" if lists and val is not None else
                    "an empty list" if lists else _show(val))
            s = (f"{A} read {seen} from key {_show(key)}, so it did not see {_show(val2)}, "
                 f"which {B} {put} next (rw), so {A} < {B}")
        elif typ == PROC:
            s = (f"{A} completed before {B} began on the same process "
                 f"{int(txns.process[ta])} (process order), so {A} < {B}")
        else:
            s = f"{A} completed before {B} was invoked (real time), so {A} < {B}"
        sentences.append(s)
    chain = " < ".join(label[t] for t in t_of)
    names = ", ".join(f"{label[t]} = op {int(txns.op_index[t])}" for t in dict.fromkeys(t_of))
    text = f"{names}. " + "; ".join(sentences) + f". So {chain}: a contradiction."
    return {"cycle": idx, "steps": steps, "explanation": text}


def row_evidence(kind: str, row: np.ndarray, txns: Txns, mop_raw) -> dict[str, Any]:
    """One non-cycle finding (a row from the inference kernel) as evidence."""
    _, r, j, k, v, other = (int(x) for x in row)
    key = txns.keys[k] if k >= 0 else None
    val = txns.values[v] if v >= 0 else None
    d: dict[str, Any] = {"op": int(txns.op_index[r]) if r >= 0 else None, "key": key}
    if j >= 0:
        d["mop"] = mop_raw(j)
    if kind == "G1a":
        d.update(value=val, writer=int(txns.op_index[other]),
                 explanation=f"op {d['op']} read {_show(val)} from key {_show(key)}, written by "
                             f"op {int(txns.op_index[other])}, which failed (aborted read)")
    elif kind == "G1b":
        d.update(value=val, writer=int(txns.op_index[other]),
                 explanation=f"op {d['op']} read {_show(val)} from key {_show(key)}, an "
                             f"intermediate value of op {int(txns.op_index[other])}, which wrote "
                             f"key {_show(key)} again afterwards (intermediate read)")
    elif kind == "garbage-read":
        d.update(value=val, explanation=f"op {d['op']} read {_show(val)} from key {_show(key)}, "
                                        f"a value no transaction wrote")
    elif kind == "incompatible-order" and other < -1:
        w = -other - 2
        d.update(value=val, writer=int(txns.op_index[w]),
                 explanation=f"op {d['op']} read {mop_raw(j)[2]!r} from key {_show(key)}: it "
                             f"shows a later append of op {int(txns.op_index[w])} but not its "
                             f"earlier append of {_show(val)} before it, which no order of "
                             f"whole transactions explains")
    elif kind == "incompatible-order":
        lj = other
        d.update(values=[mop_raw(lj)[2], mop_raw(j)[2]],
                 ops=[int(txns.op_index[txns.mop_txn[lj]]), d["op"]],
                 explanation=f"op {d['op']} read {mop_raw(j)[2]!r} from key {_show(key)}, which is "
                             f"not a prefix of {mop_raw(lj)[2]!r} read by op "
                             f"{int(txns.op_index[txns.mop_txn[lj]])}: no single order of "
                             f"appends explains both")
    elif kind == "duplicate-elements":
        d.update(value=val, explanation=f"op {d['op']} read key {_show(key)} with {_show(val)} "
                                        f"in it more than once")
    elif kind == "internal":
        d.update(explanation=f"op {d['op']} read {mop_raw(j)[2]!r} from key {_show(key)}, which "
                             f"does not match its own earlier reads and writes of that key")
    elif kind == "future-read":
        d.update(value=val, explanation=f"op {d['op']} read {_show(val)} from key {_show(key)} "
                                        f"before it wrote that value itself")
    elif kind == "dirty-update":
        d.update(value=val, writer=int(txns.op_index[other]),
                 explanation=f"key {_show(key)} holds {_show(val)} from op "
                             f"{int(txns.op_index[other])}, which failed, and op {d['op']} "
                             f"wrote after it (dirty update)")
    elif kind == "lost-update":
        d.update(value=val, other=int(txns.op_index[other]),
                 explanation=f"ops {int(txns.op_index[other])} and {d['op']} both read key "
                             f"{_show(key)} at the same version ({_show(val)}) and both wrote "
                             f"it: one update is lost to the other (lost update)")
    elif kind == "duplicate-appends":
        d.update(value=val, other=int(txns.op_index[other]),
                 explanation=f"{_show(val)} was written to key {_show(key)} more than once (ops "
                             f"{int(txns.op_index[other])} and {d['op']}); values must be unique "
                             f"per key for their reads to name their writer")
    return d


def transactions(txns: Txns, ts: set[int]) -> dict[str, Any]:
    """The referenced transactions by history index (``line`` for links)."""
    out = {}
    for t in sorted(ts, key=lambda t: int(txns.op_index[t])):
        d = txns.describe(t)
        out[str(d.pop("index"))] = d
    return out


def mop_getter(txns: Txns):
    def get(j: int) -> Any:
        t = int(txns.mop_txn[j])
        return txns.raw[t][j - int(txns.mop_start[t])]
    return get


__all__ = ["Witnesses", "cycle_evidence", "row_evidence", "transactions", "mop_getter",
           "K_APPEND", "CYCLES_KEPT"]
