"""Acceptance (issue 22): a controller SIGKILLed with cpu-starve and stop-and-go in force leaves
a cgroup and stopped processes behind; healing from the journal (what ``splitbrain clean`` does
first) moves the processes back and removes the cgroup, and continues every stopped process;
``splitbrain clean`` itself then reports both and removes the nodes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.store import state_dir
from nemesis.journal import heal_all
from nemesis.reach import ref_argv

from nemesis_support import HERE, controller_report, end_controller, netns_missing

pytestmark = [pytest.mark.netns, pytest.mark.slow]

ROOT = HERE.parent.parent


@pytest.fixture
def crashed(tmp_path):
    why = netns_missing()
    if why:
        pytest.skip(why)
    from nemesis.faults.cpu_starve import cgroup_kind
    kind, why = cgroup_kind()
    if kind is None:
        pytest.skip(why)
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(HERE / "slow_crash_controller.py"), str(store)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    try:
        report = controller_report(proc, 60)
        time.sleep(0.3)                    # inside a 900 ms stop, most likely
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        refs = json.loads((state_dir(store, "nemesis") / f"{report['test_id']}.json")
                          .read_text())["nodes"]
        yield store, report, refs, env
    finally:
        end_controller(proc, store, env)


def _peers(ref) -> list[tuple[int, str]]:
    r = subprocess.run(ref_argv(ref, ["/usr/bin/python3", f"{ref['data_dir']}/procs.py",
                                      f"{ref['data_dir']}/peer.py"]),
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return [(pid, st) for pid, st, _ in json.loads(r.stdout)]


def _cgroup_procs(cg: str) -> set[int]:
    p = Path(cg) / "cgroup.procs"
    return {int(x) for x in p.read_text().split()} if p.exists() else set()


def test_healing_the_journal_moves_back_removes_the_cgroup_and_continues(crashed):
    store, report, refs, _env = crashed
    cg = report["cgroup"]
    # the faults outlived their controller
    assert set(report["pids"]) <= _cgroup_procs(cg), (report, _cgroup_procs(cg))
    before = {pid: st for pid, st in _peers(refs["n2"])}
    out = heal_all(store)
    assert any("cgroup" in line and "removed" in line for line in out), out
    assert any("resumed" in line for line in out), out
    assert not os.path.exists(cg)
    for pid in report["pids"]:
        own = Path(f"/proc/{pid}/cgroup").read_text()
        assert Path(cg).name not in own, own
    time.sleep(0.1)
    after = _peers(refs["n2"])
    assert len(after) == len(before) == 2, (before, after)   # runuser and the peer
    assert all(st != "T" for _, st in after), (before, after)
    assert heal_all(store) == []


def test_splitbrain_clean_heals_then_removes_the_nodes(crashed):
    store, report, _refs, env = crashed
    r = subprocess.run([sys.executable, "-m", "harness", "clean", "--store", str(store)],
                       cwd=ROOT, env=env, capture_output=True, timeout=180)
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr.decode())
    healed = [line for line in out.splitlines() if line.startswith("healed nemesis")]
    assert len(healed) == 2 and "FAILED" not in out, out      # the cgroup, the stop-and-go
    assert not os.path.exists(report["cgroup"])
    assert not list(state_dir(store, "nemesis").glob("*.json"))
    assert not list(state_dir(store, "nodes").glob("*.json"))
