"""Acceptance: a controller SIGKILLed mid-partition and mid-pause; healing leaves nothing behind.

Checks go through the node references the journal recorded (``ip netns exec``
or ``docker exec``), the same way the heal itself reaches the nodes.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nemesis import iptables as ipt
from nemesis.journal import heal_all
from nemesis.reach import ref_argv

from nemesis_support import PROVIDERS
from nemesis_support import HERE, PY, controller_report, end_controller
from core.store import state_dir

pytestmark = [pytest.mark.slow]

ROOT = HERE.parent.parent


SSH = pytest.param("ssh", marks=[pytest.mark.ssh, pytest.mark.netns], id="ssh")


@pytest.fixture(params=[*PROVIDERS, SSH])
def crashed(request, tmp_path):
    """Start the controller, wait for its faults, SIGKILL it; yield (store, report, refs)."""
    from nemesis_support import make_provider  # skips without root
    kind = request.param
    make_provider("netns", tmp_path / "probe-store", request)
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, str(HERE / "crash_controller.py"), str(store), kind]
    if kind == "docker":
        argv.append(request.getfixturevalue("docker_image"))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    report = None
    try:
        report = controller_report(proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        jpath = state_dir(store, "nemesis") / f"{report['test_id']}.json"
        refs = json.loads(jpath.read_text())["nodes"]
        yield store, report, refs, kind
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if kind == "ssh" and report:
            # The ssh nodes first, while the netns hosts that run their sshd still exist.
            from harness.nodes import reclaim_all
            with contextlib.suppress(Exception):
                reclaim_all(store, test_id=report["test_id"])
        # Remove the nodes whatever happened.
        subprocess.run([sys.executable, "-m", "harness", "clean", "--store", str(store)],
                       cwd=ROOT, env=env, capture_output=True, timeout=180)
        if kind == "ssh" and report:
            for n in report["nodes"]:
                root = Path(n["data_dir"]).parent.parent
                if str(root).startswith("/tmp/splitbrain-nodes/"):
                    shutil.rmtree(root, ignore_errors=True)


def run(ref, argv) -> tuple[int, str]:
    r = subprocess.run(ref_argv(ref, argv), capture_output=True, timeout=60)
    return r.returncode, r.stdout.decode() + r.stderr.decode()[-300:]


def chains(ref) -> list[str]:
    code, out = run(ref, ["sh", "-c", ipt.list_chains_script()])
    assert code == 0, out
    return out.split()


def procs(ref, marker) -> list[list]:
    py = "python3" if ref["kind"] == "docker" else PY
    code, out = run(ref, [py, f"{ref['data_dir']}/procs.py", marker])
    assert code == 0, out
    return json.loads(out)


def exists(ref, path) -> bool:
    return run(ref, ["test", "-e", path])[0] == 0


def test_heal_all_after_sigkill_leaves_no_chain_no_pause_no_offset(crashed):
    store, report, refs, _kind = crashed
    jpath = state_dir(store, "nemesis") / f"{report['test_id']}.json"
    n1, n2, n3 = (refs[n] for n in ("n1", "n2", "n3"))
    # The faults really outlived their controller.
    assert all(chains(r) for r in refs.values())
    assert {st for _, st, _ in procs(n1, n1["data_dir"] + "/peer.py")} == {"T"}
    offset = "{}/splitbrain-faketime"
    assert exists(n2, offset.format(n2["data_dir"]))
    time.sleep(0.1)
    assert exists(n3, offset.format(n3["data_dir"])), "the strobe loop outlives its controller"

    healed = heal_all(store)
    assert any("resumed" in h for h in healed), healed
    assert any("SPLITBRAIN-PART" in h for h in healed), healed
    assert any("strobe" in h for h in healed), healed

    for name, ref in refs.items():
        assert chains(ref) == [], name
        ps = procs(ref, ref["data_dir"] + "/peer.py")
        assert len(ps) == 2 and all(st != "T" for _, st, _ in ps), (name, ps)
        assert not procs(ref, ref["data_dir"] + "/splitbrain-faketime.strobe"), name
    time.sleep(0.3)  # a strobe loop still alive would have rewritten its file by now
    for ref in refs.values():
        assert not exists(ref, offset.format(ref["data_dir"]))
    assert not jpath.exists()
    assert heal_all(store) == []


def test_splitbrain_clean_after_sigkill(crashed):
    store, report, refs, kind = crashed
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "harness", "clean", "--store", str(store)],
                       cwd=ROOT, env=env, capture_output=True, timeout=180)
    out = r.stdout.decode()
    healed = [line for line in out.splitlines() if line.startswith("healed nemesis")]
    assert len(healed) == 8, out  # pause, strobe, bump, 3 partition chains, 2 loss chains
    assert "FAILED" not in out, out
    assert not list(state_dir(store, "nemesis").glob("*.json"))
    if kind != "ssh":
        # With ssh nodes hosted on netns nodes, reclaiming may remove the hosts
        # before the ssh nodes (the node provider's business, not the nemesis').
        assert r.returncode == 0, (out, r.stderr.decode())
        assert "removed" in out and not list(state_dir(store, "nodes").glob("*.json"))


@pytest.mark.netns
def test_ctrl_c_heals_everything_through_the_context_manager(tmp_path, request):
    from nemesis_support import make_provider  # skips without root
    make_provider("netns", tmp_path / "probe-store", request)
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(HERE / "crash_controller.py"), str(store), "netns",
                             "--heal-on-interrupt"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        assert ready, proc.stderr.read().decode()[-2000:]
        report = json.loads(proc.stdout.readline())
        jpath = state_dir(store, "nemesis") / f"{report['test_id']}.json"
        refs = json.loads(jpath.read_text())["nodes"]
        assert all(chains(r) for r in refs.values())
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert json.loads(out.decode().splitlines()[-1]) == {"interrupted": True, "active": []}
        assert not jpath.exists()
        for name, ref in refs.items():
            assert chains(ref) == [], name
            assert all(st != "T" for _, st, _ in procs(ref, ref["data_dir"] + "/peer.py"))
            assert not exists(ref, ref["data_dir"] + "/splitbrain-faketime")
    finally:
        end_controller(proc, store, env)
