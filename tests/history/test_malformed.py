"""Each malformed input gives exit 2 and a one-line message naming the line."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.usefixtures("jsonl_loader")  # both JSON Lines loaders

GOOD = '{"index":0,"time":1,"process":0,"type":"invoke","f":"read","value":null}\n'


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True,
                          timeout=120)


def check_malformed(tmp_path, text: str, line: int, *words: str, command: str = "validate"):
    p = tmp_path / "h.jsonl"
    p.write_text(text)
    r = run_cli(command, str(p)) if command == "validate" else run_cli(
        "check", str(p), "--model", "cas-register")
    assert r.returncode == 2, (r.stdout, r.stderr)
    out = r.stdout + r.stderr
    assert f"h.jsonl:{line}" in out, out
    for w in words:
        assert w in out, out
    assert "Traceback" not in out


@pytest.mark.parametrize("command", ["validate", "convert"])
def test_unknown_type(tmp_path, command):
    text = GOOD + '{"index":1,"process":0,"type":"okay","f":"read","value":1}\n'
    if command == "convert":
        p = tmp_path / "h.jsonl"
        p.write_text(text)
        r = run_cli("convert", str(p), str(tmp_path / "out.edn"))
        assert r.returncode == 2 and "h.jsonl:2" in r.stderr and "unknown type 'okay'" in r.stderr
        assert "Traceback" not in r.stderr
    else:
        check_malformed(tmp_path, text, 2, "unknown type 'okay'", "invoke, ok, fail, info")


def test_missing_field(tmp_path):
    check_malformed(tmp_path, GOOD + '{"index":1,"process":0,"type":"ok","value":1}\n', 2,
                    "missing field 'f'")


def test_non_json_line(tmp_path):
    check_malformed(tmp_path, GOOD + "this is not json\n" + GOOD.replace('"index":0', '"index":2'),
                    2, "not a JSON object")


def test_completion_without_invoke(tmp_path):
    check_malformed(tmp_path, GOOD + '{"index":1,"process":3,"type":"ok","f":"read","value":1}\n',
                    2, "without a preceding invoke")


def test_two_invokes_in_a_row(tmp_path):
    check_malformed(tmp_path, GOOD + '{"index":1,"process":0,"type":"invoke","f":"write","value":1}\n',
                    2, "has not completed")


def test_invoke_after_info_is_a_breach(tmp_path):
    text = (GOOD + '{"index":1,"process":0,"type":"info","f":"read","value":null}\n'
            + '{"index":2,"process":0,"type":"invoke","f":"read","value":null}\n')
    check_malformed(tmp_path, text, 3, "new process id")


def test_edn_syntax_error_names_the_line(tmp_path):
    p = tmp_path / "h.edn"
    p.write_text("[{:type :invoke :f :read :process 0 :value nil}\n {:type :ok :f :read :process 0\n")
    r = run_cli("validate", str(p))
    assert r.returncode == 2
    assert "h.edn:" in r.stderr and "never closed" in r.stderr


def test_check_refuses_malformed_before_checking(tmp_path):
    text = GOOD + '{"index":1,"process":0,"type":"invoke","f":"write","value":1}\n'
    check_malformed(tmp_path, text, 2, "has not completed", command="check")


def test_missing_file_is_one_line(tmp_path):
    r = run_cli("validate", str(tmp_path / "nope.jsonl"))
    assert r.returncode == 2 and "no such file" in r.stderr and "Traceback" not in r.stderr


def test_unknown_checker_is_a_clear_error(tmp_path):
    p = tmp_path / "h.jsonl"
    p.write_text(GOOD)
    r = run_cli("check", str(p), "--checker", "no-such-checker")
    assert r.returncode == 2 and "no checker named 'no-such-checker'" in r.stderr


def test_valid_history_validates(tmp_path):
    p = tmp_path / "h.jsonl"
    p.write_text(GOOD + '{"index":1,"time":2,"process":0,"type":"ok","f":"read","value":1}\n')
    r = run_cli("validate", str(p))
    assert r.returncode == 0 and "2 ops" in r.stdout
