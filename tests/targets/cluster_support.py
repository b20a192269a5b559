"""A target's cluster on fresh netns nodes for the target tests: set up and
healthy, and always torn down (daemons killed, namespaces removed), whatever
the test did."""

from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Iterator

import targets
from harness.nodes import get_provider


@contextlib.contextmanager
def netns_cluster(tmp_path, target: str, options: dict | None = None, *, nodes: int = 3,
                  health_s: float = 30.0, env_hook: Callable | None = None) -> Iterator[tuple]:
    prov = get_provider("netns", tmp_path / "store")
    t = None
    try:
        ns = prov.create(nodes)
        t = targets.get(target)(options or {})
        t.env_hook = env_hook
        t.setup(ns)
        ok, why = t.wait_healthy(health_s)
        assert ok, why
        yield t, ns
    finally:
        if t is not None:
            try:
                t.stop_all()
            except Exception:
                pass
        prov.destroy()


def until(pred: Callable[[], Any], within: float, step: float = 0.2) -> Any:
    """``pred()``'s first truthy value within ``within`` seconds, else its last value."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
