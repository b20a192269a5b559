"""From inferred dependencies to a verdict: add process and real-time order,
find and name cycles, decide against the requested models/anomalies, and
assemble the evidence.  Shared by list-append and rw-register."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from checkers.result import CheckResult

from . import models as M
from .cycles import DEFAULT_BUDGET, find_cycles
from .explain import CYCLES_KEPT, Witnesses, cycle_evidence, mop_getter, row_evidence, transactions
from .graph import PROC, RT, Edges, build_graph, process_edges, realtime_edges
from .ops import S_FAIL, S_OK, Txns

DEFAULT_MODELS = ("strict-serializable",)


@dataclass
class Inference:
    """What a workload's inference produced (txn ids, not graph nodes)."""

    rows: np.ndarray                  # (kind name index, reader, mop, key, value, other)
    counts: dict[str, int]            # every finding counted, by anomaly name
    kind_names: dict[int, str]
    edges: Edges                      # ww / wr / rw between transactions
    unknown_reasons: list[str] = field(default_factory=list)
    extra_evidence: dict[str, Any] = field(default_factory=dict)
    instances: dict[str, list] = field(default_factory=dict)   # evidence built by the workload


def parse_models(consistency_models: Iterable[str] | str | None,
                 anomalies: Iterable[str] | str | None) -> tuple[list[str], list[str]]:
    def split(x):
        if x is None:
            return None
        if isinstance(x, str):
            return [s.strip() for s in x.split(",") if s.strip()]
        return list(x)
    ms = split(consistency_models)
    an = split(anomalies)
    if ms is None:
        ms = [] if an else list(DEFAULT_MODELS)
    return [M.canonical(m) for m in ms], M.check_anomaly_names(an or [])


def judge(checker: str, txns: Txns, inf: Inference, *, consistency_models: list[str],
          anomalies: list[str], t0: float, budget: int = DEFAULT_BUDGET,
          lists: bool = True) -> CheckResult:
    nodes = np.flatnonzero(txns.status != S_FAIL)
    node_of = np.full(txns.n, -1, np.int64)
    node_of[nodes] = np.arange(len(nodes))
    e = inf.edges
    edges = Edges(node_of[e.src], node_of[e.dst], np.asarray(e.typ, np.int8), e.key, e.val, e.val2)
    ps, pd = process_edges(txns.process[nodes], txns.inv_pos[nodes])
    # an info transaction may still be in flight when its process goes on: no order out of it
    keep = txns.status[nodes[ps]] == S_OK
    ps, pd = ps[keep], pd[keep]
    comp = np.where(txns.status[nodes] == S_OK, txns.comp_pos[nodes], -1)
    rs, rd = realtime_edges(txns.inv_pos[nodes], comp)
    g = build_graph(len(nodes), [(edges.src, edges.dst, edges.typ), (ps, pd, PROC), (rs, rd, RT)])
    del rs, rd, ps, pd
    search = find_cycles(g, budget=budget)

    found: dict[str, int] = {k: v for k, v in inf.counts.items() if v and k in M.ANOMALIES}
    for c in search.cycles:
        found[c.name] = found.get(c.name, 0) + 1
    prohibited = M.prohibited_by(consistency_models) | M.implying(anomalies)
    bad = sorted(a for a in found if a in prohibited)
    unknown = list(inf.unknown_reasons)
    doubtful = [s for s in search.inconclusive if s in prohibited]
    if doubtful:
        unknown.append(f"the cycle search budget ({budget} steps) ran out looking for "
                       f"{', '.join(sorted(set(doubtful)))}")
    valid: Any = False if bad else ("unknown" if unknown else True)
    not_, also_not = M.boundary(found)

    ev_anoms: dict[str, list] = {}
    ev_counts: dict[str, int] = dict(sorted(found.items()))
    referenced: set[int] = set()
    mop = mop_getter(txns)
    for row in inf.rows:
        name = inf.kind_names[int(row[0])]
        lst = ev_anoms.setdefault(name, [])
        if len(lst) < CYCLES_KEPT:
            lst.append(row_evidence(name, row, txns, mop))
            referenced.add(int(row[1]))
            other = int(row[5])
            if name == "incompatible-order":
                referenced.add(int(txns.mop_txn[other]) if other >= 0 else -other - 2)
            elif other >= 0 and name != "internal":
                referenced.add(other)
    for name, lst in inf.instances.items():
        ev_anoms.setdefault(name, []).extend(lst[:CYCLES_KEPT])
    if inf.counts.get("duplicate-appends"):
        ev_counts["duplicate-appends"] = inf.counts["duplicate-appends"]
    wit = Witnesses(edges, {v for c in search.cycles for v in c.verts})
    for c in search.cycles:
        lst = ev_anoms.setdefault(c.name, [])
        if len(lst) < CYCLES_KEPT:
            lst.append(cycle_evidence(c, txns, nodes, wit, lists=lists))
            referenced.update(int(nodes[v]) for v in c.verts)
    evidence = {
        "anomaly_types": sorted(found),
        "not": not_,
        "also_not": also_not,
        "consistency_models": consistency_models,
        "requested_anomalies": anomalies,
        "anomalies": dict(sorted(ev_anoms.items())),
        "anomaly_counts": ev_counts,
        "transactions": transactions(txns, referenced),
        "stats": {"txns": int(txns.n), "committed": int((txns.status == S_OK).sum()),
                  "failed": int((txns.status == S_FAIL).sum()),
                  "info": int(txns.n - (txns.status == S_OK).sum() - (txns.status == S_FAIL).sum()),
                  "keys": len(txns.keys), "edges": int(len(g.indices)),
                  "cycle_components": search.components, "largest_component": search.largest,
                  "search_steps": search.steps, "ignored_ops": txns.ignored},
        **inf.extra_evidence,
    }
    if unknown:
        evidence["unknown_reasons"] = unknown
    what = " and ".join(consistency_models + anomalies)
    if bad:
        head = ", ".join(f"{a} ×{found[a]}" for a in bad) + f" — ruled out by {what}"
    elif unknown:
        head = f"{what}: could not decide — " + "; ".join(unknown)
    else:
        head = f"{what} holds"
    others = sorted(set(found) - set(bad))
    if others:
        head += " (also found, allowed: " + ", ".join(others) + ")"
    if not_:
        head += f"; not {', '.join(not_)}"
    summary = f"{head} — {txns.n} txns, {len(txns.keys)} keys"
    return CheckResult(checker=checker, valid=valid, summary=summary,
                       elapsed_s=time.monotonic() - t0, evidence=evidence)
