import json
import xml.etree.ElementTree as ET
from pathlib import Path

from checkers.result import CheckResult
from core.store import new_run
from reports.index import write_index
from reports.junit import write_junit

from report_histories import XSS, bad_register


def test_junit_one_testcase_per_checker(tmp_path: Path):
    results = [CheckResult("linearizable", False, "key x: read 1 cannot be linearized", 0.5,
                           {"keys": []}),
               CheckResult("stats", True, "fine", 0.0, {}),
               CheckResult("causal", "unknown", "time budget hit \x07" + XSS, 1.0, {})]
    p = write_junit(tmp_path / "ci" / "junit.xml", results, "etcd-register",
                    report_path="store/latest/report.html")
    root = ET.parse(p).getroot()
    suite = root.find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("errors") == "1"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"linearizable", "stats", "causal"}
    fail = cases["linearizable"].find("failure")
    assert fail.get("message") == "key x: read 1 cannot be linearized"
    assert fail.get("type") == "invalid"
    assert cases["stats"].find("failure") is None and cases["stats"].find("error") is None
    err = cases["causal"].find("error")
    assert err.get("message").endswith(XSS) and "\x07" not in err.get("message")
    assert suite.find("properties/property").get("value") == "store/latest/report.html"


def _run(root: Path, name: str, now: float, valid, **meta):
    run = new_run(root, name, now=now)
    run.history.write_text("".join(json.dumps(o.to_dict()) + "\n" for o in bad_register().ops))
    run.write_results([CheckResult("linearizable", valid, "s", 0.0, {})])
    run.write_meta(**meta)
    return run


def test_index_lists_runs_newest_first(tmp_path: Path, parse):
    root = tmp_path / "store"
    _run(root, "alpha", 1_700_000_000, True, target="etcd", faults=["partition"], ops=20)
    newest = _run(root, "beta", 1_700_000_100, False, target=XSS, faults=["kill", "clock"],
                  ops=30, verdict="invalid")
    _run(root, "alpha", 1_700_000_050, "unknown", target="etcd", faults=[],
         ops={"total": 10, "ok": 7})
    (newest.path / "report.html").write_text("<html></html>")
    text = write_index(root).read_text()
    rows = [line for line in text.splitlines() if line.startswith('<tr class="run ')]
    assert len(rows) == 3
    assert "beta" in rows[0] and "run-invalid" in rows[0] and "kill, clock" in rows[0]
    assert "run-unknown" in rows[1] and "<td>10</td>" in rows[1] and "run-valid" in rows[2]
    assert f'href="beta/{newest.path.name}/report.html"' in rows[0]
    assert "history.jsonl" in rows[1]  # no report yet: link the raw history
    assert XSS not in text and "&lt;script&gt;" in text
    assert parse(text).tags.get("script", 0) == 0


def test_index_of_empty_store(tmp_path: Path):
    assert "No runs yet" in write_index(tmp_path / "s").read_text()
