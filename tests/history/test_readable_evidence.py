"""Evidence a person can act on: the file and line of each op, and the values
behind a model's fingerprints (issue 21, item 10)."""

from __future__ import annotations

import json
import subprocess
import sys

from checkers.history import loads_history
from checkers.linear import check_linearizable


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=120)


def jsonl(steps: list[tuple], key=None) -> bytes:
    """(process, f, invoke value, completion value) per op, each invoked and completed."""
    out, i = [], 0
    for process, f, inv, comp in steps:
        for typ, v in (("invoke", inv), ("ok", comp)):
            r = {"index": i, "time": i, "process": process, "type": typ, "f": f, "value": v}
            if key is not None:
                r["key"] = key
            out.append(json.dumps(r))
            i += 1
    return ("\n".join(out) + "\n").encode()


def failure(result) -> dict:
    return next(k for k in result.evidence["keys"] if k["valid"] is False)["failure"]


def test_a_model_error_names_file_and_line(tmp_path):
    p = tmp_path / "h.jsonl"
    p.write_bytes(jsonl([(0, "write", 1, 1), (0, "frobnicate", 2, 2)]))
    r = run_cli("check", str(p), "--model", "register")
    assert r.returncode == 2 and "h.jsonl:3" in r.stderr and "frobnicate" in r.stderr, r.stderr


def test_the_failing_op_carries_its_lines_into_evidence_and_summary():
    # a blank first line: lines are the file's, not positions
    h = loads_history(b"\n" + jsonl([(0, "write", 1, 1), (1, "read", None, 2)]), "h.jsonl")
    res = check_linearizable(h, model="register")
    op = failure(res)["op"]
    assert (op["line"], op["complete_line"]) == (4, 5)
    assert "h.jsonl:4" in res.summary


def test_edn_lines_reach_the_evidence():
    h = loads_history(b"[{:type :invoke :f :write :process 0 :value 1}\n"
                      b" {:type :ok :f :write :process 0 :value 1}\n\n"
                      b" {:type :invoke :f :read :process 1 :value nil}\n"
                      b" {:type :ok :f :read :process 1 :value 2}]\n", "h.edn")
    op = failure(check_linearizable(h, model="register"))["op"]
    assert (op["line"], op["complete_line"]) == (4, 5)


def test_append_kv_evidence_shows_strings_not_fingerprints():
    h = loads_history(jsonl([(0, "put", "hello", "hello"), (0, "append", " world", " world"),
                             (1, "get", None, "hello wrld")], key="k"), "h.jsonl")
    res = check_linearizable(h, model="append-kv")
    f = failure(res)
    assert f["states_before"] == ['"hello world"']
    assert '"hello wrld"' in f["expected"] and "fingerprint" not in json.dumps(res.evidence)


def test_long_strings_are_shortened_and_their_difference_shown():
    a = "x" * 300
    h = loads_history(jsonl([(0, "put", a + "A" + a, a + "A" + a),
                             (1, "get", None, a + "B" + a)], key="k"), "h.jsonl")
    res = check_linearizable(h, model="append-kv")
    expected = failure(res)["expected"]
    assert "differ from character 300" in expected and '"xxxxxxxxxxxxBxx' in expected
    assert "601 characters" in expected and len(res.summary) < 800


def test_set_evidence_lists_members_and_the_difference():
    h = loads_history(jsonl([(0, "add", 1, 1), (0, "add", 2, 2), (0, "add", 3, 3),
                             (1, "read", None, [3, 4, 1])]), "h.jsonl")
    res = check_linearizable(h, model="set")
    f = failure(res)
    assert f["states_before"] == ["#{1, 2, 3}"]
    assert "missing #{2}" in f["expected"] and "unexpected #{4}" in f["expected"]
    assert "fingerprint" not in json.dumps(res.evidence)


def test_a_python_model_failing_names_file_and_line():
    import pytest

    from checkers.linear import ModelError, PyModel

    class Boom(PyModel):
        name = "boom"

        def step(self, state, op):
            raise RuntimeError("no")

    h = loads_history(b"\n" + jsonl([(0, "write", 1, 1)]), "h.jsonl")
    with pytest.raises(ModelError) as e:
        check_linearizable(h, model=Boom())
    assert "h.jsonl:2" in str(e.value)
