"""Cycles in the dependency graph, found and named the way Elle does it.

Strongly connected components first; inside each nontrivial one, a search
per cycle *shape*, most severe first: G0 (ww only), G1c (ww and wr), G-single
(exactly one rw), G-nonadjacent (two or more rw, no two adjacent), G2 (two
or more rw, adjacent allowed; one rw is G-single, which implies G2) — each over data edges alone, then with process edges (the ``-process``
variants), then with real-time edges (``-realtime``).

A search is a breadth-first search over (transaction, state) pairs, where the
state remembers what the walk has used so far (a required relation seen, the
number of rw edges, whether the last edge was rw), starting from each
candidate first edge (an rw edge for the rw shapes) and ending back at its
source.  Breadth-first gives short cycles, which read best.  "No walk with
this shape" is exact (every simple cycle is such a walk).  A walk that
repeats a transaction is split into simple cycles, each named by its own
edges; if none has the shape searched for, the next start edge is tried.
When the step budget runs out the shape is *inconclusive* and the verdict
for any model it could break is unknown, never valid.

Every reported cycle is named by its edges alone (see :func:`classify`), so
a name never claims more than the cycle shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ..jit import njit

from .graph import DATA, PROC, RT, RW, WR, WW, Graph, nontrivial_components, tarjan

M_NONE, M_SINGLE, M_NONADJ, M_ANY = 0, 1, 2, 3
# Order in which a step's relation is chosen when an edge stands for several.
_TYPE_ORDER = np.array([WW, WR, PROC, RT, RW], np.int64)

# (base name, allowed relations, rw mode), most severe first.
BASE_SHAPES = (("G0", WW, M_NONE), ("G1c", WW | WR, M_NONE),
               ("G-single-item", WW | WR | RW, M_SINGLE),
               ("G-nonadjacent-item", WW | WR | RW, M_NONADJ),
               ("G2-item", WW | WR | RW, M_ANY))
# (suffix, extra relations allowed, relation the cycle must use)
VARIANTS = (("", 0, 0), ("-process", PROC, PROC), ("-realtime", PROC | RT, RT))
DEFAULT_BUDGET = 200_000_000


@njit(cache=True)
def local_graph(members, indptr, indices, bits, loc):
    """The subgraph induced by ``members`` with local ids; ``loc`` is an
    all -1 scratch array of the graph's size, restored before returning."""
    s = members.shape[0]
    for i in range(s):
        loc[members[i]] = i
    m = 0
    for i in range(s):
        v = members[i]
        for e in range(indptr[v], indptr[v + 1]):
            if loc[indices[e]] >= 0:
                m += 1
    lp = np.zeros(s + 1, np.int64)
    li = np.empty(m, np.int64)
    lb = np.empty(m, np.int8)
    k = 0
    for i in range(s):
        v = members[i]
        for e in range(indptr[v], indptr[v + 1]):
            w = loc[indices[e]]
            if w >= 0:
                li[k] = w
                lb[k] = bits[e]
                k += 1
        lp[i + 1] = k
    for i in range(s):
        loc[members[i]] = -1
    return lp, li, lb


@njit(cache=True)
def _goal(fl, required, mode):
    if required != 0 and (fl & 1) == 0:
        return False
    cnt = (fl >> 1) & 3
    last = (fl >> 3) & 1
    if mode == 0:
        return cnt == 0
    if mode == 1:
        return cnt == 1
    if mode == 2:
        return cnt == 2 and last == 0
    return cnt >= 2


@njit(cache=True)
def search(s, lp, li, lb, allowed, required, mode, sub, first_edge, budget, type_order):
    """Find a closed walk of the shape from the first start edge at or after
    ``first_edge``.  Returns (status, edge, vertices, types, steps): status 1
    found, 0 none from here on, -1 budget exhausted at ``edge``."""
    m = li.shape[0]
    esrc = np.empty(m, np.int64)
    for u in range(s):
        for e in range(lp[u], lp[u + 1]):
            esrc[e] = u
    stamp = np.zeros(s * 16, np.int64)
    par = np.empty(s * 16, np.int64)
    ptyp = np.empty(s * 16, np.int64)
    queue = np.empty(s * 16, np.int64)
    steps = 0
    epoch = 0
    empty_v = np.empty(0, np.int64)
    for e in range(first_edge, m):
        u = esrc[e]
        v = li[e]
        b = lb[e] & allowed
        if b == 0 or sub[u] != sub[v]:
            continue
        if mode != 0:
            if (b & RW) == 0:
                continue
            t0 = RW
        elif required != 0:
            if (b & required) == 0:
                continue
            t0 = required
        else:
            t0 = 0
            for q in range(type_order.shape[0]):
                if (b & type_order[q]) != 0:
                    t0 = type_order[q]
                    break
        fl0 = 0
        if (t0 & required) != 0:
            fl0 |= 1
        if t0 == RW:
            fl0 |= (1 << 1) | (1 << 3)
        if steps > budget:
            return -1, e, empty_v, empty_v, steps
        epoch += 1
        start = v * 16 + fl0
        stamp[start] = epoch
        par[start] = -1
        head = 0
        tail = 0
        queue[tail] = start
        tail += 1
        goal_state = -1
        while head < tail and goal_state < 0:
            st = queue[head]
            head += 1
            x = st // 16
            fl = st % 16
            cnt = (fl >> 1) & 3
            last = (fl >> 3) & 1
            for f in range(lp[x], lp[x + 1]):
                steps += 1
                w = li[f]
                if sub[w] != sub[u]:
                    continue
                bb = lb[f] & allowed
                if bb == 0:
                    continue
                for q in range(type_order.shape[0]):
                    t = type_order[q]
                    if (bb & t) == 0:
                        continue
                    if t == RW:
                        if mode == 0 or (mode == 1 and cnt >= 1) or (mode == 2 and last == 1):
                            continue
                        nc = cnt + 1 if cnt < 2 else 2
                        nl = 1
                    else:
                        nc = cnt
                        nl = 0
                    nf = (fl & 1) | (nc << 1) | (nl << 3)
                    if (t & required) != 0:
                        nf |= 1
                    if w == u:
                        if _goal(nf, required, mode):
                            goal_state = u * 16 + nf
                            par[goal_state] = st
                            ptyp[goal_state] = t
                            break
                        continue
                    ns = w * 16 + nf
                    if stamp[ns] != epoch:
                        stamp[ns] = epoch
                        par[ns] = st
                        ptyp[ns] = t
                        queue[tail] = ns
                        tail += 1
                if goal_state >= 0:
                    break
        if goal_state >= 0:
            # walk back: goal (at u) <- ... <- start (at v); prepend u -t0-> v
            k = 1
            st = goal_state
            while st != start:
                st = par[st]
                k += 1
            verts = np.empty(k + 1, np.int64)
            types = np.empty(k, np.int64)
            verts[0] = u
            types[0] = t0
            st = goal_state
            i = k
            while st != start:
                verts[i] = st // 16
                types[i - 1] = ptyp[st]
                st = par[st]
                i -= 1
            verts[1] = v
            return 1, e, verts, types, steps
        if steps > budget:
            return -1, e, empty_v, empty_v, steps
    return 0, m, empty_v, empty_v, steps


def classify(types: list[int]) -> str:
    """Elle's name for a simple cycle with these step relations, in order."""
    rw = [t == RW for t in types]
    c = sum(rw)
    if c == 0:
        base = "G0" if all(t in (WW, PROC, RT) for t in types) else "G1c"
    elif c == 1:
        base = "G-single-item"
    elif not any(rw[i] and rw[i - 1] for i in range(len(rw))):
        base = "G-nonadjacent-item"
    else:
        base = "G2-item"
    if any(t == RT for t in types):
        return base + "-realtime"
    if any(t == PROC for t in types):
        return base + "-process"
    return base


def simple_pieces(verts: list[int], types: list[int]) -> list[tuple[list[int], list[int]]]:
    """Split a closed walk (``verts[0] == verts[-1]``) into simple cycles."""
    out = []
    stack_v: list[int] = []
    stack_t: list[int] = []
    where: dict[int, int] = {}
    for i in range(len(types)):
        v = verts[i]
        if v in where:
            j = where[v]
            cyc_v = stack_v[j:] + [v]
            cyc_t = stack_t[j:]
            out.append((cyc_v, cyc_t))
            for x in stack_v[j:]:
                del where[x]
            del stack_v[j:]
            del stack_t[j:]
        where[v] = len(stack_v)
        stack_v.append(v)
        stack_t.append(types[i])
    if stack_v:
        out.append((stack_v + [verts[-1]], stack_t))
    return out


@dataclass
class CycleReport:
    name: str
    verts: list[int]   # graph nodes, first repeated at the end
    types: list[int]


@dataclass
class CycleSearch:
    cycles: list[CycleReport] = field(default_factory=list)
    inconclusive: list[str] = field(default_factory=list)   # shape names the budget cut short
    steps: int = 0
    components: int = 0
    largest: int = 0


def find_cycles(g: Graph, *, budget: int = DEFAULT_BUDGET, use_process: bool = True,
                use_realtime: bool = True) -> CycleSearch:
    """One cycle per shape per component, as :mod:`checkers.txn.cycles` describes."""
    out = CycleSearch()
    if g.n == 0 or len(g.indices) == 0:
        return out
    mask = DATA | (PROC if use_process else 0) | (RT if use_realtime else 0)
    comp = tarjan(g.n, g.indptr, g.indices, g.bits, mask)
    comps = nontrivial_components(comp)
    out.components = len(comps)
    loc = np.full(g.n, -1, np.int64)
    variants = [v for v in VARIANTS if (v[2] != PROC or use_process) and (v[2] != RT or use_realtime)]
    for members in comps:
        out.largest = max(out.largest, len(members))
        lp, li, lb = local_graph(members, g.indptr, g.indices, g.bits, loc)
        s = len(members)
        found_bases: set[str] = set()
        seen: set[tuple[str, frozenset]] = set()
        for suffix, extra, required in variants:
            for base, allowed0, mode in BASE_SHAPES:
                if base in found_bases:
                    continue  # the base anomaly implies its -process / -realtime variant
                allowed = allowed0 | extra
                sub = tarjan(s, lp, li, lb, allowed)
                name = base + suffix
                first = 0
                while True:
                    left = max(budget - out.steps, 0)
                    status, e, verts, types, steps = search(s, lp, li, lb, allowed, required, mode,
                                                            sub, first, left, _TYPE_ORDER)
                    out.steps += int(steps)
                    if status == 0:
                        break
                    if status < 0:
                        out.inconclusive.append(name)
                        break
                    vs = [int(members[x]) for x in verts]
                    ts = [int(t) for t in types]
                    pieces = simple_pieces(vs, ts) if len(set(vs)) < len(vs) - 1 else [(vs, ts)]
                    hit = False
                    for pv, pt in pieces:
                        got = classify(pt)
                        if got == name:
                            hit = True
                        sig = (got, frozenset(pv))
                        got_base = got.replace("-process", "").replace("-realtime", "")
                        # the same shape with more kinds of edge (G0-process found, then
                        # G0-realtime) adds nothing; another shape does (G2-item beside
                        # G-single-item: Elle lists both)
                        if sig not in seen and not (got != name and got_base in found_bases):
                            seen.add(sig)
                            out.cycles.append(CycleReport(got, pv, pt))
                            found_bases.add(got_base)
                    if hit or len(pieces) == 1:
                        break
                    first = e + 1
    return out
