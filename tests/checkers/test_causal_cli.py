"""``splitbrain check --checker causal``: levels, exit codes, JSON, and
clear one-line errors on input the checker cannot judge."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from causal_util import hist
from checkers.causal import check_causal
from checkers.history import History, HistoryError, Op, save_history


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from harness.cli import main; raise SystemExit(main())",
                           *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def ccv_violation(tmp_path):
    h = hist((0, "w", "x", 1), (1, "w", "x", 2),
             (2, "r", "x", 1), (2, "r", "x", 2), (3, "r", "x", 2), (3, "r", "x", 1))
    path = tmp_path / "h.jsonl"
    save_history(h, str(path))
    return str(path)


def test_exit_code_follows_level(ccv_violation):
    assert cli("check", ccv_violation, "--checker", "causal", "--level", "CC").returncode == 0
    assert cli("check", ccv_violation, "--checker", "causal", "--level", "CM").returncode == 0
    r = cli("check", ccv_violation, "--checker", "causal")
    assert r.returncode == 1, r.stderr
    assert "violates CCv" in r.stdout


def test_json_output(ccv_violation):
    r = cli("check", ccv_violation, "--checker", "causal", "--level", "CCv", "--json")
    assert r.returncode == 1
    out = json.loads(r.stdout.strip().splitlines()[-1])
    ev = out["evidence"]
    assert out["valid"] is False and ev["level"] == "CCv"
    # --level judges only what that level needs: CM's saturation is not run
    assert ev["satisfies"] == {"CC": True, "CCv": False}
    assert ev["patterns"][0]["name"] == "CyclicCF"
    r = cli("check", ccv_violation, "--checker", "causal", "--json")
    assert json.loads(r.stdout.strip().splitlines()[-1])["evidence"]["satisfies"] == {
        "CC": True, "CM": True, "CCv": False}
    assert set(ev["sessions"]) == {"read-your-writes", "monotonic-reads", "monotonic-writes",
                                   "writes-follow-reads"}


def test_duplicate_write_is_a_clear_error(tmp_path):
    h = hist((0, "w", "x", 1), (1, "w", "x", 1))
    path = tmp_path / "dup.jsonl"
    save_history(h, str(path))
    r = cli("check", str(path), "--checker", "causal")
    assert r.returncode == 2
    assert "written twice" in r.stderr and "Traceback" not in r.stderr
    assert str(path) in r.stderr


def test_errors_name_the_op():
    ops = [Op(0, 0, 0, "invoke", "cas", "x", [1, 2]), Op(1, 1, 0, "ok", "cas", "x", [1, 2])]
    with pytest.raises(HistoryError, match="expected 'read' or 'write'"):
        check_causal(History(ops=ops))
    with pytest.raises(HistoryError, match="initial value"):
        check_causal(hist((0, "w", "x", 0)), init=0)


def test_info_and_fail_semantics():
    ops = [
        Op(0, 0, 0, "invoke", "write", "x", 1), Op(1, 1, 0, "info", "write", "x", 1),
        Op(2, 2, 1, "invoke", "write", "x", 2), Op(3, 3, 1, "fail", "write", "x", 2),
        Op(4, 4, 2, "invoke", "write", "x", 3), Op(5, 5, 2, "info", "write", "x", 3),
        Op(6, 6, 4, "invoke", "read", "x", None), Op(7, 7, 4, "ok", "read", "x", 1),
        Op(8, 8, 4, "invoke", "read", "x", None), Op(9, 9, 4, "info", "read", "x", None),
    ]
    res = check_causal(History(ops=ops))
    assert res.valid is True
    st = res.evidence["stats"]
    assert st["ops"] == 2  # the info write that was read, and the read
    assert st["dropped"] == {"fail": 1, "info_reads": 1, "unread_info_writes": 1}
    # a read of the failed write's value is a thin-air read
    ops2 = ops + [Op(10, 10, 5, "invoke", "read", "x", None), Op(11, 11, 5, "ok", "read", "x", 2)]
    res = check_causal(History(ops=ops2))
    assert res.valid is False and res.evidence["counts"] == {"ThinAirRead": 1}


def test_memory_limit_gives_unknown_not_a_verdict():
    h = hist((0, "w", "x", 1), (1, "r", "x", 1), (2, "r", "x", None))
    res = check_causal(h, memory_limit=1e-9)
    assert res.valid == "unknown" and "memory limit" in res.summary


def test_time_limit_gives_unknown_for_cm_not_valid():
    h = hist((0, "w", "x", 1), (1, "r", "x", 1), (1, "w", "x", 2), (2, "r", "x", 2))
    res = check_causal(h, level="CM", time_limit=1e-9)
    assert res.valid == "unknown"
    assert res.evidence["satisfies"]["CM"] == "unknown"
    assert res.evidence["satisfies"]["CC"] is True   # CC needs no saturation
    assert "unknown_reason" in res.evidence


def test_many_short_sessions():
    # Jepsen retires a process after every info op: many short sessions.
    from checkers.causal.simulate import simulate
    h = simulate(3000, sessions=10, keys=20, replicas=3, mean_lag=30, info_rate=0.1, seed=4)
    res = check_causal(h)
    assert res.evidence["stats"]["sessions"] > 100
    assert res.valid is True
