"""The list-append and rw-register checkers: read, infer, judge."""

from __future__ import annotations

import time

import numpy as np
from typing import Any, Iterable

from checkers.history import History
from checkers.result import CheckResult

from . import list_append, rw_register
from .cycles import DEFAULT_BUDGET
from .durability import check_durability
from .graph import Edges
from .judge import Inference, judge, parse_models
from .ops import read_txns


def _dup_reason(inf: Inference) -> None:
    if inf.counts.get("duplicate-appends"):
        inf.unknown_reasons.append(
            f"{inf.counts['duplicate-appends']} writes repeat a value already written to the "
            "same key, so reads cannot name their writers")


def _durability(history: History, txns: Any, inf: Inference, lists: bool) -> None:
    d = check_durability(history, txns, lists=lists)
    for k, v in d.counts.items():
        inf.counts[k] = inf.counts.get(k, 0) + v
    inf.instances.update(d.instances)
    inf.unknown_reasons.extend(d.unknown_reasons)
    inf.extra_evidence.update(d.evidence)


def check_list_append(history: History, consistency_models: Iterable[str] | str | None = None,
                      anomalies: Iterable[str] | str | None = None,
                      search_budget: int = DEFAULT_BUDGET, **_ignored: Any) -> CheckResult:
    """Elle's list-append analysis: version orders from reads, then cycles."""
    models, wanted = parse_models(consistency_models, anomalies)
    t0 = time.monotonic()
    txns = read_txns(history, reads_are_lists=True)
    (rows, counts, es, ed, et, ek, ev1, ev2, skipped) = list_append.infer(
        txns.n, txns.status, txns.mop_start, txns.mop_kind, txns.mop_key, txns.mop_val,
        txns.read_start, txns.read_len, txns.read_vals, max(len(txns.keys), 1),
        max(len(txns.values), 1))
    names = list_append.KIND_NAMES
    by_name: dict[str, int] = {}
    for i, c in enumerate(counts.tolist()):
        if i in names:
            by_name[names[i]] = by_name.get(names[i], 0) + c
    inf = Inference(rows=rows, counts=by_name,
                    kind_names=names, edges=Edges(es, ed, et, ek, ev1, ev2))
    _dup_reason(inf)
    if skipped:
        inf.extra_evidence["unobserved_keys_skipped"] = int(skipped)
    _durability(history, txns, inf, lists=True)
    return judge("list-append", txns, inf, consistency_models=models, anomalies=wanted, t0=t0,
                 budget=search_budget, lists=True)


def check_rw_register(history: History, consistency_models: Iterable[str] | str | None = None,
                      anomalies: Iterable[str] | str | None = None, sequential_keys: bool = False,
                      linearizable_keys: bool = False, wfr_keys: bool = False,
                      transaction_order: dict | None = None,
                      search_budget: int = DEFAULT_BUDGET, **_ignored: Any) -> CheckResult:
    """Elle's rw-register analysis: version orders from the initial nil and the
    opt-in key properties, then cycles."""
    models, wanted = parse_models(consistency_models, anomalies)
    order = None
    if transaction_order is not None:
        try:
            order = {int(k): int(v) for k, v in dict(transaction_order).items()}
        except (TypeError, ValueError):
            raise ValueError("transaction-order must map op indexes to positions, e.g. "
                             '{"3": 0, "7": 1}') from None
    t0 = time.monotonic()
    txns = read_txns(history, reads_are_lists=False)
    rows, counts, edges, cyclic = rw_register.infer(
        txns, wfr_keys=wfr_keys, sequential_keys=sequential_keys,
        linearizable_keys=linearizable_keys, transaction_order=order)
    arr = np.array(rows, np.int64).reshape(-1, 6)
    inf = Inference(rows=arr, counts=counts, kind_names=rw_register.KIND_NAMES, edges=edges)
    if cyclic:
        inf.instances["cyclic-versions"] = [
            {"key": txns.keys[c["key_id"]],
             "values": [None if v < 0 else txns.values[v] for v in c["values"]],
             "explanation": f"the known orders of key {txns.keys[c['key_id']]!r} put its versions "
                            "in a cycle: " + " < ".join(
                                "nil" if v < 0 else repr(txns.values[v]) for v in c["values"])}
            for c in cyclic]
    _dup_reason(inf)
    _durability(history, txns, inf, lists=False)
    return judge("rw-register", txns, inf, consistency_models=models, anomalies=wanted, t0=t0,
                 budget=search_budget, lists=False)
