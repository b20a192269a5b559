"""The transaction dependency graph: edges with type bits, CSR, strongly
connected components, and the session / real-time orders.

An edge carries a bit per relation it stands for (a pair of transactions can
be both ww and rw on different keys); ``Edges`` keeps, per relation, one
witness (key, value, value') for explanations.

Real-time order is kept as a transitive reduction in the way Elle does it:
walking the history in order, the *frontier* is the set of transactions that
completed and have no completed successor yet; a transaction invoked now gets
an edge from each frontier member, and when it completes it replaces its
predecessors in the frontier.  Every pair "A completed before B was invoked"
is then a path of these edges, and there are about (concurrency × n) of them
rather than n².  Positions in the history stand for time: the history is
written in the order things happened, and positions are exact where clocks
may tie.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ..jit import njit

WW, WR, RW, PROC, RT = 1, 2, 4, 8, 16
TYPE_NAMES = {WW: "ww", WR: "wr", RW: "rw", PROC: "process", RT: "realtime"}
DATA = WW | WR | RW


@dataclass
class Edges:
    """Raw edges between graph nodes, one row per (relation, witness)."""

    src: np.ndarray
    dst: np.ndarray
    typ: np.ndarray
    key: np.ndarray    # key id, -1 for process / realtime
    val: np.ndarray    # value id or -1 (nil / the initial state)
    val2: np.ndarray


@dataclass
class Graph:
    """CSR of the combined edges: ``indices[indptr[v]:indptr[v+1]]`` are v's
    successors, ``bits`` the relations on each."""

    n: int
    indptr: np.ndarray
    indices: np.ndarray
    bits: np.ndarray


def build_graph(n: int, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray | int]]) -> Graph:
    """The CSR of every (src, dst, relation bits) part, parallel edges merged."""
    src = np.concatenate([np.asarray(p[0], np.int64) for p in parts]) if parts else np.empty(0, np.int64)
    if len(src) == 0:
        return Graph(n, np.zeros(n + 1, np.int64), np.empty(0, np.int64), np.empty(0, np.int8))
    code = src * n
    del src
    code += np.concatenate([np.asarray(p[1], np.int64) for p in parts])
    typ = np.concatenate([np.broadcast_to(np.asarray(p[2], np.int8), (len(p[0]),))
                          for p in parts])
    order = np.argsort(code, kind="stable")
    code = code[order]
    typ = typ[order]
    del order
    starts = np.flatnonzero(np.concatenate(([True], code[1:] != code[:-1])))
    bits = np.bitwise_or.reduceat(typ, starts) if len(starts) else np.empty(0, np.int8)
    uniq = code[starts]
    del code, typ
    src, dst = uniq // n, uniq % n
    indptr = np.zeros(n + 1, np.int64)
    np.add.at(indptr, src + 1, 1)
    return Graph(n, np.cumsum(indptr), dst, bits.astype(np.int8))


def process_edges(process: np.ndarray, order_pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive transactions of each client process (graph nodes)."""
    if len(process) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    o = np.lexsort((order_pos, process))
    same = process[o[1:]] == process[o[:-1]]
    return o[:-1][same], o[1:][same]


@njit(cache=True)
def realtime_edges(inv_pos, comp_pos):
    """Frontier edges (see module doc); ``comp_pos`` -1 = never completed."""
    n = inv_pos.shape[0]
    ncomp = 0
    for i in range(n):
        if comp_pos[i] >= 0:
            ncomp += 1
    ev = np.empty(n + ncomp, np.int64)
    who = np.empty(n + ncomp, np.int64)
    j = 0
    for i in range(n):
        ev[j] = inv_pos[i]
        who[j] = i
        j += 1
        if comp_pos[i] >= 0:
            ev[j] = comp_pos[i]
            who[j] = -i - 1
            j += 1
    order = np.argsort(ev, kind="mergesort")
    frontier = np.empty(n, np.int64)
    nf = 0
    live = np.zeros(n, np.bool_)
    pstart = np.zeros(n, np.int64)
    pend = np.zeros(n, np.int64)
    cap = 4 * n + 16
    src = np.empty(cap, np.int32)
    dst = np.empty(cap, np.int32)
    ne = 0
    for k in range(order.shape[0]):
        w = who[order[k]]
        if w >= 0:
            pstart[w] = ne
            for q in range(nf):
                f = frontier[q]
                if live[f]:
                    if ne == cap:
                        cap *= 2
                        s2 = np.empty(cap, np.int32)
                        d2 = np.empty(cap, np.int32)
                        s2[:ne] = src[:ne]
                        d2[:ne] = dst[:ne]
                        src, dst = s2, d2
                    src[ne] = f
                    dst[ne] = w
                    ne += 1
            pend[w] = ne
        else:
            t = -w - 1
            for q in range(pstart[t], pend[t]):
                live[src[q]] = False
            m = 0
            for q in range(nf):
                if live[frontier[q]]:
                    frontier[m] = frontier[q]
                    m += 1
            nf = m
            frontier[nf] = t
            nf += 1
            live[t] = True
    return src[:ne].copy(), dst[:ne].copy()


@njit(cache=True)
def tarjan(n, indptr, indices, bits, mask):
    """Strongly connected components over edges whose bits meet ``mask``
    (iterative Tarjan).  Returns a component id per node; ids are in reverse
    topological order of the condensation."""
    index = np.full(n, -1, np.int64)
    low = np.zeros(n, np.int64)
    onstack = np.zeros(n, np.bool_)
    comp = np.full(n, -1, np.int64)
    stack = np.empty(n, np.int64)
    sp = 0
    call_v = np.empty(n, np.int64)
    call_e = np.empty(n, np.int64)
    nxt = 0
    ncomp = 0
    for root in range(n):
        if index[root] >= 0:
            continue
        depth = 0
        call_v[0] = root
        call_e[0] = indptr[root]
        index[root] = nxt
        low[root] = nxt
        nxt += 1
        stack[sp] = root
        sp += 1
        onstack[root] = True
        while depth >= 0:
            v = call_v[depth]
            e = call_e[depth]
            if e < indptr[v + 1]:
                call_e[depth] = e + 1
                if (bits[e] & mask) == 0:
                    continue
                w = indices[e]
                if index[w] < 0:
                    index[w] = nxt
                    low[w] = nxt
                    nxt += 1
                    stack[sp] = w
                    sp += 1
                    onstack[w] = True
                    depth += 1
                    call_v[depth] = w
                    call_e[depth] = indptr[w]
                elif onstack[w]:
                    if index[w] < low[v]:
                        low[v] = index[w]
            else:
                if low[v] == index[v]:
                    while True:
                        sp -= 1
                        x = stack[sp]
                        onstack[x] = False
                        comp[x] = ncomp
                        if x == v:
                            break
                    ncomp += 1
                depth -= 1
                if depth >= 0:
                    u = call_v[depth]
                    if low[v] < low[u]:
                        low[u] = low[v]
    return comp


def nontrivial_components(comp: np.ndarray) -> list[np.ndarray]:
    """Members of each component with two or more nodes (self-loops never
    occur: a transaction gets no edge to itself), smallest member first."""
    if len(comp) == 0:
        return []
    counts = np.bincount(comp)
    big = np.flatnonzero(counts > 1)
    if len(big) == 0:
        return []
    order = np.argsort(comp, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)))
    out = [order[starts[c]:starts[c + 1]] for c in big]
    out.sort(key=lambda a: int(a[0]))
    return out
