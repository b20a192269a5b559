"""A run that cannot go on ends with one clear line, healed nodes and nothing
left behind: a spec error, an unreachable node, a target that never becomes
healthy, and Ctrl-C in the middle of the main phase."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from .conftest import REPO, assert_nothing_left, last_run_dir, need_netns_etcd, run_cli


def test_spec_error_is_one_line_and_starts_nothing(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\ntarget: {name: etcd}\nnodes: {count: 3}\n"
                    "workload: {name: register}\nconcurrency: many\ntime_limit: 10\n")
    r = run_cli(["run", str(spec)], tmp_path / "store", timeout=60)
    assert r.rc == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and "concurrency" in err[0] and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "store" / "bad").exists()      # no run directory was made
    assert_nothing_left(tmp_path / "store")


@pytest.mark.parametrize("args,needle", [
    (["--target", "nosuchdb"], "'nosuchdb' is not a target; expected one of etcd"),
    (["--target", "etcd", "--nemesis", "clock"], "vDSO"),
    (["--target", "etcd", "--target-option", "read_mode=stale"], "read_mode"),
])
def test_quick_form_errors_name_the_problem(tmp_path, args, needle):
    r = run_cli(["run", "--workload", "register", "--time-limit", "5", *args],
                tmp_path / "store", timeout=60)
    assert r.rc == 2
    assert needle in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert r.run_dir is None


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.ssh
def test_unreachable_node_is_a_clear_error(tmp_path):
    pytest.importorskip("paramiko")
    try:
        import harness.nodes.ssh  # noqa: F401  (skip when absent)
    except ImportError:
        pytest.skip("ssh provider not available")
    spec = tmp_path / "unreachable.yaml"
    spec.write_text(
        "name: unreachable\ntarget: {name: etcd}\n"
        f"nodes: {{provider: ssh, hosts: ['127.0.0.1:{_closed_port()}']}}\n"
        "workload: {name: register}\ntime_limit: 5\n")
    r = run_cli(["run", str(spec), "--no-live"], tmp_path / "store", timeout=90)
    assert r.rc == 2, (r.stdout, r.stderr)
    assert "cannot provision" in r.stderr and "127.0.0.1" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert_nothing_left(tmp_path / "store")


@pytest.mark.netns
@pytest.mark.db
def test_target_that_never_becomes_healthy(tmp_path):
    need_netns_etcd()
    store = tmp_path / "store"
    # A 10 s heartbeat puts etcd's first election well past the 3 s health bound: a real
    # cluster that is up but has no leader, so it never serves a linearizable read in time.
    r = run_cli(["run", "--target", "etcd", "--nodes", "3", "--workload", "register",
                 "--time-limit", "5", "--health-timeout", "3", "--no-live",
                 "--target-option", "heartbeat_ms=10000", "--target-option", "election_ms=50000"],
                store, timeout=90)
    assert r.rc == 2, (r.stdout, r.stderr)
    assert "did not become healthy within 3 s" in r.stderr, r.stderr
    assert r.run_dir is not None
    meta = r.meta()
    assert meta["verdict"] == "unknown" and meta["errors"]
    assert (r.run_dir / "logs" / "n1" / "etcd.log").exists()   # logs collected for diagnosis
    assert_nothing_left(store, meta["test_id"])


@pytest.mark.netns
@pytest.mark.db
def test_ctrl_c_mid_run_heals_tears_down_and_still_checks(tmp_path):
    need_netns_etcd()
    store = tmp_path / "store"
    env = dict(os.environ, SPLITBRAIN_STORE=str(store), PYTHONPATH=str(REPO))
    p = subprocess.Popen([sys.executable, "-m", "harness", "run", "--target", "etcd",
                          "--nodes", "3", "--workload", "register", "--nemesis", "partition",
                          "--nemesis-interval", "2s", "--time-limit", "60", "--no-live",
                          "--seed", "3"],
                         cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        # Interrupt once a partition is in force in the main phase.
        deadline = time.monotonic() + 60
        hist = None
        while time.monotonic() < deadline:
            runs = [d for d in store.glob("*/2*") if (d / "history.jsonl").exists()]
            if runs:
                hist = runs[0] / "history.jsonl"
                text = hist.read_text()
                if '"f":"start-partition"' in text and '"type":"info","f":"start-partition"' in text:
                    break
            time.sleep(0.2)
        assert hist is not None, "the run never started its main phase"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=80)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode in (1, 2), (out[-2000:], err[-2000:])
    assert "interrupted" in err
    run_dir = last_run_dir(out)
    assert run_dir is not None, out
    meta = json.loads((run_dir / "run.json").read_text())
    res = json.loads((run_dir / "results.json").read_text())
    names = [c["checker"] for c in res["checkers"]]
    assert names[0] == "run" and "linearizable" in names      # checked what was recorded
    assert meta["interrupted"] and meta["ops"]["ok"] > 0
    assert (run_dir / "report.html").exists()
    assert_nothing_left(store, meta["test_id"])


@pytest.mark.netns
@pytest.mark.db
def test_ctrl_c_while_waiting_for_health_tears_down(tmp_path):
    need_netns_etcd()
    store = tmp_path / "store"
    env = dict(os.environ, SPLITBRAIN_STORE=str(store), PYTHONPATH=str(REPO))
    p = subprocess.Popen([sys.executable, "-m", "harness", "run", "--target", "etcd",
                          "--nodes", "3", "--workload", "register", "--time-limit", "30",
                          "--health-timeout", "120", "--no-live",
                          "--target-option", "heartbeat_ms=10000",
                          "--target-option", "election_ms=50000"],
                         cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            metas = list(store.glob("*/2*/run.json"))
            if metas and json.loads(metas[0].read_text() or "{}").get("phase") == "setup":
                break
            time.sleep(0.1)
        time.sleep(1.0)
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        took = time.monotonic() - t0
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 2, (out[-2000:], err[-2000:])
    assert "interrupted while waiting for the target to become healthy" in err
    assert took < 30
    meta = json.loads((last_run_dir(out) / "run.json").read_text())
    assert meta["verdict"] == "unknown"
    assert_nothing_left(store, meta["test_id"])
