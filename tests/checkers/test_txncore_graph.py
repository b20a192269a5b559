"""The pieces under the transactional checkers, each against a slow, obvious
twin: the real-time frontier edges against the n² relation, Tarjan against
reachability, the cycle namer, and the model lattice against Elle's
documented examples."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from checkers.txn import models as M
from checkers.txn.cycles import classify, simple_pieces
from checkers.txn.graph import PROC, RT, RW, WR, WW, Edges, build_graph, realtime_edges, tarjan


def _closure(n: int, src, dst) -> set[tuple[int, int]]:
    succ = [set() for _ in range(n)]
    for a, b in zip(src, dst):
        succ[a].add(b)
    out = set()
    for s in range(n):
        todo, seen = [s], set()
        while todo:
            x = todo.pop()
            for y in succ[x]:
                if y not in seen:
                    seen.add(y)
                    todo.append(y)
        out |= {(s, y) for y in seen}
    return out


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.integers(1, 12), st.integers(0, 10_000), st.floats(0, 0.5))
def test_realtime_frontier_is_a_reduction_of_real_time(n, seed, info_rate):
    """Paths of frontier edges are exactly "A completed before B was invoked"."""
    rnd = random.Random(seed)
    pos = {}  # invoke before completion for every op, in a random interleaving
    order = []
    started, done = set(), set()
    while len(done) < n:
        i = rnd.choice([x for x in range(n) if x not in done])
        if i in started:
            done.add(i)
            order.append((i, 1))
        else:
            started.add(i)
            order.append((i, 0))
    for p, (i, kind) in enumerate(order):
        pos[(i, kind)] = p
    inv = np.array([pos[(i, 0)] for i in range(n)], np.int64)
    comp = np.array([-1 if rnd.random() < info_rate else pos[(i, 1)] for i in range(n)], np.int64)
    s, d = realtime_edges(inv, comp)
    want = {(a, b) for a in range(n) for b in range(n) if comp[a] >= 0 and comp[a] < inv[b]}
    assert _closure(n, s.tolist(), d.tolist()) == want
    assert len(s) <= n * n


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.integers(1, 10), st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=30))
def test_tarjan_groups_mutually_reachable_nodes(n, pairs):
    pairs = [(a % n, b % n) for a, b in pairs if a % n != b % n]
    e = Edges(*(np.array(x, np.int64) for x in (
        [a for a, _ in pairs], [b for _, b in pairs], [WW] * len(pairs), [0] * len(pairs),
        [0] * len(pairs), [0] * len(pairs))))
    g = build_graph(n, e)
    comp = tarjan(n, g.indptr, g.indices, g.bits, 31)
    reach = _closure(n, [a for a, _ in pairs], [b for _, b in pairs])
    for a in range(n):
        for b in range(n):
            same = a == b or ((a, b) in reach and (b, a) in reach)
            assert (comp[a] == comp[b]) == same


def test_cycles_are_named_by_their_edges():
    assert classify([WW, WW]) == "G0"
    assert classify([WW, WR]) == "G1c"
    assert classify([RW, WR]) == "G-single-item"
    assert classify([RW, WR, RW, WW]) == "G-nonadjacent-item"
    assert classify([RW, RW]) == "G2-item"
    assert classify([RW, WR, RW]) == "G2-item"   # first and last rw are adjacent around the cycle
    assert classify([WW, PROC]) == "G0-process"
    assert classify([WR, RT, PROC]) == "G1c-realtime"
    assert classify([RW, RT]) == "G-single-item-realtime"


def test_a_walk_splits_into_simple_cycles():
    pieces = simple_pieces([0, 1, 2, 1, 3, 0], [RW, WW, WR, RW, WR])
    assert sorted(map(tuple, (p for p, _ in pieces))) == [(0, 1, 3, 0), (1, 2, 1)]


def test_lattice_matches_elle_examples():
    # G-single rules out consistent-view and repeatable-read at the weakest (Elle's boundary)
    assert M.boundary(["G-single-item"])[0] == ["consistent-view", "repeatable-read"]
    assert M.boundary(["G2-item"])[0] == ["repeatable-read"]
    assert M.boundary(["G0"])[0] == ["read-uncommitted"]
    assert M.boundary(["G1c"])[0] == ["read-committed"]
    assert "serializable" in M.boundary(["G2-item"])[1]
    assert "snapshot-isolation" not in M.boundary(["G2-item"])[0] + M.boundary(["G2-item"])[1]
    # lost update is a G2-item; strict serializability forbids real-time G2
    assert "G2-item" in M.implied(["lost-update"])
    assert "G2-item-realtime" in M.prohibited_by(["strict-serializable"])
    assert "G2-item-realtime" not in M.prohibited_by(["serializable"])
    assert M.canonical("PL-3") == "serializable"
    assert M.boundary([]) == ([], [])
