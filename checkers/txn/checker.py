"""The list-append and rw-register checkers: read, infer, judge."""

from __future__ import annotations

import time
from typing import Any, Iterable

from checkers.history import History
from checkers.result import CheckResult

from . import list_append
from .cycles import DEFAULT_BUDGET
from .graph import Edges
from .judge import Inference, judge, parse_models
from .ops import read_txns


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
    inf = Inference(rows=rows, counts={names[i]: int(c) for i, c in enumerate(counts) if i in names},
                    kind_names=names, edges=Edges(es, ed, et, ek, ev1, ev2))
    if inf.counts.get("duplicate-appends"):
        inf.unknown_reasons.append(
            f"{inf.counts['duplicate-appends']} appends repeat a value already appended to the "
            "same key, so reads cannot name their writers")
    if skipped:
        inf.extra_evidence["unobserved_keys_skipped"] = int(skipped)
    return judge("list-append", txns, inf, consistency_models=models, anomalies=wanted, t0=t0,
                 budget=search_budget, lists=True)
