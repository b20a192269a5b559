"""The same run on the docker provider: the etcd image is built from the
target's Debian packages (once; later runs reuse it)."""

from __future__ import annotations

import shutil

import pytest

from .conftest import assert_nothing_left, run_cli

pytestmark = [pytest.mark.docker, pytest.mark.db, pytest.mark.slow]


def test_register_with_kills_on_docker_is_valid(tmp_path):
    if shutil.which("docker") is None:
        pytest.skip("needs docker")
    store = tmp_path / "store"
    r = run_cli(["run", "--target", "etcd", "--nodes", "3", "--provider", "docker",
                 "--workload", "register", "--nemesis", "kill,partition",
                 "--nemesis-interval", "4s", "--time-limit", "15", "--seed", "4", "--no-live"],
                store, timeout=600)
    if r.rc == 2 and "docker" in r.stderr.lower() and "engine" in r.stderr.lower():
        pytest.skip(f"docker engine not usable: {r.stderr.strip()}")
    assert r.rc == 0, (r.stdout[-3000:], r.stderr[-3000:])
    meta = r.meta()
    assert meta["ops"]["ok"] > 300
    assert any(o["process"] == "nemesis" and o["f"] in ("kill", "start-partition")
               for o in r.history())
    assert (r.run_dir / "logs" / "n1" / "etcd.log").stat().st_size > 0
    assert_nothing_left(store)
