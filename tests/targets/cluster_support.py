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
                  health_s: float = 30.0, env_hook: Callable | None = None,
                  provider: str = "netns") -> Iterator[tuple]:
    t = None
    # the docker provider builds (once) an image from the target's Debian packages
    popts = {"packages": list(targets.get(target)(options or {}).packages)} \
        if provider == "docker" else {}
    prov = get_provider(provider, tmp_path / "store", options=popts)
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


def docker_cluster(tmp_path, target: str, options: dict | None = None, **kw: Any):
    """The same cluster on docker containers (one image per target, built once)."""
    return netns_cluster(tmp_path, target, options, provider="docker", **kw)


def until(pred: Callable[[], Any], within: float, step: float = 0.2) -> Any:
    """``pred()``'s first truthy value within ``within`` seconds, else its last value."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def append_until_ok(client, key, first: int, within: float = 40.0) -> list[int]:
    """Append distinct values to ``key`` until one commits: until the others declare a killed
    node gone (Galera's evs.suspect_timeout, 5 s) a commit waits for it and may time out as
    info.  The values tried, the last the ok one."""
    tried: list[int] = []

    def once() -> bool:
        tried.append(first + len(tried))
        return client.invoke("txn", None, [["append", key, tried[-1]]], 3.0)[0] == "ok"
    assert until(once, within, step=0.5), tried
    return tried


def read_list(client, key, within: float = 30.0) -> list:
    """The list ``key`` holds, read as soon as the client's node answers (a node that just
    rejoined may refuse for a moment)."""
    last: list = []

    def once() -> bool:
        last[:] = [client.invoke("txn", None, [["r", key, None]], 5.0)]
        return last[0][0] == "ok"
    assert until(once, within), last
    return last[0][1][0][2]


def timed_txn(client, ops: list, timeout: float) -> tuple[str, Any, float]:
    """``(type, error, seconds taken)`` of one transaction: how long a stalled server held it."""
    t0 = time.monotonic()
    typ, _, err = client.invoke("txn", None, ops, timeout)
    return typ, err, time.monotonic() - t0


@contextlib.contextmanager
def docker_engine(log_dir) -> Iterator[None]:
    """A running Docker engine: the one that answers, else ``dockerd`` started here (bounded
    wait) and stopped again on exit — the way the node and nemesis tests get theirs."""
    import shutil
    import signal
    import subprocess

    import pytest

    def up() -> bool:
        try:
            import docker
            docker.from_env(timeout=10).ping()
            return True
        except Exception:  # noqa: BLE001 - any failure means "no engine"
            return False
    if up():
        yield
        return
    if shutil.which("dockerd") is None:
        pytest.skip("no Docker engine and no dockerd to start (apt-get install docker.io)")
    log = log_dir / "dockerd.log"
    with open(log, "wb") as lf:
        proc = subprocess.Popen(["dockerd"], stdout=lf, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not up():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dockerd did not come up within 60 s: {log.read_text()[-1500:]}")
            time.sleep(0.25)
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
