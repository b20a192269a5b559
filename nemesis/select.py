"""Which nodes a process or clock fault hits: one, a minority, a majority, the primaries, a
follower (one node the target does not name primary), the followers, all."""

from __future__ import annotations

import random
from typing import Any, Callable, Sequence

SELECTORS = ("one", "minority", "majority", "primaries", "follower", "followers", "all")


def select_nodes(spec: Any, names: Sequence[str], rng: random.Random,
                 primaries: Callable[[], list[str]] | None = None) -> list[str]:
    """Resolve a selector (or an explicit list of node names) to node names.

    A minority is the largest set short of a majority, at least one node;
    a majority is n//2+1 nodes (Jepsen's ``minority``/``majority`` targets).
    ``primaries`` are the nodes the target names primary now (``HasPrimaries``); ``followers``
    the others, ``follower`` one of them at random.
    """
    names = list(names)
    n = len(names)
    if spec is None:
        spec = "one"
    if isinstance(spec, (list, tuple)):
        unknown = [s for s in spec if s not in names]
        if unknown:
            raise ValueError(f"unknown node(s) {unknown}; nodes are {names}")
        return sorted(set(spec), key=names.index)
    if spec in names:
        return [spec]
    if spec == "one":
        return [rng.choice(names)]
    if spec == "minority":
        k = max(1, (n - 1) // 2)
        return sorted(rng.sample(names, k), key=names.index)
    if spec == "majority":
        return sorted(rng.sample(names, n // 2 + 1), key=names.index)
    if spec == "all":
        return names
    if spec in ("primaries", "follower", "followers"):
        if primaries is None:
            raise ValueError(f"{spec}: no target to ask which node is primary")
        prim = [p for p in primaries() if p in names]
        if not prim:
            # Without a known primary every node might be it: "a follower" would be a guess.
            raise ValueError(f"{spec}: the target reports no primary")
        if spec == "primaries":
            return prim
        rest = [p for p in names if p not in prim]
        if not rest:
            raise ValueError(f"{spec}: every node is a primary ({', '.join(prim)})")
        return rest if spec == "followers" else [rng.choice(rest)]
    raise ValueError(f"unknown node selector {spec!r}; expected a node name, a list of names or "
                     f"one of {', '.join(SELECTORS)}")


def a_selector(v: Any) -> str | None:
    """An Option check: a selector or a list of node names (resolved when the fault applies)."""
    ok = isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
    return None if ok else "a node selector: all, one, minority, majority, primaries, or names"
