"""Compiled graph kernels: topological order with vector clocks, cycle
extraction and labelled path search over the session/read-from graph.

Nodes are numbered session-major (see :mod:`.prepare`), so the session
order ``so`` needs no edge list: node ``i`` is followed in its session by
``i + 1`` when ``pos[i + 1] == pos[i] + 1``.  Read-from ``wr`` edges come
from ``src`` (the write a read returned, ``-1`` init, ``-2`` none) and its
reverse CSR ``rd_ptr/rd_idx``; extra edges (``cf`` or ``hb``, write to
write) come as a CSR ``ex_ptr/ex_dst``.

A *vector clock* ``vc[i, c]`` is the largest position in session ``c`` of
a node that reaches ``i`` (``i`` itself included), ``-1`` when none.
Because every session is a chain of the graph, ``u`` reaches ``i`` iff
``pos[u] <= vc[i, chain[u]]`` — exact reachability in ``n x S`` int32.
"""

from __future__ import annotations

import numpy as np
from numba import njit

EDGE_SO, EDGE_WR, EDGE_EX = 0, 1, 2


@njit(cache=True)
def readers_csr(n, src):
    """Reverse of ``src``: for each write, the reads that returned it."""
    cnt = np.zeros(n + 1, np.int64)
    for i in range(n):
        s = src[i]
        if s >= 0:
            cnt[s + 1] += 1
    for i in range(n):
        cnt[i + 1] += cnt[i]
    out = np.empty(cnt[n], np.int64)
    fill = cnt[:n].copy()
    for i in range(n):
        s = src[i]
        if s >= 0:
            out[fill[s]] = i
            fill[s] += 1
    return cnt, out


@njit(cache=True)
def edges_csr(n, esrc, edst):
    """CSR by source of an edge list (used for cf/hb edges)."""
    m = esrc.shape[0]
    ptr = np.zeros(n + 1, np.int64)
    for k in range(m):
        ptr[esrc[k] + 1] += 1
    for i in range(n):
        ptr[i + 1] += ptr[i]
    dst = np.empty(m, np.int64)
    eid = np.empty(m, np.int64)
    fill = ptr[:n].copy()
    for k in range(m):
        s = esrc[k]
        dst[fill[s]] = edst[k]
        eid[fill[s]] = k
        fill[s] += 1
    return ptr, dst, eid


@njit(cache=True)
def topo_vc(n, nchain, chain, pos, src, rd_ptr, rd_idx, ex_ptr, ex_dst, vc):
    """Kahn's algorithm over so ∪ wr ∪ extra, filling ``vc`` (n x S, int32).

    Returns (processed count, indegree left): when the count is below n the
    nodes with indegree left > 0 lie on or after a cycle.
    """
    indeg = np.zeros(n, np.int64)
    for i in range(n):
        if pos[i] > 0:
            indeg[i] += 1
        if src[i] >= 0:
            indeg[i] += 1
    for k in range(ex_dst.shape[0]):
        indeg[ex_dst[k]] += 1
    for i in range(n):
        for c in range(nchain):
            vc[i, c] = -1
    stack = np.empty(n, np.int64)
    top = 0
    for i in range(n):
        if indeg[i] == 0:
            stack[top] = i
            top += 1
    done = 0
    while top > 0:
        top -= 1
        i = stack[top]
        done += 1
        vc[i, chain[i]] = pos[i]
        # successors: so-next, readers, extra edges
        if i + 1 < n and chain[i + 1] == chain[i]:
            j = i + 1
            for c in range(nchain):
                if vc[i, c] > vc[j, c]:
                    vc[j, c] = vc[i, c]
            indeg[j] -= 1
            if indeg[j] == 0:
                stack[top] = j
                top += 1
        for k in range(rd_ptr[i], rd_ptr[i + 1]):
            j = rd_idx[k]
            for c in range(nchain):
                if vc[i, c] > vc[j, c]:
                    vc[j, c] = vc[i, c]
            indeg[j] -= 1
            if indeg[j] == 0:
                stack[top] = j
                top += 1
        for k in range(ex_ptr[i], ex_ptr[i + 1]):
            j = ex_dst[k]
            for c in range(nchain):
                if vc[i, c] > vc[j, c]:
                    vc[j, c] = vc[i, c]
            indeg[j] -= 1
            if indeg[j] == 0:
                stack[top] = j
                top += 1
    return done, indeg


@njit(cache=True)
def find_cycle(n, chain, pos, src, rd_ptr, rd_idx, ex_ptr, ex_dst, exr_ptr, exr_src, indeg):
    """A shortest cycle through some node left over by :func:`topo_vc`.

    Every leftover node has a leftover predecessor, so walking backwards
    must revisit a node — that node lies on a cycle; a BFS from it then
    finds the shortest way back.  Returns (nodes, labels): ``nodes[k] ->
    nodes[k+1]`` has label ``labels[k]`` and the last node equals the first.
    """
    left = indeg > 0
    v = -1
    for i in range(n):
        if left[i]:
            v = i
            break
    if v < 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    seen = np.zeros(n, np.bool_)
    while not seen[v]:
        seen[v] = True
        nxt = -1
        if pos[v] > 0 and left[v - 1]:
            nxt = v - 1
        elif src[v] >= 0 and left[src[v]]:
            nxt = src[v]
        else:
            for k in range(exr_ptr[v], exr_ptr[v + 1]):
                if left[exr_src[k]]:
                    nxt = exr_src[k]
                    break
        if nxt < 0:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        v = nxt
    u = v
    parent = np.full(n, -1, np.int64)
    plab = np.full(n, -1, np.int64)
    queue = np.empty(n, np.int64)
    visited = np.zeros(n, np.bool_)
    qh = 0
    qt = 0
    queue[qt] = u
    qt += 1
    visited[u] = True
    last = -1
    lastlab = -1
    while qh < qt and last < 0:
        i = queue[qh]
        qh += 1
        for kind in range(3):
            if kind == 0:
                lo, hi = 0, 0
                if i + 1 < n and chain[i + 1] == chain[i]:
                    lo, hi = 0, 1
            elif kind == 1:
                lo, hi = rd_ptr[i], rd_ptr[i + 1]
            else:
                lo, hi = ex_ptr[i], ex_ptr[i + 1]
            for k in range(lo, hi):
                if kind == 0:
                    j = i + 1
                elif kind == 1:
                    j = rd_idx[k]
                else:
                    j = ex_dst[k]
                if not left[j]:
                    continue
                if j == u:
                    last = i
                    lastlab = kind
                    break
                if not visited[j]:
                    visited[j] = True
                    parent[j] = i
                    plab[j] = kind
                    queue[qt] = j
                    qt += 1
            if last >= 0:
                break
    if last < 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    m = 1
    j = last
    while j != u:
        m += 1
        j = parent[j]
    nodes = np.empty(m + 1, np.int64)
    labels = np.empty(m, np.int64)
    nodes[m] = u
    labels[m - 1] = lastlab
    j = last
    k = m - 1
    while True:
        nodes[k] = j
        if j == u:
            break
        labels[k - 1] = plab[j]
        j = parent[j]
        k -= 1
    return nodes, labels


@njit(cache=True)
def find_path(a, b, n, chain, pos, rd_ptr, rd_idx, ex_ptr, ex_dst, vc):
    """A shortest path a -> b over so ∪ wr ∪ extra, exploring only nodes
    that reach ``b`` (read off ``vc``, the clocks of the same graph)."""
    if a == b:
        nodes = np.empty(1, np.int64)
        nodes[0] = a
        return nodes, np.empty(0, np.int64)
    parent = np.full(n, -1, np.int64)
    plab = np.full(n, -1, np.int64)
    visited = np.zeros(n, np.bool_)
    queue = np.empty(n, np.int64)
    qh = 0
    qt = 1
    queue[0] = a
    visited[a] = True
    found = False
    while qh < qt and not found:
        i = queue[qh]
        qh += 1
        for kind in range(3):
            if kind == 0:
                lo, hi = 0, 0
                if i + 1 < n and chain[i + 1] == chain[i]:
                    lo, hi = 0, 1
            elif kind == 1:
                lo, hi = rd_ptr[i], rd_ptr[i + 1]
            else:
                lo, hi = ex_ptr[i], ex_ptr[i + 1]
            for k in range(lo, hi):
                if kind == 0:
                    j = i + 1
                elif kind == 1:
                    j = rd_idx[k]
                else:
                    j = ex_dst[k]
                if visited[j] or pos[j] > vc[b, chain[j]]:
                    continue
                visited[j] = True
                parent[j] = i
                plab[j] = kind
                queue[qt] = j
                qt += 1
                if j == b:
                    found = True
                    break
            if found:
                break
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    m = 0
    j = b
    while j != a:
        m += 1
        j = parent[j]
    nodes = np.empty(m + 1, np.int64)
    labels = np.empty(m, np.int64)
    j = b
    k = m
    while True:
        nodes[k] = j
        if j == a:
            break
        labels[k - 1] = plab[j]
        j = parent[j]
        k -= 1
    return nodes, labels


@njit(cache=True)
def propagate(n, nchain, chain, pos, rd_ptr, rd_idx, ex_ptr, ex_dst, vc, new_src, new_dst):
    """Update clocks ``vc`` in place after adding edges new_src -> new_dst.

    Clocks only grow, so a worklist that pushes a node whenever its clock
    grew reaches the least fixpoint — reachability — from the old (smaller)
    one, touching only nodes whose clock changes.  The old graph was
    acyclic, so a cycle must use a new edge a -> b, i.e. b reaches a.
    Returns True when the graph now has a cycle.
    """
    inq = np.zeros(n, np.bool_)
    stack = np.empty(n, np.int64)
    top = 0
    for k in range(new_src.shape[0]):
        a, b = new_src[k], new_dst[k]
        grew = False
        for c in range(nchain):
            if vc[a, c] > vc[b, c]:
                vc[b, c] = vc[a, c]
                grew = True
        if grew and not inq[b]:
            inq[b] = True
            stack[top] = b
            top += 1
    while top > 0:
        top -= 1
        i = stack[top]
        inq[i] = False
        for kind in range(3):
            if kind == 0:
                lo, hi = 0, 0
                if i + 1 < n and chain[i + 1] == chain[i]:
                    lo, hi = 0, 1
            elif kind == 1:
                lo, hi = rd_ptr[i], rd_ptr[i + 1]
            else:
                lo, hi = ex_ptr[i], ex_ptr[i + 1]
            for k in range(lo, hi):
                if kind == 0:
                    j = i + 1
                elif kind == 1:
                    j = rd_idx[k]
                else:
                    j = ex_dst[k]
                grew = False
                for c in range(nchain):
                    if vc[i, c] > vc[j, c]:
                        vc[j, c] = vc[i, c]
                        grew = True
                if grew and not inq[j]:
                    inq[j] = True
                    stack[top] = j
                    top += 1
    for k in range(new_src.shape[0]):
        a, b = new_src[k], new_dst[k]
        if pos[b] <= vc[a, chain[b]]:
            return True
    return False
