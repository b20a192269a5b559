"""Runs the kernels and collects raw witnesses: for each violation the
nodes involved and the labelled edges between them (node ids; the
:mod:`.explain` module turns them into oprefs and sentences)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import graph as g
from . import hb
from . import kernels as k
from .prepare import READ, SRC_INIT, SRC_NONE, Prepared

LEVELS_OF = {
    "CyclicCO": ["CC", "CM", "CCv"], "WriteCOInitRead": ["CC", "CM", "CCv"],
    "ThinAirRead": ["CC", "CM", "CCv"], "WriteCORead": ["CC", "CM", "CCv"],
    "WriteHBInitRead": ["CM"], "CyclicHB": ["CM"], "CyclicCF": ["CCv"],
}
GUARANTEES = ("read-your-writes", "monotonic-reads", "monotonic-writes", "writes-follow-reads")
LABEL = {g.EDGE_SO: "so", g.EDGE_WR: "wr"}


@dataclass
class Witness:
    name: str
    nodes: list[int]                       # ops involved, in a readable order
    edges: list[tuple[int, int, str, int]]  # (from, to, rel, via node or -1)
    facts: dict = field(default_factory=dict)
    # For each cf/hb edge (from, to): the edges showing why — a path from
    # `from` to the via read (so/wr for cf; so/wr/hb for hb) and to -wr-> via.
    why: dict = field(default_factory=dict)


@dataclass
class Analysis:
    patterns: list[Witness] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    cm_unknown: str | None = None
    sessions: dict[str, dict] = field(default_factory=dict)
    sessions_unknown: str | None = None
    hb_rounds: int = 0
    cf_edges: int = 0
    judged: tuple[str, ...] = ("CC", "CM", "CCv")   # the levels looked at


class _Graph:
    """One graph: so ∪ wr plus extra edges (cf or hb), with its clocks."""

    def __init__(self, p: Prepared, rd_ptr, rd_idx, ex: np.ndarray, rel: str, vc: np.ndarray,
                 via=None):
        self.p, self.rd_ptr, self.rd_idx, self.rel, self.vc = p, rd_ptr, rd_idx, rel, vc
        self.via_fn = via
        self.why_graph: _Graph | None = None   # where to find the path behind an extra edge
        self.why: dict[tuple[int, int], list] = {}
        self._explaining = False
        ex = ex if ex.size else np.empty((0, 4), np.int64)
        self.ex = ex                      # rows (from, to, via, round)
        # Sorted by source (and by target), searched per node: no n-sized
        # arrays per hb round.
        self.ex_id = np.argsort(ex[:, 0], kind="stable")
        self.ex_key = ex[self.ex_id, 0].copy()
        self.ex_dst = ex[self.ex_id, 1].copy()
        self.ex_round = ex[self.ex_id, 3].copy()
        rorder = np.argsort(ex[:, 1], kind="stable")
        self.exr_key = ex[rorder, 1].copy()
        self.exr_src = ex[rorder, 0].copy()

    def ex_has(self) -> np.ndarray:
        has = np.zeros(self.p.n, np.bool_)
        has[self.ex_key] = True
        return has

    def topo(self) -> tuple[int, np.ndarray]:
        p = self.p
        return g.topo_vc(p.n, p.nchain, p.chain, p.pos, p.src, self.rd_ptr, self.rd_idx,
                         self.ex_key, self.ex_dst, self.vc)

    def leftover(self) -> np.ndarray:
        p = self.p
        return g.leftover(p.n, p.chain, p.pos, p.src, self.rd_ptr, self.rd_idx, self.ex_key,
                          self.ex_dst)

    def _row(self, a: int, b: int) -> int:
        lo = int(np.searchsorted(self.ex_key, a, "left"))
        hi = int(np.searchsorted(self.ex_key, a, "right"))
        for q in range(lo, hi):
            if self.ex_dst[q] == b:
                return int(self.ex_id[q])
        return -1

    def _via(self, a: int, b: int) -> int:
        if self.via_fn is not None:
            return int(self.via_fn(a, b))
        q = self._row(a, b)
        return int(self.ex[q, 2]) if q >= 0 else -1

    def _edges(self, nodes: np.ndarray, labels: np.ndarray) -> list[tuple[int, int, str, int]]:
        """Labelled edges, with consecutive so steps merged (so is transitive)."""
        out: list[tuple[int, int, str, int]] = []
        for i in range(len(labels)):
            a, b, lab = int(nodes[i]), int(nodes[i + 1]), int(labels[i])
            if lab == g.EDGE_SO and out and out[-1][2] == "so" and out[-1][1] == a:
                out[-1] = (out[-1][0], b, "so", -1)
            elif lab == g.EDGE_EX:
                via = self._via(a, b)
                out.append((a, b, self.rel, via))
                self._explain_edge(a, b, via)
            else:
                out.append((a, b, LABEL[lab], -1))
        return out

    def _explain_edge(self, a: int, b: int, via: int) -> None:
        wg = self.why_graph
        if wg is None or via < 0 or (a, b) in self.why or self._explaining:
            return
        # An edge added in round R was forced by a path using only edges of
        # earlier rounds: search there, or the edge would explain itself.
        q = self._row(a, b)
        before = int(self.ex[q, 3]) if q >= 0 else None
        wg._explaining = True   # one level deep: nested hb edges keep only their via
        try:
            self.why[(a, b)] = wg.path(a, via, before) + [(b, via, "wr", -1)]
        finally:
            wg._explaining = False

    def witness(self, name: str, edges: list, facts: dict | None = None) -> "Witness":
        why = {(e[0], e[1]): self.why[(e[0], e[1])] for e in edges if (e[0], e[1]) in self.why}
        # a nested hb edge of an explanation keeps its via (e[3]): that op is evidence too
        extra = [v for w in why.values() for e in w for v in (e[0], e[1], e[3])]
        return Witness(name, _nodes_of(edges, *extra), edges, facts or {}, why)

    def path(self, a: int, b: int, before_round: int | None = None) -> list[tuple[int, int, str, int]]:
        p = self.p
        allow = (np.ones(len(self.ex_dst), np.bool_) if before_round is None
                 else self.ex_round < before_round)
        nodes, labels = g.find_path(a, b, p.n, p.chain, p.pos, self.rd_ptr, self.rd_idx,
                                    self.ex_key, self.ex_dst, allow, self.vc)
        if len(nodes) == 0:
            raise AssertionError(f"no path {a} -> {b} although the clocks say so")
        return self._edges(nodes, labels)

    def cycle(self, indeg: np.ndarray) -> list[tuple[int, int, str, int]]:
        p = self.p
        nodes, labels = g.find_cycle(p.n, p.chain, p.pos, p.src, self.rd_ptr, self.rd_idx,
                                     self.ex_key, self.ex_dst, self.exr_key, self.exr_src, indeg)
        if len(nodes) == 0:
            raise AssertionError("topological sort stalled but no cycle was found")
        edges = self._edges(nodes, labels)
        # A cycle may start mid-way through a run of so steps: merge around the seam.
        if len(edges) > 1 and edges[0][2] == "so" and edges[-1][2] == "so":
            edges = [(edges[-1][0], edges[0][1], "so", -1)] + edges[1:-1]
        return edges


def _nodes_of(edges: list[tuple[int, int, str, int]], *extra: int) -> list[int]:
    seen: list[int] = []
    for e in edges:
        for v in (e[0], e[1]):
            if v not in seen:
                seen.append(v)
        if e[3] >= 0 and e[3] not in seen:
            seen.append(e[3])
    for v in extra:
        if v >= 0 and v not in seen:
            seen.append(v)
    return seen


def _dedupe(edges: np.ndarray, n: int) -> np.ndarray:
    if edges.shape[0] < 2:
        return edges
    _, first = np.unique(edges[:, 0] * n + edges[:, 1], return_index=True)
    return edges[np.sort(first)]


def _targets(p: Prepared, s: int) -> int:
    """How many reads of session s returned a write (bounds its hb targets)."""
    lo, hi = p.start[s], p.start[s + 1]
    return int(np.count_nonzero((p.kind[lo:hi] == READ) & (p.src[lo:hi] >= 0)))


def analyse(p: Prepared, *, levels: tuple[str, ...] = ("CC", "CM", "CCv"), cap: int = 10,
            deadline: float | None = None, max_hb_rounds: int = 10_000,
            small_targets: int | None = None) -> Analysis:
    """Judge ``levels`` (CC's patterns are always looked for: CM and CCv
    include them).  ``small_targets``: sessions whose reads returned at
    most this many writes are saturated by the one-sweep kernel
    (:mod:`.hb`) first; None: every session, 0: none (the full-graph
    rounds, which also explain what the kernel finds, decide alone)."""
    n, S = p.n, p.nchain
    out = Analysis(counts={name: 0 for name in LEVELS_OF}, judged=tuple(levels))
    rd_ptr, rd_idx = g.readers_csr(n, p.src)
    vc = np.empty((n, max(S, 1)), np.int32)
    co = _Graph(p, rd_ptr, rd_idx, np.empty((0, 4), np.int64), "co", vc)
    done, indeg = co.topo()
    if done < n:
        out.counts["CyclicCO"] = 1
        edges = co.cycle(indeg)
        out.patterns.append(Witness("CyclicCO", _nodes_of(edges), edges))
        out.cm_unknown = None
        out.sessions_unknown = "causal order is cyclic, so the session guarantees are undefined"
        return out

    thin = np.flatnonzero((p.kind == READ) & (p.src == SRC_NONE))
    out.counts["ThinAirRead"] = int(thin.size)
    for r in thin[:cap]:
        out.patterns.append(Witness("ThinAirRead", [int(r)], []))

    wl, wsp, wsc, wslo, wshi = k.key_index(n, p.nkeys, p.kind, 0, p.key, p.chain)
    ni, init_w, nw, wcr_w = k.co_patterns(n, p.nkeys, p.start, p.chain, p.pos, p.kind, p.key,
                                          p.src, vc, wl, wsp, wsc, wslo, wshi, cap)
    out.counts["WriteCOInitRead"] = int(ni)
    for r, w in init_w[:min(ni, cap)]:
        edges = co.path(int(w), int(r))
        out.patterns.append(Witness("WriteCOInitRead", _nodes_of(edges), edges,
                                    {"read": int(r), "write": int(w)}))
    out.counts["WriteCORead"] = int(nw)
    for w1, w2, r in wcr_w[:min(nw, cap)]:
        w1, w2, r = int(w1), int(w2), int(r)
        edges = co.path(w1, w2) + co.path(w2, r) + [(w1, r, "wr", -1)]
        out.patterns.append(Witness("WriteCORead", _nodes_of(edges), edges,
                                    {"read": r, "write": w1, "later": w2}))

    if "CCv" in levels:
        _judge_ccv(p, out, co, rd_ptr, rd_idx, wl, wsp, wsc, wslo, wshi)
    if "CM" in levels:
        _judge_cm(p, out, co, rd_ptr, rd_idx, wl, wsp, wsc, wslo, wshi, cap=cap,
                  deadline=deadline, max_hb_rounds=max_hb_rounds, small_targets=small_targets)
    _judge_sessions(p, out, co, wl, wsp, wsc, wslo, wshi, ni + nw, cap)
    return out


def _judge_ccv(p: Prepared, out: Analysis, co: _Graph, rd_ptr, rd_idx,
               wl, wsp, wsc, wslo, wshi) -> None:
    """CCv: co ∪ cf acyclic.  Only acyclicity is asked, so no clocks: a
    cf edge is explained by a co path (the co clocks prune its search)."""
    n, S, vc = p.n, p.nchain, co.vc
    cf = k.cf_edges(n, S, p.start, p.chain, p.pos, p.kind, p.key, vc, rd_ptr, rd_idx,
                    wl, wsp, wsc, wslo, wshi)
    out.cf_edges = int(cf.shape[0])
    cf3 = np.full((cf.shape[0], 4), -1, np.int64)
    cf3[:, :2] = cf
    cfg = _Graph(p, rd_ptr, rd_idx, cf3, "cf", np.empty((0, 0), np.int32),
                 via=lambda a, b: _cf_witness(p, vc, rd_ptr, rd_idx, a, b))
    indeg = cfg.leftover()
    if np.any(indeg > 0):
        out.counts["CyclicCF"] = 1
        cfg.why_graph = co
        edges = cfg.cycle(indeg)
        out.patterns.append(cfg.witness("CyclicCF", edges))


def _judge_cm(p: Prepared, out: Analysis, co: _Graph, rd_ptr, rd_idx, wl, wsp, wsc, wslo, wshi,
              *, cap: int, deadline: float | None, max_hb_rounds: int,
              small_targets: int | None) -> None:
    """CM: saturate hb_o for o = the last op of every session.  The
    one-sweep kernel decides; a session it finds broken is re-run on the
    full graph for the witness while witnesses are still wanted."""
    names = {hb.HB_INIT_READ: "WriteHBInitRead", hb.HB_CYCLE: "CyclicHB"}
    stamp = np.zeros(p.n, np.int64)   # stamp[i] == s + 1: row i saved for session s
    for s in range(p.nchain):
        if deadline is not None and time.monotonic() > deadline:
            out.cm_unknown = f"time limit reached after {s} of {p.nchain} sessions"
            return
        if small_targets is None or _targets(p, s) <= small_targets:
            verdict, rounds = hb.hb_session(s, p.start, p.chain, p.pos, p.key, p.kind, p.src,
                                            co.vc, wl, wsp, wsc, wslo, wshi, max_hb_rounds)
            out.hb_rounds += int(rounds)
            if verdict == hb.HB_OK:
                continue
            if verdict == hb.HB_NO_FIXPOINT:
                out.cm_unknown = (f"HB saturation of session {s} did not settle in "
                                  f"{max_hb_rounds} rounds")
                return
            if out.counts[names[verdict]] >= cap:
                out.counts[names[verdict]] += 1   # no witness wanted: the verdict is enough
                continue
        _saturate_full(p, out, co, s, stamp, rd_ptr, rd_idx, wl, wsp, wsc, wslo, wshi,
                       cap=cap, deadline=deadline, max_hb_rounds=max_hb_rounds)
        if out.cm_unknown:
            return


def _saturate_full(p: Prepared, out: Analysis, co: _Graph, s: int, stamp: np.ndarray,
                   rd_ptr, rd_idx, wl, wsp, wsc, wslo, wshi, *, cap: int,
                   deadline: float | None, max_hb_rounds: int) -> None:
    """hb_o of session s on the full graph by rounds of "add forced edges,
    grow the clocks incrementally", keeping the edges and the round each
    was forced in, so a violation comes with its chain and why-paths.  The
    co clocks are grown in place and restored before returning."""
    n, vc = p.n, co.vc
    ex = np.empty((0, 4), np.int64)
    cur = co
    log_idx, log_rows, nlog = np.empty(0, np.int64), np.empty((0, vc.shape[1]), vc.dtype), 0
    for _round in range(max_hb_rounds):
        out.hb_rounds += 1
        hit, new = k.hb_new_edges(s, p.start, p.chain, p.pos, p.key, p.kind, p.src, cur.vc,
                                  wl, wsp, wsc, wslo, wshi)
        if hit[2]:
            out.counts["WriteHBInitRead"] += 1
            if out.counts["WriteHBInitRead"] <= cap:
                r, w = int(hit[0]), int(hit[1])
                edges = cur.path(w, r)
                out.patterns.append(cur.witness("WriteHBInitRead", edges,
                                                {"read": r, "write": w, "session": s}))
            break
        new = _dedupe(new, n)
        if new.shape[0] == 0:
            break
        new = np.concatenate([new, np.full((new.shape[0], 1), _round, np.int64)], axis=1)
        ex = np.concatenate([ex, new])
        cur = _Graph(p, rd_ptr, rd_idx, ex, "hb", vc)
        cur.why_graph = cur
        cyclic, log_idx, log_rows, nlog = g.propagate(
            n, p.chain, p.pos, rd_ptr, rd_idx, cur.ex_key, cur.ex_dst, cur.ex_has(), vc,
            new[:, 0].copy(), new[:, 1].copy(), stamp, s + 1, log_idx, log_rows, nlog)
        if cyclic:
            out.counts["CyclicHB"] += 1
            if out.counts["CyclicHB"] <= cap:
                edges = cur.cycle(cur.leftover())  # keeps the clocks: why-paths need them
                out.patterns.append(cur.witness("CyclicHB", edges, {"session": s}))
            break
        if deadline is not None and time.monotonic() > deadline:
            out.cm_unknown = f"time limit reached while saturating session {s}"
            break
    else:
        out.cm_unknown = f"HB saturation of session {s} did not settle in {max_hb_rounds} rounds"
    g.undo(vc, log_idx, log_rows, nlog)   # back to the co clocks for the next session


def _judge_sessions(p: Prepared, out: Analysis, co: _Graph, wl, wsp, wsc, wslo, wshi,
                    co_violations: int, cap: int) -> None:
    """The four session guarantees.  Each violation is a read r returning
    w0 although an x-write w1 with w0 -co-> w1 (any, if r read init)
    reaches r, i.e. a WriteCORead or WriteCOInitRead at r: with none of
    those every guarantee holds and the kernel is not run."""
    if co_violations == 0:
        for name in GUARANTEES:
            out.sessions[name] = {"count": 0, "witnesses": []}
        return
    n, S, vc = p.n, p.nchain, co.vc
    rl, rsp, rsc, rslo, rshi = k.key_index(n, p.nkeys, p.kind, 1, p.key, p.chain)
    lastw = k.last_write_upto(n, p.chain, p.kind)
    counts, wit = k.session_guarantees(n, S, p.start, p.chain, p.pos, p.kind, p.key, p.src, vc,
                                       lastw, wl, wsp, wsc, wslo, wshi, rl, rsp, rsc, rslo, rshi,
                                       cap)
    for gi, name in enumerate(GUARANTEES):
        items = []
        for q in range(min(int(counts[gi]), cap)):
            r, a, b = (int(x) for x in wit[gi, q])
            items.append(_session_witness(p, co, gi, r, a, b))
        out.sessions[name] = {"count": int(counts[gi]), "witnesses": items}


def _cf_witness(p: Prepared, vc, rd_ptr, rd_idx, w1: int, w2: int) -> int:
    """A read of w2 that w1 reaches causally: why w1 -cf-> w2."""
    c = p.chain[w1]
    for q in range(rd_ptr[w2], rd_ptr[w2 + 1]):
        r = int(rd_idx[q])
        if p.pos[w1] <= vc[r, c]:
            return r
    return -1


def _strictly_before(p: Prepared, vc, a: int, b: int) -> bool:
    return a != b and p.pos[a] <= vc[b, p.chain[a]]


def _session_witness(p: Prepared, co: _Graph, gi: int, r: int, a: int, b: int) -> Witness:
    w0 = int(p.src[r])
    vc = co.vc
    edges: list[tuple[int, int, str, int]] = []

    def exact_read(last_r1: int) -> tuple[int, int]:
        """The read of r's key at or before last_r1 in its session whose write
        overwrites w0 (the kernel only kept the latest candidate)."""
        lo = p.start[p.chain[last_r1]]
        for r1 in range(last_r1, lo - 1, -1):
            if p.kind[r1] != READ or p.key[r1] != p.key[r] or p.src[r1] < 0:
                continue
            w1 = int(p.src[r1])
            if w0 == SRC_INIT or _strictly_before(p, vc, w0, w1):
                return r1, w1
        raise AssertionError("session-guarantee witness vanished")

    if gi == 0:      # RYW: w1 -so-> r
        w1 = a
        edges = [(w1, r, "so", -1)]
    elif gi == 1:    # MR: w1 -wr-> r1 -so-> r
        r1, w1 = exact_read(a)
        edges = [(w1, r1, "wr", -1), (r1, r, "so", -1)]
    elif gi == 2:    # MW: w1 -so-> w2 -co-> r
        w1, w2 = a, b
        edges = [(w1, w2, "so", -1)] + co.path(w2, r)
    else:            # WFR: w1 -wr-> r1 -so-> w2 -co-> r
        r1, w1 = exact_read(a)
        w2 = b
        edges = [(w1, r1, "wr", -1), (r1, w2, "so", -1)] + co.path(w2, r)
    if w0 >= 0:
        edges = co.path(w0, w1) + edges + [(w0, r, "wr", -1)]
    return Witness(GUARANTEES[gi], _nodes_of(edges), edges,
                   {"read": r, "overwriting": w1, "returned": w0})
