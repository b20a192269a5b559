"""The transactional smoke matrix, for real: PostgreSQL at three isolation levels under a
kill, verdicts asserted — serializable holds; repeatable read judged as serializable shows
write skew (G2-item); read committed judged as serializable shows lost updates."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.netns, pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]

if os.geteuid() != 0 or not os.path.exists("/usr/lib/postgresql/15/bin/postgres"):
    pytest.skip("needs root and Debian's postgresql-15", allow_module_level=True)


def test_txn_smoke_matrix_verdicts(tmp_path):
    summary = tmp_path / "txn.json"
    r = subprocess.run([sys.executable, "-m", "harness", "test-all",
                        str(ROOT / "examples" / "matrix-txn-smoke.yaml"),
                        "--store", str(tmp_path / "store"), "--summary", str(summary)],
                       capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    cells = {c["target"]: c for c in json.loads(summary.read_text())["cells"]}
    assert set(cells) == {"pg-ser-list-append", "pg-rr-list-append-as-ser",
                          "pg-rc-rw-register-as-ser"}
    for name, c in cells.items():
        assert c["as_expected"], (name, c)
        assert c["ops"]["ok"] > 50, (name, c["ops"])
        assert c["ops"]["nemesis"] >= 1, (name, c["ops"])   # the kill really happened
    assert cells["pg-ser-list-append"]["verdict"] == "valid"
    assert cells["pg-rr-list-append-as-ser"]["verdict"] == "invalid"
    assert "G2-item" in cells["pg-rr-list-append-as-ser"]["reason"]
    assert cells["pg-rc-rw-register-as-ser"]["verdict"] == "invalid"
