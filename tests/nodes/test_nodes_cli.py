"""``splitbrain nodes up/list/down`` and ``clean`` from the command line, on real netns nodes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def sb(*args: str, store: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args, "--store", str(store)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


@pytest.mark.netns
def test_nodes_up_list_down_clean(tmp_path):
    store = tmp_path / "store"
    r = sb("nodes", "up", "--provider", "netns", "--nodes", "5", "--test-id", "cli1", store=store)
    assert r.returncode == 0, r.stderr
    assert "5 netns nodes up" in r.stdout and "ip netns exec sb-cli1-n5" in r.stdout
    assert "sb-cli1-n3" in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    r2 = sb("nodes", "up", "--nodes", "2", "--test-id", "cli2", store=store)
    assert r2.returncode == 0, r2.stderr
    ls = sb("nodes", "list", store=store)
    assert "cli1" in ls.stdout and "cli2" in ls.stdout
    # Two tests never share a subnet.
    ips1 = [w for w in r.stdout.split() if w.count(".") == 3 and w[0].isdigit()]
    ips2 = [w for w in r2.stdout.split() if w.count(".") == 3 and w[0].isdigit()]
    assert {i.rsplit(".", 1)[0] for i in ips1}.isdisjoint({i.rsplit(".", 1)[0] for i in ips2})

    amb = sb("nodes", "down", store=store)
    assert amb.returncode == 2 and "several tests" in amb.stderr and "Traceback" not in amb.stderr
    d = sb("nodes", "down", "cli1", store=store)
    assert d.returncode == 0 and "bridge sbcli1" in d.stdout
    assert "sb-cli1" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    c = sb("clean", store=store)
    assert c.returncode == 0 and "bridge sbcli2" in c.stdout
    assert "nothing to clean" in sb("clean", store=store).stdout
    missing = sb("nodes", "down", "nosuch", store=store)
    assert missing.returncode == 2 and "no nodes recorded" in missing.stderr


def test_unknown_provider_and_bad_option_are_one_line_errors(tmp_path):
    r = sb("nodes", "up", "--provider", "ssh", "--nodes", "2", store=tmp_path)
    assert r.returncode == 2 and "needs 2 hosts but 0 were given" in r.stderr
    assert "Traceback" not in r.stderr
    r = sb("nodes", "up", "-o", "novalue", store=tmp_path)
    assert r.returncode == 2 and "expected KEY=VALUE" in r.stderr
