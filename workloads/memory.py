"""A real, thread-safe in-memory store with clients for every workload —
for tests and the benchmark, never for real runs.

``MemoryStore`` holds registers (per key), sets and counters behind one
lock, so it is linearizable by construction.  ``stale_probability`` makes a
client's reads return the value a key had *before* its latest change — a
deliberate, realistic anomaly (what a lagging replica serves) that the
checkers must catch.  ``NoopClient`` answers ``ok`` without touching
anything: the benchmark's measure of the harness' own cost.
"""

from __future__ import annotations

import random
import threading
from typing import Any

from core.client import CAS_MISMATCH

from .base import DefiniteFailure


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.registers: dict[Any, Any] = {}
        self.previous: dict[Any, Any] = {}     # key -> value before the latest change
        self.sets: dict[Any, set] = {}
        self.set_previous: dict[Any, frozenset] = {}
        self.counters: dict[Any, int] = {}
        self.counter_previous: dict[Any, int] = {}
        self.down: set[str] = set()             # nodes that refuse connections

    def apply(self, f: str, key: Any, value: Any, stale: bool) -> tuple[str, Any, Any]:
        with self._lock:
            if f == "read":
                if key in self.sets or (key not in self.registers and key not in self.counters
                                        and isinstance(key, str) and key.startswith("s")):
                    cur = self.set_previous.get(key, frozenset()) if stale \
                        else self.sets.get(key, set())
                    return "ok", sorted(cur), None
                if key in self.counters:
                    return "ok", (self.counter_previous.get(key, 0) if stale
                                  else self.counters[key]), None
                return "ok", (self.previous.get(key) if stale else self.registers.get(key)), None
            if f == "write":
                self.previous[key] = self.registers.get(key)
                self.registers[key] = value
                return "ok", value, None
            if f == "cas":
                old, new = value
                if self.registers.get(key) != old:
                    return "fail", value, CAS_MISMATCH
                self.previous[key] = old
                self.registers[key] = new
                return "ok", value, None
            if f == "add":
                if isinstance(key, str) and key.startswith("c"):
                    self.counter_previous[key] = self.counters.get(key, 0)
                    self.counters[key] = self.counters.get(key, 0) + value
                    return "ok", value, None
                s = self.sets.setdefault(key, set())
                self.set_previous[key] = frozenset(s)
                s.add(value)
                return "ok", value, None
            return "fail", None, f"unsupported f {f!r}"


class MemoryClient:
    """One client process of a :class:`MemoryStore`, "bound" to a node name."""

    def __init__(self, store: MemoryStore, node: str = "n1", *, stale_probability: float = 0.0,
                 seed: int = 0):
        if node in store.down:
            raise DefiniteFailure(f"connection refused by {node}")
        self.store = store
        self.node = node
        self.stale_probability = stale_probability
        self._rng = random.Random(seed)
        self.closed = False

    def invoke(self, f: str, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        if self.closed:
            raise RuntimeError("client is closed")
        if self.node in self.store.down:
            raise DefiniteFailure(f"connection refused by {self.node}")
        stale = f == "read" and self.stale_probability > 0 and \
            self._rng.random() < self.stale_probability
        return self.store.apply(f, key, value, stale)

    def close(self) -> None:
        self.closed = True


class NoopClient:
    """Answers every op ``ok`` at once (reads return None)."""

    node = "n1"

    def invoke(self, f: str, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        return "ok", value, None

    def close(self) -> None:
        pass


def memory_client_factory(store: MemoryStore, nodes: list[str] | None = None, *,
                          stale_probability: float = 0.0):
    """``client_factory(process, worker)`` for the runner: worker i talks to
    ``nodes[i % len(nodes)]``."""
    nodes = nodes or ["n1", "n2", "n3"]

    def factory(process: int, worker: int) -> MemoryClient:
        return MemoryClient(store, nodes[worker % len(nodes)],
                            stale_probability=stale_probability, seed=process)
    return factory
