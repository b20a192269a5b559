"""A controller killed with SIGKILL: ``splitbrain clean`` must reclaim everything it created."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.nodes.netns import tag_for
from core.store import state_dir

REPO = Path(__file__).resolve().parents[2]

CONTROLLER = r"""
import json, sys, time
from harness.nodes import get_provider
kind, store, test_id, count, opts = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
p = get_provider(kind, store, test_id, opts)
nodes = p.create(count)
pids = [n.start_daemon("sleeper", ["sh", "-c", "sleep 1000 & sleep 1001"]).pid for n in nodes]
print(json.dumps({"pids": pids}), flush=True)
time.sleep(600)
"""


def _spawn(kind: str, store: Path, test_id: str, count: int, opts: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CONTROLLER, kind, str(store), test_id, str(count),
                             json.dumps(opts)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture(autouse=True)
def _always_clean(tmp_path):
    yield
    if any(state_dir(tmp_path / "store", "nodes").glob("*.json")):
        _clean(tmp_path / "store")


def _clean(store: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", "clean", "--store", str(store)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def _netns_leftovers(test_id: str, pids: list[int]) -> list[str]:
    tag = tag_for(test_id)
    left = [f"namespace {x}" for x in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                     text=True).stdout.split() if x.startswith(f"sb-{tag}-")]
    left += [f"link {x}" for x in os.listdir("/sys/class/net") if x.startswith(f"sb{tag}")]
    left += [f"rule {x}" for x in subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True,
                                                 text=True).stdout.splitlines() if f"sb{tag}" in x]
    if Path(f"/tmp/splitbrain-nodes/{test_id}").exists():
        left.append("data dir")
    for pid in pids:
        try:
            st = Path(f"/proc/{pid}/stat").read_text()
            if st[st.rindex(")") + 2] != "Z":
                left.append(f"process {pid}")
        except FileNotFoundError:
            pass
    return left


@pytest.mark.netns
def test_netns_clean_after_sigkill_when_ready(tmp_path):
    store = tmp_path / "store"
    test_id = "crash" + os.urandom(2).hex()
    proc = _spawn("netns", store, test_id, 3, {})
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        pids = json.loads(line)["pids"]
        assert len(_netns_leftovers(test_id, pids)) >= 3 + 3 + 1   # it really created things
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    r = _clean(store)
    assert r.returncode == 0, r.stderr
    assert f"namespace sb-{tag_for(test_id)}-n1" in r.stdout
    assert _netns_leftovers(test_id, pids) == []
    assert not list(state_dir(store, "nodes").glob("*.json"))
    assert "nothing to clean" in _clean(store).stdout


@pytest.mark.netns
def test_netns_clean_after_sigkill_during_create(tmp_path):
    """Killed while still creating: the intent written first covers the half-made node."""
    store = tmp_path / "store"
    test_id = "half" + os.urandom(2).hex()
    proc = _spawn("netns", store, test_id, 60, {})
    state = state_dir(store, "nodes") / f"{test_id}.json"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if len(json.loads(state.read_text()).get("nodes") or []) >= 4:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    try:
        made = _netns_leftovers(test_id, [])
        assert made, "the controller was killed before it created anything"
        recorded = len(json.loads(state.read_text())["nodes"])
        assert recorded < 60, "the controller finished creating before it was killed"
    finally:
        # Whatever the assertions said, the namespaces this test made must not outlive it.
        r = _clean(store)
    assert r.returncode == 0, r.stderr
    assert _netns_leftovers(test_id, []) == []
    assert not state.exists()


@pytest.mark.docker
@pytest.mark.slow
def test_docker_clean_after_sigkill(tmp_path, node_image):
    import docker
    store = tmp_path / "store"
    test_id = "dcrash" + os.urandom(1).hex()
    proc = _spawn("docker", store, test_id, 3, {"image": node_image})
    cl = docker.from_env()

    def left() -> list[str]:
        out = [c.name for c in cl.containers.list(all=True, filters={"label": f"splitbrain.test={test_id}"})]
        out += [n.name for n in cl.networks.list(names=[f"sb-{tag_for(test_id)}"])]
        return out
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        assert len(left()) == 4
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    r = _clean(store)
    assert r.returncode == 0, r.stderr
    assert left() == []
    assert not list(state_dir(store, "nodes").glob("*.json"))


PAUSING_CONTROLLER = r"""
import json, signal, sys, time
from harness.nodes import get_provider
from nemesis.journal import Journal, journal_path
store, test_id = sys.argv[1], sys.argv[2]
p = get_provider("netns", store, test_id, {})
nodes = p.create(2)
d = nodes[0].start_daemon("sleeper", ["sleep", "1000"])
j = Journal(journal_path(store, test_id), nodes)
j.record("pause", nodes[0].name, pids=[d.pid], pgids=[d.pgid])
nodes[0].signal(d, signal.SIGSTOP)
print(json.dumps({"pid": d.pid}), flush=True)
time.sleep(600)
"""


@pytest.mark.netns
def test_clean_heals_faults_before_destroying_nodes(tmp_path):
    """clean calls nemesis.journal.heal_all first, while the nodes still exist to be healed."""
    store = tmp_path / "store"
    test_id = "heal" + os.urandom(2).hex()
    proc = subprocess.Popen([sys.executable, "-c", PAUSING_CONTROLLER, str(store), test_id], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        pid = json.loads(line)["pid"]

        def state() -> str:
            st = Path(f"/proc/{pid}/stat").read_text()
            return st[st.rindex(")") + 2]
        deadline = time.monotonic() + 5   # the stop lands when the process is next scheduled
        while state() != "T" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert state() == "T"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    r = _clean(store)
    assert r.returncode == 0, r.stderr
    out = r.stdout.splitlines()
    healed = [i for i, ln in enumerate(out) if ln.startswith("healed") and "resumed" in ln]
    removed = [i for i, ln in enumerate(out) if ln.startswith("removed")]
    assert healed and removed and max(healed) < min(removed), r.stdout
    assert _netns_leftovers(test_id, [pid]) == []
