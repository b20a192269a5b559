"""Compiled graph kernels: topological order with vector clocks, cycle
extraction and labelled path search over the session/read-from graph.

Nodes are numbered session-major (see :mod:`.prepare`), so the session
order ``so`` needs no edge list: node ``i`` is followed in its session by
``i + 1`` when ``pos[i + 1] == pos[i] + 1``.  Read-from ``wr`` edges come
from ``src`` (the write a read returned, ``-1`` init, ``-2`` none) and its
reverse CSR ``rd_ptr/rd_idx``; extra edges (``cf`` or ``hb``, write to
write) come sorted by source as ``ex_key/ex_dst`` (and by target as
``exr_key/exr_src``).

A *vector clock* ``vc[i, c]`` is the largest position in session ``c`` of
a node that reaches ``i`` (``i`` itself included), ``-1`` when none.
Because every session is a chain of the graph, ``u`` reaches ``i`` iff
``pos[u] <= vc[i, chain[u]]`` — exact reachability in ``n x S`` int32.
"""

from __future__ import annotations

import numpy as np
from checkers.jit import njit  # process-unique symbols (checkers/jit.py)

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
def _lo(keys, i):
    """First position of ``i`` in the sorted ``keys`` (extra edges sorted by
    endpoint: a binary search instead of an n-sized CSR per hb round)."""
    a, b = 0, keys.shape[0]
    while a < b:
        m = (a + b) // 2
        if keys[m] < i:
            a = m + 1
        else:
            b = m
    return a


@njit(cache=True)
def _hi(keys, i):
    a, b = 0, keys.shape[0]
    while a < b:
        m = (a + b) // 2
        if keys[m] <= i:
            a = m + 1
        else:
            b = m
    return a


@njit(cache=True, inline="always")
def _edges(kind, i, n, chain, rd_ptr, ex_key, use_ex):
    """(lo, hi): the index range of node ``i``'s out-edges of one kind —
    EDGE_SO (at most the next node of its session), EDGE_WR (its readers) or
    EDGE_EX (its extra edges; skipped when ``use_ex`` is False)."""
    if kind == EDGE_SO:
        if i + 1 < n and chain[i + 1] == chain[i]:
            return 0, 1
        return 0, 0
    if kind == EDGE_WR:
        return rd_ptr[i], rd_ptr[i + 1]
    if use_ex:
        return _lo(ex_key, i), _hi(ex_key, i)
    return 0, 0


@njit(cache=True, inline="always")
def _edge_dst(kind, i, k, rd_idx, ex_dst):
    """The target of edge ``k`` of that kind (see :func:`_edges`)."""
    if kind == EDGE_SO:
        return i + 1
    if kind == EDGE_WR:
        return rd_idx[k]
    return ex_dst[k]


@njit(cache=True)
def _indegrees(n, pos, src, ex_dst):
    indeg = np.zeros(n, np.int64)
    for i in range(n):
        if pos[i] > 0:
            indeg[i] += 1
        if src[i] >= 0:
            indeg[i] += 1
    for k in range(ex_dst.shape[0]):
        indeg[ex_dst[k]] += 1
    return indeg


@njit(cache=True)
def _kahn(n, nchain, chain, pos, src, rd_ptr, rd_idx, ex_key, ex_dst, vc, clocks):
    """Kahn's algorithm over so ∪ wr ∪ extra; with ``clocks``, fills ``vc``
    on the way.  Returns (processed count, indegree left)."""
    indeg = _indegrees(n, pos, src, ex_dst)
    if clocks:
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
        if clocks:
            vc[i, chain[i]] = pos[i]
        for kind in range(3):
            lo, hi = _edges(kind, i, n, chain, rd_ptr, ex_key, True)
            for k in range(lo, hi):
                j = _edge_dst(kind, i, k, rd_idx, ex_dst)
                if clocks:
                    for c in range(nchain):
                        if vc[i, c] > vc[j, c]:
                            vc[j, c] = vc[i, c]
                indeg[j] -= 1
                if indeg[j] == 0:
                    stack[top] = j
                    top += 1
    return done, indeg


@njit(cache=True)
def leftover(n, chain, pos, src, rd_ptr, rd_idx, ex_key, ex_dst):
    """Kahn's algorithm without clocks: the indegree left per node (> 0 on
    or after a cycle), leaving any clocks of the graph intact."""
    unused = np.empty((0, 0), np.int32)
    return _kahn(n, 0, chain, pos, src, rd_ptr, rd_idx, ex_key, ex_dst, unused, False)[1]


@njit(cache=True)
def topo_vc(n, nchain, chain, pos, src, rd_ptr, rd_idx, ex_key, ex_dst, vc):
    """Kahn's algorithm over so ∪ wr ∪ extra, filling ``vc`` (n x S, int32).

    Returns (processed count, indegree left): when the count is below n the
    nodes with indegree left > 0 lie on or after a cycle.
    """
    return _kahn(n, nchain, chain, pos, src, rd_ptr, rd_idx, ex_key, ex_dst, vc, True)


@njit(cache=True)
def find_cycle(n, chain, pos, src, rd_ptr, rd_idx, ex_key, ex_dst, exr_key, exr_src, indeg):
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
            for k in range(_lo(exr_key, v), _hi(exr_key, v)):
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
            lo, hi = _edges(kind, i, n, chain, rd_ptr, ex_key, True)
            for k in range(lo, hi):
                j = _edge_dst(kind, i, k, rd_idx, ex_dst)
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
def find_path(a, b, n, chain, pos, rd_ptr, rd_idx, ex_key, ex_dst, ex_allow, vc):
    """A shortest path a -> b over so ∪ wr ∪ the extra edges allowed by
    ``ex_allow``, exploring only nodes that reach ``b`` according to ``vc``
    (clocks of a graph containing this one, so the pruning is safe)."""
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
            lo, hi = _edges(kind, i, n, chain, rd_ptr, ex_key, True)
            for k in range(lo, hi):
                if kind == EDGE_EX and not ex_allow[k]:
                    continue
                j = _edge_dst(kind, i, k, rd_idx, ex_dst)
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
def _grow_log(log_idx, log_rows, nlog, nmax):
    cap = min(nmax, max(2 * log_idx.shape[0], 1024))
    bi = np.empty(cap, np.int64)
    br = np.empty((cap, log_rows.shape[1]), log_rows.dtype)
    bi[:nlog] = log_idx[:nlog]
    br[:nlog] = log_rows[:nlog]
    return bi, br


@njit(cache=True)
def undo(vc, log_idx, log_rows, nlog):
    """Restore the clock rows saved by :func:`propagate`."""
    for q in range(nlog):
        vc[log_idx[q], :] = log_rows[q, :]


@njit(cache=True, inline="always")
def _join_logged(vc, a, b, stamp, sid, log_idx, log_rows, nlog):
    """vc[b] |= vc[a] (elementwise max), saving row b in the undo log before
    its first change in round ``sid``.  Returns (grew, log_idx, log_rows, nlog)."""
    grew = False
    for c in range(vc.shape[1]):
        if vc[a, c] > vc[b, c]:
            grew = True
            break
    if grew:
        if stamp[b] != sid:
            if nlog >= log_idx.shape[0]:
                log_idx, log_rows = _grow_log(log_idx, log_rows, nlog, vc.shape[0])
            log_idx[nlog] = b
            for c in range(vc.shape[1]):
                log_rows[nlog, c] = vc[b, c]
            nlog += 1
            stamp[b] = sid
        for c in range(vc.shape[1]):
            if vc[a, c] > vc[b, c]:
                vc[b, c] = vc[a, c]
    return grew, log_idx, log_rows, nlog


@njit(cache=True)
def propagate(n, chain, pos, rd_ptr, rd_idx, ex_key, ex_dst, ex_has, vc, new_src, new_dst,
              stamp, sid, log_idx, log_rows, nlog):
    """Update clocks ``vc`` in place after adding edges new_src -> new_dst
    (``ex_has[i]``: node i has extra out-edges).

    Each row is saved (once per session ``sid``, tracked in ``stamp``) before
    it first changes, so :func:`undo` restores the co clocks in time and
    space proportional to what changed — never more than one copy of vc.

    Clocks only grow, so a worklist that pushes a node whenever its clock
    grew reaches the least fixpoint — reachability — from the old (smaller)
    one, touching only nodes whose clock changes.  The old graph was
    acyclic, so a cycle must use a new edge a -> b, i.e. b reaches a.
    Returns (cyclic, log_idx, log_rows, nlog).
    """
    inq = np.zeros(n, np.bool_)
    stack = np.empty(n, np.int64)
    top = 0
    for k in range(new_src.shape[0]):
        a, b = new_src[k], new_dst[k]
        grew, log_idx, log_rows, nlog = _join_logged(vc, a, b, stamp, sid, log_idx, log_rows,
                                                     nlog)
        if grew and not inq[b]:
            inq[b] = True
            stack[top] = b
            top += 1
    while top > 0:
        top -= 1
        i = stack[top]
        inq[i] = False
        for kind in range(3):
            # ex_has: skip the binary search for the many nodes without extra edges
            lo, hi = _edges(kind, i, n, chain, rd_ptr, ex_key, ex_has[i])
            for k in range(lo, hi):
                j = _edge_dst(kind, i, k, rd_idx, ex_dst)
                grew, log_idx, log_rows, nlog = _join_logged(vc, i, j, stamp, sid, log_idx,
                                                             log_rows, nlog)
                if grew and not inq[j]:
                    inq[j] = True
                    stack[top] = j
                    top += 1
    cyclic = False
    for k in range(new_src.shape[0]):
        a, b = new_src[k], new_dst[k]
        if pos[b] <= vc[a, chain[b]]:
            cyclic = True
    return cyclic, log_idx, log_rows, nlog
