"""Helpers for end-to-end runs: the real CLI in a subprocess, and checks that a
run left nothing behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def need_netns_etcd() -> None:
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("iptables") is None:
        pytest.skip("needs root, iproute2 and iptables")
    if shutil.which("etcd") is None:
        pytest.skip("needs Debian's etcd-server")


@dataclass
class CliRun:
    rc: int
    stdout: str
    stderr: str
    run_dir: Path | None

    def meta(self) -> dict:
        return json.loads((self.run_dir / "run.json").read_text())

    def results(self) -> dict:
        return json.loads((self.run_dir / "results.json").read_text())

    def history(self) -> list[dict]:
        return [json.loads(l) for l in (self.run_dir / "history.jsonl").read_text().splitlines()
                if l.strip()]


def state_for(store: Path) -> Path:
    """The machine-state directory the e2e runs of ``store`` use (beside it, so a
    module-scoped run and the tests that inspect it agree, whatever the test's own)."""
    return store.parent / f"{store.name}-machine-state"


def run_cli(args: list[str], store: Path, timeout: float = 150) -> CliRun:
    env = dict(os.environ, SPLITBRAIN_STORE=str(store), PYTHONPATH=str(REPO),
               SPLITBRAIN_STATE_DIR=str(state_for(store)))
    p = subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=timeout)
    return CliRun(p.returncode, p.stdout, p.stderr, last_run_dir(p.stdout))


def last_run_dir(stdout: str) -> Path | None:
    lines = [l.strip() for l in stdout.splitlines() if l.strip()]
    if lines and Path(lines[-1]).is_dir():
        return Path(lines[-1])
    return None


def assert_nothing_left(store: Path, test_id: str | None = None) -> None:
    """No node state, no unhealed fault journal, no namespace, bridge or daemon of the test."""
    nodes_state = state_for(store) / "nodes"
    left = list(nodes_state.glob("*.json")) if nodes_state.is_dir() else []
    assert left == [], f"node state left behind: {left}"
    nem_state = state_for(store) / "nemesis"
    for j in (nem_state.glob("*.json") if nem_state.is_dir() else []):
        entries = json.loads(j.read_text()).get("entries") or []
        assert all(e.get("healed") for e in entries), f"unhealed faults in {j}: {entries}"
    if test_id:
        ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert f"sb-{test_id}-" not in ns, ns
        assert not Path(f"/sys/class/net/sb{test_id}").exists()
        procs = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        assert f"/splitbrain-nodes/{test_id}/" not in procs, "a daemon of the test is still running"
