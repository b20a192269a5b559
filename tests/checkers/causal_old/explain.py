"""Evidence (docs/evidence.md, section "causal") from raw witnesses: oprefs,
labelled chains with op indices, and one sentence a person can check."""

from __future__ import annotations

from typing import Any

from checkers.history import History

from .analysis import GUARANTEES, LEVELS_OF, Analysis, Witness
from .prepare import SRC_INIT, WRITE, Prepared

_TYPE = {1: "ok", 2: "fail", 3: "info"}


class Namer:
    """Maps node ids to op indices, oprefs and short descriptions."""

    def __init__(self, history: History, p: Prepared):
        self.h, self.p = history, p
        ops = history.columnar().operations()
        self.invoke, self.complete = ops.invoke, ops.complete

    def ops(self, node: int):
        row = self.p.row[node]
        inv = self.h.ops[int(self.invoke[row])]
        c = int(self.complete[row])
        return inv, (self.h.ops[c] if c >= 0 else None)

    def index(self, node: int) -> int:
        return self.ops(node)[0].index

    def opref(self, node: int) -> dict[str, Any]:
        inv, comp = self.ops(node)
        return {"index": inv.index, "complete_index": comp.index if comp else None,
                "process": inv.process, "f": inv.f, "key": inv.key, "value": inv.value,
                "result": comp.value if comp else None, "type": comp.type if comp else "info",
                "invoke_time": inv.time, "complete_time": comp.time if comp else None}

    def desc(self, node: int) -> str:
        inv, comp = self.ops(node)
        if self.p.kind[node] == WRITE:
            return f"write {inv.index} ({inv.key!r} := {inv.value!r}, process {inv.process})"
        return f"read {inv.index} ({inv.key!r} -> {comp.value!r}, process {inv.process})"


def _edge_list(nm: Namer, edges, why: dict | None) -> list[dict[str, Any]]:
    out = []
    for a, b, rel, via in edges:
        e: dict[str, Any] = {"from": nm.index(a), "to": nm.index(b), "rel": rel}
        if via >= 0:
            e["via"] = nm.index(via)
        if why and (a, b) in why:
            e["why"] = _edge_list(nm, why[(a, b)], None)
        out.append(e)
    return out


def _chain(nm: Namer, w: Witness) -> list[dict[str, Any]]:
    return _edge_list(nm, w.edges, w.why)


def _path_text(nm: Namer, w: Witness) -> str:
    return "; ".join(f"{nm.index(a)} -{rel}-> {nm.index(b)}" for a, b, rel, _ in w.edges)


def _pattern_sentence(nm: Namer, w: Witness) -> str:
    f = w.facts
    if w.name == "CyclicCO":
        return "session order and read-from form a cycle: " + _path_text(nm, w)
    if w.name == "ThinAirRead":
        return f"{nm.desc(w.nodes[0])} returned a value no write that may have happened wrote"
    if w.name == "WriteCOInitRead":
        return (f"{nm.desc(f['read'])} returned the initial value although "
                f"{nm.desc(f['write'])} precedes it causally")
    if w.name == "WriteCORead":
        return (f"{nm.desc(f['read'])} returned {nm.desc(f['write'])}, which causally precedes "
                f"{nm.desc(f['later'])} that in turn causally precedes the read: "
                f"the read saw an overwritten value")
    if w.name == "WriteHBInitRead":
        return (f"{nm.desc(f['read'])} returned the initial value although {nm.desc(f['write'])}"
                f" happens before it in the view of process {nm.p.processes[f['session']]}")
    if w.name == "CyclicHB":
        return (f"the reads of process {nm.p.processes[f['session']]} force writes into a "
                f"cyclic order (hb edges: w1 -hb-> w2 because w1 happens before a read of "
                f"that session (via) that returned w2)")
    if w.name == "CyclicCF":
        return ("no single arbitration order of writes explains all reads: causal order plus "
                "conflict edges (w1 -cf-> w2: w1 causally precedes a read (via) that returned "
                "w2) form a cycle")
    return w.name


def _session_sentence(nm: Namer, name: str, w: Witness) -> str:
    f = w.facts
    ret = ("the initial value" if f["returned"] == SRC_INIT else nm.desc(f["returned"]))
    how = {"read-your-writes": "its own session wrote it before the read",
           "monotonic-reads": "an earlier read of the same session returned it",
           "monotonic-writes": "a later write of the session that wrote it is known to the read",
           "writes-follow-reads": "a write made after a session read it is known to the read"}[name]
    return (f"{nm.desc(f['read'])} returned {ret}, overwritten by {nm.desc(f['overwriting'])}: "
            f"{how}")


def evidence(history: History, p: Prepared, a: Analysis, level: str) -> dict[str, Any]:
    nm = Namer(history, p)
    satisfies = satisfied(a)
    patterns = []
    for w in a.patterns:
        patterns.append({"name": w.name, "levels": LEVELS_OF[w.name],
                         "explanation": _pattern_sentence(nm, w),
                         "ops": [nm.opref(v) for v in w.nodes], "chain": _chain(nm, w)})
    sessions: dict[str, Any] = {}
    for name in GUARANTEES:
        if a.sessions_unknown:
            sessions[name] = {"valid": "unknown", "violations": [], "reason": a.sessions_unknown}
            continue
        s = a.sessions[name]
        sessions[name] = {
            "valid": s["count"] == 0, "count": s["count"],
            "violations": [{"ops": [nm.opref(v) for v in w.nodes],
                            "explanation": _session_sentence(nm, name, w),
                            "chain": _chain(nm, w)} for w in s["witnesses"]]}
    ev: dict[str, Any] = {"level": level, "satisfies": satisfies, "patterns": patterns,
                          "counts": {k: v for k, v in a.counts.items() if v},
                          "sessions": sessions,
                          "stats": {"ops": p.n, "sessions": p.nchain, "keys": p.nkeys,
                                    "dropped": p.dropped, "cf_edges": a.cf_edges,
                                    "hb_rounds": a.hb_rounds}}
    if a.cm_unknown:
        ev["unknown_reason"] = a.cm_unknown
    return ev


def satisfied(a: Analysis) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for level in ("CC", "CM", "CCv"):
        bad = any(c and level in LEVELS_OF[name] for name, c in a.counts.items())
        out[level] = False if bad else True
    if a.cm_unknown and out["CM"] is True:
        out["CM"] = "unknown"
    return out
