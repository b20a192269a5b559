"""Grudge topologies: structural properties for every size, checked exhaustively over seeds."""

from __future__ import annotations

import random

import pytest

from nemesis.grudge import (TOPOLOGIES, can_reach, components_seen, complete_grudge, make_grudge,
                            one_way, validate_grudge)


def names(n: int) -> list[str]:
    return [f"n{i}" for i in range(1, n + 1)]


def symmetric(g) -> bool:
    return all(a in g[b] for a in g for b in g[a])


def sees(g, a) -> set[str]:
    return set(components_seen(g)[a])


SIZES = range(2, 10)
SEEDS = range(25)


@pytest.mark.parametrize("n", SIZES)
def test_isolate_one(n):
    for seed in SEEDS:
        g = make_grudge("isolate-one", names(n), random.Random(seed))
        assert symmetric(g)
        victims = [a for a in g if len(g[a]) == n - 1]
        assert len(victims) == (2 if n == 2 else 1)  # with two nodes both are "isolated"
        v = victims[0] if n > 2 else "n1" if g["n1"] == ["n2"] else victims[0]
        assert all(g[a] == [v] for a in g if a != v)


@pytest.mark.parametrize("n", SIZES)
def test_halves_are_two_components_with_a_majority(n):
    for topo in ("halves", "random-halves"):
        seen = set()
        for seed in SEEDS:
            g = make_grudge(topo, names(n), random.Random(seed))
            assert symmetric(g)
            comps = {frozenset(sees(g, a)) for a in g}
            assert len(comps) == 2
            sizes = sorted(len(c) for c in comps)
            assert sizes == [n // 2, n - n // 2]
            assert max(sizes) >= n // 2 + 1 or n % 2 == 0
            seen.add(frozenset(comps))
        if topo == "halves":
            assert len(seen) == 1  # deterministic: node order
            assert sees(g, "n1") == set(names(n)[: n // 2])
        elif n >= 4:
            assert len(seen) > 1  # shuffled


@pytest.mark.parametrize("n", range(4, 12))
def test_majorities_ring(n):
    for seed in SEEDS:
        g = make_grudge("majorities-ring", names(n), random.Random(seed))
        assert symmetric(g)
        views = [frozenset(sees(g, a)) for a in g]
        assert all(a in sees(g, a) for a in g)
        assert all(len(v) >= n // 2 + 1 for v in views), "each node sees a majority"
        assert len(set(views)) == n, "no two nodes see the same majority"
        assert all(len(v) < n for v in views), "and nobody sees everyone"


@pytest.mark.parametrize("n", [2, 3])
def test_majorities_ring_needs_four_nodes(n):
    with pytest.raises(ValueError, match="at least 4 nodes"):
        make_grudge("majorities-ring", names(n), random.Random(0))


@pytest.mark.parametrize("n", range(3, 10))
def test_bridge(n):
    for seed in SEEDS:
        g = make_grudge("bridge", names(n), random.Random(seed))
        assert symmetric(g)
        bridges = [a for a in g if not g[a]]
        assert len(bridges) == 1
        b = bridges[0]
        assert sees(g, b) == set(g)
        rest = [a for a in g if a != b]
        sides = {frozenset(sees(g, a) - {b}) for a in rest}
        assert len(sides) == 2 and sum(len(s) for s in sides) == n - 1
        assert all(abs(len(s) - (n - 1) / 2) <= 0.5 for s in sides)


def test_bridge_needs_three():
    with pytest.raises(ValueError, match="at least 3"):
        make_grudge("bridge", names(2), random.Random(0))


def test_isolate_primary():
    g = make_grudge("isolate-primary", names(5), random.Random(0), primaries=["n3"])
    assert g["n3"] == ["n1", "n2", "n4", "n5"] and g["n1"] == ["n3"]
    g = make_grudge("isolate-primary", names(5), random.Random(0), primaries=["n1", "n4"])
    assert sees(g, "n1") == {"n1"} and sees(g, "n4") == {"n4"}
    assert sees(g, "n2") == {"n2", "n3", "n5"}
    with pytest.raises(ValueError, match="no primary"):
        make_grudge("isolate-primary", names(5), random.Random(0), primaries=[])


@pytest.mark.parametrize("topology", [t for t in TOPOLOGIES if t != "isolate-primary"])
def test_one_way_keeps_exactly_one_direction(topology):
    for seed in SEEDS:
        rng = random.Random(seed)
        g = make_grudge(topology, names(5), rng)
        order = names(5)
        rng.shuffle(order)
        h = one_way(g, order)
        for a in g:
            for b in g[a]:
                assert (b in h[a]) != (a in h[b]), (a, b)
        assert sum(map(len, h.values())) * 2 == sum(map(len, g.values()))


def test_can_reach_and_complete_grudge():
    g = complete_grudge([["a"], ["b", "c"]])
    assert not can_reach(g, "a", "b") and not can_reach(g, "b", "a")
    assert can_reach(g, "b", "c")
    with pytest.raises(ValueError, match="overlap"):
        complete_grudge([["a", "b"], ["b"]])


def test_validate_grudge_errors():
    ns = names(3)
    assert validate_grudge({"n1": ["n2"]}, ns) == {"n1": ["n2"], "n2": [], "n3": []}
    for bad, msg in [({"n9": []}, "unknown node 'n9'"), ({"n1": ["n9"]}, "unknown node 'n9'"),
                     ({"n1": ["n1"]}, "itself"), ({"n1": "n2"}, "list of node names"),
                     (["n1"], "mapping")]:
        with pytest.raises(ValueError, match=msg):
            validate_grudge(bad, ns)


def test_unknown_topology():
    with pytest.raises(ValueError, match="unknown partition topology 'ring'"):
        make_grudge("ring", names(5), random.Random(0))
