"""Grudges: which node drops traffic from which.

A grudge maps each node name to the sorted list of node names whose packets
it drops.  Topologies follow Jepsen's nemesis vocabulary (jepsen.nemesis:
``complete-grudge``, ``bisect``, ``bridge``, ``majorities-ring``); the ring
here is built symmetric so "both directions dropped" holds by construction.
"""

from __future__ import annotations

import random
from typing import Iterable, Sequence

TOPOLOGIES: dict[str, str] = {
    "isolate-one": "one random node cut off from all others",
    "isolate-primary": "the target's primary/leader node(s) each cut off from all others",
    "halves": "nodes split into two halves (in node order), the larger half a majority",
    "random-halves": "nodes shuffled, then split into two halves",
    "majorities-ring": "every node sees a majority, no two nodes see the same majority",
    "bridge": "two halves joined by one node that sees both",
}

Grudge = dict[str, list[str]]


def complete_grudge(components: Sequence[Sequence[str]]) -> Grudge:
    """Every node drops traffic from every node outside its own component."""
    grudge: Grudge = {}
    all_nodes = [n for comp in components for n in comp]
    if len(set(all_nodes)) != len(all_nodes):
        raise ValueError(f"components overlap: {components!r}")
    for comp in components:
        inside = set(comp)
        for n in comp:
            grudge[n] = sorted(m for m in all_nodes if m not in inside)
    return grudge


def bisect(nodes: Sequence[str]) -> list[list[str]]:
    """Two halves; the second gets the extra node so it holds the majority."""
    k = len(nodes) // 2
    return [list(nodes[:k]), list(nodes[k:])]


def bridge(nodes: Sequence[str]) -> Grudge:
    """Two halves that cannot see each other, plus one middle node seeing both."""
    if len(nodes) < 3:
        raise ValueError(f"bridge needs at least 3 nodes, got {len(nodes)}")
    mid = len(nodes) // 2
    left, middle, right = list(nodes[:mid]), nodes[mid], list(nodes[mid + 1:])
    grudge: Grudge = {n: sorted(right) for n in left}
    grudge.update({n: sorted(left) for n in right})
    grudge[middle] = []
    return grudge


def majorities_ring(nodes: Sequence[str]) -> Grudge:
    """Nodes on a ring; each sees the k neighbours on each side of it.

    k is the smallest with 2k+1 >= majority, so each view is a majority, and
    2k+1 < n keeps the views distinct (windows centred on different nodes
    differ).  Because "within k steps" is symmetric, so is the grudge.
    """
    n = len(nodes)
    majority = n // 2 + 1
    k = majority // 2  # == ceil((majority - 1) / 2)
    if 2 * k + 1 >= n:
        raise ValueError(f"majorities-ring needs at least 4 nodes so that no two nodes see the "
                         f"same majority; got {n}")
    grudge: Grudge = {}
    for i, a in enumerate(nodes):
        drops = []
        for j, b in enumerate(nodes):
            d = abs(i - j)
            if min(d, n - d) > k:
                drops.append(b)
        grudge[a] = sorted(drops)
    return grudge


def make_grudge(topology: str, nodes: Sequence[str], rng: random.Random,
                primaries: Iterable[str] = ()) -> Grudge:
    """The grudge for a named topology over ``nodes`` (names)."""
    nodes = list(nodes)
    if len(nodes) < 2:
        raise ValueError(f"a partition needs at least 2 nodes, got {len(nodes)}")
    if topology == "isolate-one":
        victim = rng.choice(nodes)
        return complete_grudge([[victim], [n for n in nodes if n != victim]])
    if topology == "isolate-primary":
        prim = [p for p in nodes if p in set(primaries)]
        if not prim:
            raise ValueError("isolate-primary: the target reports no primary among the nodes")
        rest = [n for n in nodes if n not in prim]
        return complete_grudge([[p] for p in prim] + ([rest] if rest else []))
    if topology == "halves":
        return complete_grudge(bisect(nodes))
    if topology == "random-halves":
        shuffled = nodes[:]
        rng.shuffle(shuffled)
        return complete_grudge(bisect(shuffled))
    if topology == "majorities-ring":
        shuffled = nodes[:]
        rng.shuffle(shuffled)
        return majorities_ring(shuffled)
    if topology == "bridge":
        shuffled = nodes[:]
        rng.shuffle(shuffled)
        return bridge(shuffled)
    raise ValueError(f"unknown partition topology {topology!r}; expected one of "
                     f"{', '.join(TOPOLOGIES)}")


def one_way(grudge: Grudge, order: Sequence[str]) -> Grudge:
    """Keep only drops from earlier to later nodes of ``order``.

    a drops b survives iff a comes before b, so for every dropped pair exactly
    one direction remains: packets flow b <- a is cut, a <- b is not.
    """
    rank = {n: i for i, n in enumerate(order)}
    return {a: sorted(b for b in drops if rank[a] < rank[b]) for a, drops in grudge.items()}


def validate_grudge(grudge: dict, nodes: Sequence[str]) -> Grudge:
    """An explicit grudge from a spec or op, checked against the node names."""
    known = set(nodes)
    if not isinstance(grudge, dict):
        raise ValueError(f"grudge must be a mapping node -> [nodes it drops], got {grudge!r}")
    out: Grudge = {n: [] for n in nodes}
    for a, drops in grudge.items():
        if a not in known:
            raise ValueError(f"grudge names unknown node {a!r}; nodes are {sorted(known)}")
        if not isinstance(drops, (list, tuple, set)):
            raise ValueError(f"grudge[{a!r}] must be a list of node names, got {drops!r}")
        for b in drops:
            if b not in known:
                raise ValueError(f"grudge[{a!r}] names unknown node {b!r}")
            if b == a:
                raise ValueError(f"grudge[{a!r}] names the node itself")
        out[a] = sorted(set(drops))
    return out


def can_reach(grudge: Grudge, src: str, dst: str) -> bool:
    """Whether a packet from src is accepted by dst under the grudge."""
    return src not in grudge.get(dst, [])


def components_seen(grudge: Grudge) -> dict[str, list[str]]:
    """For each node, the nodes it exchanges packets with in both directions."""
    nodes = list(grudge)
    return {a: sorted(b for b in nodes if can_reach(grudge, a, b) and can_reach(grudge, b, a))
            for a in nodes}
