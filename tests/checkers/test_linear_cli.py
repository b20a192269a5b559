"""``splitbrain check HISTORY... --model ...``: exit codes and --json fields."""

from __future__ import annotations

from pathlib import Path
import json
import os
import subprocess
import sys

import pytest

from checkers.history import History, Op, save_history
from checkers.linear import simulate_register_history

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KNOSSOS = str(Path(__file__).resolve().parents[1] / "data" / "knossos")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c",
                           "import sys; from harness.cli import main; sys.exit(main())",
                           "check", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def write(tmp_path, name: str, events: list[tuple]) -> str:
    ops = [Op(index=i, time=i * 100, process=p, type=t, f=f, value=v)
           for i, (p, t, f, v) in enumerate(events)]
    path = str(tmp_path / name)
    save_history(History(ops=ops), path)
    return path


@pytest.fixture
def files(tmp_path):
    good = str(tmp_path / "good.jsonl")
    save_history(simulate_register_history(1, 200, processes=4, info_rate=0.02), good)
    bad = write(tmp_path, "bad.jsonl", [(0, "invoke", "write", 1), (0, "ok", "write", 1),
                                        (1, "invoke", "read", None), (1, "ok", "read", 2)])
    casfail = write(tmp_path, "casfail.jsonl", [
        (0, "invoke", "write", 0), (0, "ok", "write", 0),
        (1, "invoke", "cas", [0, 1]), (1, "fail", "cas", [0, 1])])
    return {"good": good, "bad": bad, "casfail": casfail, "tmp": tmp_path}


def test_exit_codes_and_json(files) -> None:
    p = run(files["good"], "--model", "cas-register")
    assert p.returncode == 0, p.stderr
    assert "valid" in p.stdout
    p = run(files["bad"], "--model", "cas-register")
    assert p.returncode == 1, p.stderr
    p = run(files["good"], files["bad"], "--model", "cas-register", "--json")
    assert p.returncode == 1, p.stderr
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    assert [x["file"] for x in lines] == [files["good"], files["bad"]]
    assert [x["valid"] for x in lines] == [True, False]
    for x in lines:
        assert isinstance(x["elapsed_s"], float) and x["elapsed_s"] >= 0
        assert x["evidence"]["model"] == "cas-register"
    f = lines[1]["evidence"]["keys"][0]["failure"]
    assert f["op"]["result"] == 2 and f["states_before"] == ["1"]


def test_cas_fail_observes_flag(files) -> None:
    assert run(files["casfail"], "--model", "cas-register").returncode == 0
    assert run(files["casfail"], "--model", "cas-register", "--cas-fail-observes").returncode == 1


def test_init_value_json_and_edn(files, tmp_path) -> None:
    path = write(tmp_path, "r.jsonl", [(0, "invoke", "read", None), (0, "ok", "read", 5)])
    assert run(path, "--model", "register").returncode == 1
    assert run(path, "--model", "register", "--init", "5").returncode == 0
    q = write(tmp_path, "q.jsonl", [(0, "invoke", "dequeue", None), (0, "ok", "dequeue", 4)])
    assert run(q, "--model", "fifo-queue", "--init", "[4 5]").returncode == 0
    assert run(q, "--model", "fifo-queue", "--init", "[5, 4]").returncode == 1


def test_unknown_when_budget_hit(tmp_path) -> None:
    ev = [(i, "invoke", "write", i) for i in range(40)] + [(i, "info", "write", i)
                                                           for i in range(40)]
    for j in range(40):
        ev += [(1000, "invoke", "read", None), (1000, "ok", "read", j)]
    ev += [(1000, "invoke", "read", None), (1000, "ok", "read", 999)]
    path = write(tmp_path, "hard.jsonl", ev)
    p = run(path, "--model", "register", "--time-limit", "0.3", "--json")
    assert p.returncode == 2, p.stderr
    out = json.loads(p.stdout)
    assert out["valid"] == "unknown"
    assert out["evidence"]["keys"][0]["explored"]["budget_hit"] == "time"
    p = run(path, "--model", "register", "--memory-limit", "1", "--json")
    assert p.returncode == 2
    assert json.loads(p.stdout)["evidence"]["keys"][0]["explored"]["budget_hit"] == "memory"


def test_bad_model_and_bad_ops_are_one_line_errors(files, tmp_path) -> None:
    p = run(files["good"], "--model", "no-such-model")
    assert p.returncode == 2
    assert "unknown model 'no-such-model'" in p.stderr and "Traceback" not in p.stderr
    odd = write(tmp_path, "odd.jsonl", [(0, "invoke", "frob", 1), (0, "ok", "frob", 1)])
    p = run(odd, "--model", "cas-register")
    assert p.returncode == 2
    assert "no operation 'frob'" in p.stderr and "Traceback" not in p.stderr
    p = run(files["good"], "--model", "examples/nope.py:X")
    assert p.returncode == 2 and "does not exist" in p.stderr


def test_user_model_from_file(tmp_path) -> None:
    path = write(tmp_path, "max.jsonl", [(0, "invoke", "write", 3), (0, "ok", "write", 3),
                                         (0, "invoke", "write", 1), (0, "ok", "write", 1),
                                         (1, "invoke", "read", None), (1, "ok", "read", 3)])
    p = run(path, "--model", "examples/custom_model.py:MaxRegister")
    assert p.returncode == 0, p.stderr


def test_knossos_files_through_cli() -> None:
    good = f"{KNOSSOS}/cas-register/good/memstress3-1.edn"
    bad = f"{KNOSSOS}/cas-register/bad/cas-failure.edn"
    assert run(good, "--model", "cas-register", "--init", "0").returncode == 0
    p = run(good, bad, "--model", "cas-register", "--init", "0", "--json")
    assert p.returncode == 1
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    assert [x["valid"] for x in lines] == [True, False]
    assert lines[1]["evidence"]["keys"][0]["failure"]["op"]["complete_index"] == 491
    p = run(f"{KNOSSOS}/mutex/bad/etcd.edn", "--model", "mutex")
    assert p.returncode == 1


def test_multi_register_edn_init_through_cli() -> None:
    path = f"{KNOSSOS}/multi-register/good/multi-register.edn"
    assert run(path, "--model", "multi-register", "--init", "{:x 0 :y 0}").returncode == 0
    assert run(path, "--model", "multi-register", "--init", '{"x": 0, "y": 1}').returncode == 1
