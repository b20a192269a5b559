"""`nodes up` in one directory, `clean` in another: the record of the nodes is
machine-wide, so clean finds them and nothing is left (issue 20)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.nodes.netns import tag_for
from core.store import state_dir

pytestmark = pytest.mark.netns

REPO = Path(__file__).resolve().parents[2]


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SPLITBRAIN_STORE"}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


def test_nodes_up_here_clean_there_leaves_nothing(tmp_path):
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2")
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    test_id = "cl" + os.urandom(3).hex()
    up = _cli(here, "nodes", "up", "--provider", "netns", "--nodes", "2", "--test-id", test_id)
    try:
        assert up.returncode == 0, up.stderr
        ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert f"sb-{tag_for(test_id)}-n1" in ns
        # The record is not in either directory's store but in the machine-wide place.
        assert (state_dir(here / "store", "nodes") / f"{test_id}.json").exists()
        assert not (here / "store" / ".state").exists()
        listed = _cli(there, "nodes", "list")
        assert test_id in listed.stdout, listed
        clean = _cli(there, "clean")
        assert clean.returncode == 0, clean.stderr
        assert f"removed netns {test_id}" in clean.stdout, clean.stdout
    finally:
        _cli(here, "clean", "--force")
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"sb-{tag_for(test_id)}-" not in ns, ns
    assert not list(state_dir(there / "store", "nodes").glob("*.json"))
    assert "nothing to clean" in _cli(tmp_path, "clean").stdout
