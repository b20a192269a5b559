from __future__ import annotations

import os

import pytest

from checkers.result import CheckResult
from core.store import iter_runs, new_run, resolve_run


def test_new_run_layout_and_latest(tmp_path):
    r1 = new_run(tmp_path, "etcd-register", now=1_700_000_000)
    r2 = new_run(tmp_path, "etcd-register", now=1_700_000_000)
    assert r1.path != r2.path and r1.path.parent == r2.path.parent
    assert r1.path.name == "20231114T221320"
    assert os.path.realpath(tmp_path / "latest") == str(r2.path)
    r2.history.write_text("")
    r2.write_results([CheckResult("stats", True, "ok"), CheckResult("linearizable", False, "bad")])
    valid, results = r2.read_results()
    assert valid is False and [r.checker for r in results] == ["stats", "linearizable"]
    assert [r.path for r in iter_runs(tmp_path)][0] == r2.path
    assert resolve_run(tmp_path / "latest").path == r2.path


def test_bad_test_name(tmp_path):
    with pytest.raises(ValueError, match="test name"):
        new_run(tmp_path, "../escape")


def test_resolve_run_errors(tmp_path):
    with pytest.raises(ValueError, match="no such run"):
        resolve_run(tmp_path / "nope")
    (tmp_path / "d").mkdir()
    with pytest.raises(ValueError, match="not a run directory"):
        resolve_run(tmp_path / "d")
