"""The disk-fault demonstration, end to end on real redis in netns: under a whole-cluster power
loss (lose-unfsynced), appendfsync everysec loses acknowledged adds and the set checker finds
them; appendfsync always loses none.  Nothing (mount, process, namespace) is left behind."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from .conftest import assert_nothing_left, run_cli

pytestmark = [pytest.mark.netns, pytest.mark.db, pytest.mark.fuse, pytest.mark.slow]

if os.geteuid() != 0 or shutil.which("redis-server") is None or subprocess.run(
        ["/usr/bin/python3", "-c", "import pyfuse3"], capture_output=True).returncode != 0:
    pytest.skip("needs root, redis-server and python3-pyfuse3", allow_module_level=True)


def _run(tmp_path, appendfsync: str):
    store = tmp_path / "store"
    r = run_cli(["run", "--target", "redis", "--workload", "set", "--nemesis", "lose-unfsynced",
                 "--nemesis-interval", "16s", "--time-limit", "30", "--rate", "200",
                 "--concurrency", "6", "--seed", "21", "--no-live",
                 "--target-option", f"appendfsync={appendfsync}"], store, timeout=400)
    assert r.run_dir is not None, r.stderr[-2000:]
    with open("/proc/self/mounts") as f:
        assert not any(str(tmp_path) in line for line in f), "a lazyfs mount was left"
    assert_nothing_left(store)
    return r


def test_everysec_loses_acknowledged_adds(tmp_path):
    r = _run(tmp_path, "everysec")
    res = {x["checker"]: x for x in r.results()["checkers"]}
    assert res["set"]["valid"] is False, res["set"]["summary"]
    assert res["set"]["evidence"]["counts"]["lost"] > 0, res["set"]["evidence"]["counts"]
    fs = [o["f"] for o in r.history() if o.get("process") == "nemesis"]
    assert "start-lose-unfsynced" in fs and "stop-lose-unfsynced" in fs


def test_always_loses_nothing(tmp_path):
    r = _run(tmp_path, "always")
    res = {x["checker"]: x for x in r.results()["checkers"]}
    assert res["set"]["valid"] is True, res["set"]["summary"]
