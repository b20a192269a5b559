"""The shipped smoke matrix, for real: every target on netns nodes under a
partition, 10 s of workload each, summary table and JSON with a verdict per
cell as the matrix expects."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.netns, pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
NEEDS = ("etcd", "redis-server", "redis-sentinel", "java")

if os.geteuid() != 0 or any(shutil.which(b) is None for b in NEEDS) or \
        not Path("/usr/share/java/zookeeper.jar").exists():
    pytest.skip("needs root, etcd-server, redis-server, redis-sentinel and zookeeperd",
                allow_module_level=True)


def test_smoke_matrix_runs_every_target_and_prints_the_table(tmp_path):
    summary = tmp_path / "smoke.json"
    r = subprocess.run([sys.executable, "-m", "harness", "test-all",
                        str(ROOT / "examples" / "matrix-smoke.yaml"), "--time-limit", "10",
                        "--store", str(tmp_path / "store"), "--summary", str(summary)],
                       capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "matrix smoke" in r.stdout
    doc = json.loads(summary.read_text())
    cells = {c["target"]: c for c in doc["cells"]}
    assert set(cells) == {"etcd", "redis", "zookeeper"}
    for t, c in cells.items():
        assert c["as_expected"], (t, c)
        assert c["ops"]["ok"] > 50, (t, c["ops"])
        assert c["ops"]["nemesis"] >= 1, (t, c["ops"])     # the partition really happened
        hist = Path(c["run_dir"]) / "history.jsonl"
        assert '"f":"start-partition"' in hist.read_text().replace(" ", "")
    assert cells["etcd"]["verdict"] == "valid" and cells["zookeeper"]["verdict"] == "valid"
