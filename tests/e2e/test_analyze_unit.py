"""`splitbrain analyze` on a stored run directory (no cluster needed): verdicts
are recomputed from history.jsonl, spec.yaml and the collected logs."""

from __future__ import annotations

import json

import pytest
import yaml

from harness.cli import main
from core.store import new_run


def _op(i, t, p, typ, f, value, key="r"):
    return {"index": i, "time": t, "process": p, "type": typ, "f": f, "key": key, "value": value}


def _write_run(root, ops, log_text="ok\n", name="t"):
    run = new_run(root, name)
    run.history.write_text("".join(json.dumps(o) + "\n" for o in ops))
    spec = {"name": name, "target": {"name": "etcd"}, "nodes": {"provider": "netns", "count": 3},
            "workload": {"name": "register"}, "time_limit": 5, "seed": 1}
    run.spec.write_text(yaml.safe_dump(spec))
    run.write_meta(target="etcd", workload="register")
    (run.logs / "n1").mkdir(parents=True)
    (run.logs / "n1" / "etcd.log").write_text(log_text)
    return run


GOOD = [_op(0, 1, 0, "invoke", "write", 1), _op(1, 2, 0, "ok", "write", 1),
        _op(2, 3, 1, "invoke", "read", None), _op(3, 4, 1, "ok", "read", 1),
        _op(4, 5, 0, "invoke", "cas", [1, 2]), _op(5, 6, 0, "ok", "cas", [1, 2])]
# a read of 1 that starts after the cas to 2 completed: stale
STALE = GOOD + [_op(6, 7, 1, "invoke", "read", None), _op(7, 8, 1, "ok", "read", 1)]


def test_analyze_valid_run(tmp_path, capsys):
    run = _write_run(tmp_path, GOOD)
    assert main(["analyze", str(run.path), "--store", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == str(run.path)
    res = json.loads(run.results.read_text())
    assert res["valid"] is True
    assert [c["checker"] for c in res["checkers"]] == ["linearizable", "stats", "exceptions",
                                                       "log-patterns"]
    assert json.loads(run.meta_path.read_text())["verdict"] == "valid"
    assert run.report.exists()


def test_analyze_finds_the_stale_read(tmp_path):
    run = _write_run(tmp_path, STALE)
    assert main(["analyze", str(run.path)]) == 1
    lin = next(c for c in json.loads(run.results.read_text())["checkers"]
               if c["checker"] == "linearizable")
    assert lin["valid"] is False
    assert lin["evidence"]["keys"][0]["failure"]["op"]["index"] == 6


def test_log_pattern_in_node_log_makes_the_run_invalid(tmp_path):
    run = _write_run(tmp_path, GOOD, log_text='{"level":"info"}\npanic: runtime error: boom\n')
    assert main(["analyze", str(run.path)]) == 1
    lp = next(c for c in json.loads(run.results.read_text())["checkers"]
              if c["checker"] == "log-patterns")
    assert lp["valid"] is False
    m = lp["evidence"]["matches"][0]
    assert m["node"] == "n1" and m["line"] == 2 and "panic" in m["text"]


def test_errored_run_stays_unknown_on_reanalysis(tmp_path):
    run = _write_run(tmp_path, GOOD)
    run.write_meta(errors=["etcd did not become healthy within 3 s"])
    assert main(["analyze", str(run.path)]) == 2
    res = json.loads(run.results.read_text())
    assert res["checkers"][0]["checker"] == "run" and res["valid"] == "unknown"


def test_analyze_not_a_run_dir(tmp_path, capsys):
    assert main(["analyze", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


@pytest.mark.parametrize("checker,code", [("linearizable", 1), ("stats", 0)])
def test_analyze_with_another_checker(tmp_path, checker, code):
    run = _write_run(tmp_path, STALE)
    assert main(["analyze", str(run.path), "--checker", checker]) == code
