"""Fixtures for the node-provider tests: real namespaces, a real Docker engine, a real sshd.

Nothing is mocked.  The Docker engine is started here when it is not
running (and stopped again at the end if we started it); the node image is
built once per package list and found by its hash tag on later runs.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time

import pytest

from nodes_support import CONTRACT_PACKAGES, PROVIDER_PARAMS, make_cluster, require_root


@pytest.fixture(scope="session")
def dockerd(tmp_path_factory):
    """A running Docker engine; started here (bounded wait) when none answers."""
    require_root()
    import docker
    try:
        docker.from_env(timeout=10).ping()
        yield
        return
    except Exception:  # noqa: BLE001 - no engine yet: start one below
        pass
    if shutil.which("dockerd") is None:
        pytest.fail("dockerd not found: apt-get install docker.io")
    log = tmp_path_factory.mktemp("dockerd") / "dockerd.log"
    with open(log, "wb") as lf:
        proc = subprocess.Popen(["dockerd"], stdout=lf, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            docker.from_env(timeout=5).ping()
            break
        except Exception:  # noqa: BLE001
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"dockerd did not come up within 60 s; see {log}:\n"
                            + log.read_text()[-2000:])
            time.sleep(0.25)
    yield
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def node_image(dockerd) -> str:
    import docker
    from harness.nodes.images import ensure_image
    return ensure_image(docker.from_env(timeout=120), CONTRACT_PACKAGES, log=print)


@pytest.fixture(params=PROVIDER_PARAMS)
def cluster(request, tmp_path):
    c = make_cluster(request.param, tmp_path / "store", 3, request)
    yield c
    c.close()
