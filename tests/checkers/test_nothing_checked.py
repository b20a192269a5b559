"""Nothing checked is ``unknown`` (exit 2) for every checker, with the reason:
an empty file, a file holding only a torn line, nemesis ops alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from checkers import registry
from checkers.history import History

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def empty_files(tmp_path_factory) -> list[str]:
    d = tmp_path_factory.mktemp("empty")
    files = {"empty.jsonl": "",
             "torn.jsonl": '{"index": 0, "type": "invoke", "f": "read", "process": 0',
             "nemesis.jsonl": '{"index": 0, "type": "info", "f": "kill", "process": "nemesis", '
                              '"value": null, "time": 1}\n'}
    for name, text in files.items():
        (d / name).write_text(text)
    return [str(d / n) for n in files]


@pytest.mark.parametrize("checker", ["linearizable", "causal", "set", "counter", "stats",
                                     "exceptions"])
def test_nothing_checked_is_unknown_through_the_cli(checker, empty_files) -> None:
    p = subprocess.run([sys.executable, "-m", "harness", "check", *empty_files,
                        "--checker", checker, "--json"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stdout + p.stderr
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    assert [x["file"] for x in lines] == empty_files
    for x in lines:
        assert x["valid"] == "unknown", x
        assert x["summary"] == registry.NOTHING_CHECKED


def test_log_patterns_judges_logs_not_client_ops(tmp_path) -> None:
    f = tmp_path / "n1.log"
    f.write_text("all fine\n")
    r = registry.run("log-patterns", History(ops=[]), log_files={"n1": [str(f)]},
                     patterns=["panic:"])
    assert r.valid is True
