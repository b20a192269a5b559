"""Consistency models, the anomalies each rules out, and which anomalies imply
which — the lattice Elle uses (Kingsbury & Alvaro 2020, after Adya 1999,
Bailis et al. 2013, Cerone et al. 2015, Daudjee & Salem 2004/2006), written
as data here with friendly names (``serializable`` for Adya's PL-3 …).

Three relations:
- ``STRONGER``: model -> models it implies (a history satisfying the first
  satisfies the others);
- ``PROSCRIBES``: model -> anomalies it directly rules out (the rest come
  from the models it implies);
- ``IMPLIES``: anomaly -> anomalies its presence also shows (a G0 cycle is
  also a G1c; a lost update is a G2-item).

``garbage-read`` (a read of a value nobody wrote) is ours: no model allows
it, so read-uncommitted proscribes it and everything stronger inherits it.
``lost-append`` (an acknowledged append no read ever saw, missing from a read
that began after it completed; checkers/txn/durability.py) is ours too: only
models with real-time order rule it out.
"""

from __future__ import annotations

from typing import Iterable

STRONGER: dict[str, tuple[str, ...]] = {
    "causal-cerone": ("read-atomic",),
    "consistent-view": ("cursor-stability", "monotonic-view"),
    "cursor-stability": ("read-committed",),
    "forward-consistent-view": ("consistent-view",),
    "read-committed": ("read-uncommitted",),
    "update-serializable": ("forward-consistent-view",),
    "monotonic-atomic-view": ("read-committed",),
    "monotonic-view": ("read-committed",),
    "monotonic-snapshot-read": ("read-committed",),
    "parallel-snapshot-isolation": ("causal-cerone", "update-atomic"),
    "prefix": ("causal-cerone",),
    "read-atomic": ("monotonic-atomic-view",),
    "repeatable-read": ("cursor-stability", "monotonic-atomic-view"),
    "update-atomic": ("read-atomic",),
    "serializable": ("repeatable-read", "update-serializable", "snapshot-isolation",
                     "view-serializable"),
    "session-serializable": ("1SR",),
    "snapshot-isolation": ("forward-consistent-view", "monotonic-atomic-view",
                           "monotonic-snapshot-read", "parallel-snapshot-isolation", "prefix"),
    "strict-serializable": ("serializable", "linearizable", "snapshot-isolation",
                            "strong-snapshot-isolation", "strong-session-serializable",
                            "session-serializable"),
    "strong-session-read-uncommitted": ("read-uncommitted",),
    "strong-session-read-committed": ("read-committed", "strong-session-read-uncommitted"),
    "strong-read-uncommitted": ("strong-session-read-uncommitted",),
    "strong-read-committed": ("strong-session-read-committed", "strong-read-uncommitted"),
    "strong-session-serializable": ("serializable", "strong-session-snapshot-isolation"),
    "strong-session-snapshot-isolation": ("snapshot-isolation", "strong-session-read-committed"),
    "strong-snapshot-isolation": ("strong-session-snapshot-isolation", "strong-read-committed"),
    "linearizable": ("sequential",),
    "sequential": ("causal",),
    "causal": ("writes-follow-reads", "PRAM"),
    "PRAM": ("monotonic-reads", "monotonic-writes", "read-your-writes"),
}

# Other names people use for the same model (Adya's PL-n, Elle's canonical names).
ALIASES: dict[str, str] = {
    "PL-1": "read-uncommitted", "PL-2": "read-committed", "PL-2.99": "repeatable-read",
    "PL-3": "serializable", "conflict-serializable": "serializable",
    "PL-SI": "snapshot-isolation", "PL-SS": "strict-serializable",
    "strong-serializable": "strict-serializable", "PL-CS": "cursor-stability",
    "PL-2+": "consistent-view", "PL-FCV": "forward-consistent-view",
    "PL-MSR": "monotonic-snapshot-read", "PL-2L": "monotonic-view",
    "PL-3U": "update-serializable",
    "strong-session-PL-1": "strong-session-read-uncommitted",
    "strong-session-PL-2": "strong-session-read-committed",
    "strong-PL-1": "strong-read-uncommitted", "strong-PL-2": "strong-read-committed",
}

PROSCRIBES: dict[str, tuple[str, ...]] = {
    "causal-cerone": ("internal", "G1a"),
    "cursor-stability": ("G1", "G-cursor", "lost-update"),
    "monotonic-view": ("G1", "G-monotonic"),
    "monotonic-snapshot-read": ("G1", "G-MSR"),
    "consistent-view": ("G1", "G-single"),
    "forward-consistent-view": ("G1", "G-SIb"),
    "parallel-snapshot-isolation": ("internal", "G1a"),
    "serializable": ("G1", "G2", "internal", "predicate-read-miss"),
    "read-committed": ("G1",),
    "read-uncommitted": ("G0", "duplicate-elements", "cyclic-versions", "garbage-read"),
    "prefix": ("internal", "G1a"),
    "snapshot-isolation": ("internal", "G1", "G-SI", "G-nonadjacent"),
    "read-atomic": ("internal", "G1a", "future-read"),
    "repeatable-read": ("G1", "G2-item", "lost-update"),
    "update-atomic": ("lost-update",),
    "strict-serializable": ("G1", "G1c-realtime", "G2-realtime", "lost-append"),
    "strong-session-read-uncommitted": ("G0-process",),
    "strong-session-read-committed": ("G1c-process",),
    "strong-read-uncommitted": ("G0-realtime",),
    "strong-read-committed": ("G1c-realtime",),
    "strong-session-snapshot-isolation": ("internal", "G1-process", "G-nonadjacent-process"),
    "strong-snapshot-isolation": ("internal", "G1-realtime", "G-nonadjacent-realtime",
                                  "lost-append"),
    "strong-session-serializable": ("G1-process", "G2-process"),
    "update-serializable": ("G1", "G-update"),
}

IMPLIES: dict[str, tuple[str, ...]] = {
    "G0": ("G1c", "G0-process"),
    "G0-process": ("G1c-process", "G0-realtime"),
    "G0-realtime": ("G1c-realtime",),
    "G1a": ("G1",), "G1b": ("G1",),
    "G1c": ("G1", "G1c-process"),
    "G1c-process": ("G1c-realtime", "G1-process"),
    "G1c-realtime": ("G1-realtime",),
    "G1": ("G1-process",),
    "G1-process": ("G1-realtime",),
    "G-single-item": ("G-single", "G-single-item-process", "G-nonadjacent-item"),
    "G-single-item-process": ("G-single-process", "G-single-item-realtime",
                              "G-nonadjacent-item-process"),
    "G-single-item-realtime": ("G-single-realtime", "G-nonadjacent-item-realtime"),
    "G-single": ("G-nonadjacent", "GSIb", "G-single-process"),
    "G-single-process": ("G-nonadjacent-process", "G-single-realtime"),
    "G-single-realtime": ("G-nonadjacent-realtime",),
    "G-nonadjacent-item": ("G-nonadjacent", "G2-item", "G-nonadjacent-item-process"),
    "G-nonadjacent-item-process": ("G-nonadjacent-process", "G2-item-process",
                                   "G-nonadjacent-item-realtime"),
    "G-nonadjacent-item-realtime": ("G2-item-realtime", "G-nonadjacent-realtime"),
    "G-nonadjacent": ("G2", "G-nonadjacent-process"),
    "G-nonadjacent-process": ("G2-process", "G-nonadjacent-realtime"),
    "G-nonadjacent-realtime": ("G2-realtime",),
    "G2": ("G2-process",),
    "G2-item": ("G2", "G2-item-process"),
    "G2-item-process": ("G2-process", "G2-item-realtime"),
    "G2-item-realtime": ("G2-realtime",),
    "G2-process": ("G2-realtime",),
    "GSIa": ("GSI",), "GSIb": ("GSI",),
    "incompatible-order": ("G1a",),
    "future-read": ("G1c",),
    "dirty-update": ("G1a",),
    "lost-update": ("write-skew", "G2-item"),
    "write-skew": ("G2",),
}


def _reverse(g: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a, bs in g.items():
        for b in bs:
            out.setdefault(b, []).append(a)
    return out


_WEAKER_OF = _reverse(STRONGER)          # model -> models that imply it
_IMPLIED_BY = _reverse(IMPLIES)          # anomaly -> anomalies that imply it
_PROSCRIBED_BY = _reverse(PROSCRIBES)    # anomaly -> models that rule it out directly

MODELS: frozenset[str] = frozenset(STRONGER) | {m for ms in STRONGER.values() for m in ms}
CYCLE_BASES = ("G0", "G1c", "G-single-item", "G-nonadjacent-item", "G2-item")
ANOMALIES: frozenset[str] = (frozenset(IMPLIES) | {a for xs in IMPLIES.values() for a in xs}
                             | {a for xs in PROSCRIBES.values() for a in xs}
                             | {"garbage-read", "cyclic-versions"})


def _closure(start: Iterable[str], step: dict) -> set[str]:
    seen = set(start)
    todo = list(seen)
    while todo:
        x = todo.pop()
        for y in step.get(x, ()):
            if y not in seen:
                seen.add(y)
                todo.append(y)
    return seen


def canonical(model: str) -> str:
    """The friendly name of ``model``; ValueError naming the known ones if unknown."""
    m = ALIASES.get(model, model)
    if m not in MODELS:
        raise ValueError(f"unknown consistency model {model!r}: expected one of "
                         f"{', '.join(sorted(MODELS))}")
    return m


def check_anomaly_names(names: Iterable[str]) -> list[str]:
    out = list(names)
    for a in out:
        if a not in ANOMALIES:
            raise ValueError(f"unknown anomaly {a!r}: expected one of {', '.join(sorted(ANOMALIES))}")
    return out


def prohibited_by(models: Iterable[str]) -> set[str]:
    """Every anomaly that cannot occur if all of ``models`` hold."""
    held = _closure((canonical(m) for m in models), STRONGER)
    direct = {a for m in held for a in PROSCRIBES.get(m, ())}
    return _closure(direct, _IMPLIED_BY)


def implied(anomalies: Iterable[str]) -> set[str]:
    """The anomalies present once ``anomalies`` are (themselves included)."""
    return _closure(anomalies, IMPLIES)


def implying(anomalies: Iterable[str]) -> set[str]:
    """The anomalies whose presence would show one of ``anomalies`` (themselves included)."""
    return _closure(anomalies, _IMPLIED_BY)


def boundary(anomalies: Iterable[str]) -> tuple[list[str], list[str]]:
    """``(not, also_not)``: the weakest models the anomalies rule out, and every
    stronger model they rule out too (both sorted)."""
    present = implied(anomalies)
    direct = {m for a in present for m in _PROSCRIBED_BY.get(a, ())}
    impossible = _closure(direct, _WEAKER_OF)
    weakest = {m for m in impossible
               if not any(w in impossible for w in _closure(STRONGER.get(m, ()), STRONGER))}
    return sorted(weakest), sorted(impossible - weakest)
