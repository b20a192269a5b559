"""Fixtures for the nemesis tests: five real nodes (netns, and docker when an engine runs).

Nothing is mocked.  The docker variant builds (once, cached by its package
hash) a node image with python3 and libfaketime for the test scripts, and
starts a Docker engine when none answers and ``dockerd`` is installed.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time

import pytest

from nemesis_support import (DOCKER_PACKAGES, HERE, PROVIDERS, _engine_up,  # noqa: F401
                             make_provider, netns_missing)

NODE_SCRIPTS = ("peer.py", "probe.py", "procs.py", "clockreader.py")

@pytest.fixture(scope="session")
def docker_image(tmp_path_factory):
    """The node image tag, starting dockerd first if needed (stopped again at the end)."""
    why = netns_missing()
    if why:
        pytest.skip(why)
    proc = None
    if not _engine_up():
        if shutil.which("dockerd") is None:
            pytest.skip("no Docker engine and no dockerd to start (apt-get install docker.io)")
        log = tmp_path_factory.mktemp("dockerd") / "dockerd.log"
        with open(log, "wb") as lf:
            proc = subprocess.Popen(["dockerd"], stdout=lf, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        deadline = time.monotonic() + 60
        while not _engine_up():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"dockerd did not come up within 60 s: {log.read_text()[-1500:]}")
            time.sleep(0.25)
    import docker
    from harness.nodes.images import ensure_image
    yield ensure_image(docker.from_env(timeout=600), DOCKER_PACKAGES, log=print)
    if proc is not None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module", params=PROVIDERS)
def cluster(request, tmp_path_factory):
    """Five real nodes for the module, with the test scripts copied onto each."""
    store = tmp_path_factory.mktemp("store")
    prov = make_provider(request.param, store, request)
    nodes = prov.create(5)
    try:
        for n in nodes:
            for script in NODE_SCRIPTS:
                n.put_file(f"{n.data_dir}/{script}", (HERE / script).read_bytes(), 0o644)
        yield store, nodes
    finally:
        prov.destroy()


# The old name, used by the test modules.
@pytest.fixture(scope="module")
def netns_cluster(cluster):
    return cluster
