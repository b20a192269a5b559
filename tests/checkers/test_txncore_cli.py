"""``splitbrain check`` with the transactional checkers: options, exit codes,
JSON, every input format, and one-line errors naming the line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from checkers.history import History
from checkers.txn import check_bank, check_long_fork, check_rw_register


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c",
                           "from harness.cli import main; raise SystemExit(main())", *args],
                          capture_output=True, text=True, timeout=300)


G1C = [
    {"type": "invoke", "f": "txn", "process": 0, "value": [["append", "x", 1], ["r", "y", None]]},
    {"type": "invoke", "f": "txn", "process": 1, "value": [["append", "y", 1], ["r", "x", None]]},
    {"type": "ok", "f": "txn", "process": 0, "value": [["append", "x", 1], ["r", "y", [1]]]},
    {"type": "ok", "f": "txn", "process": 1, "value": [["append", "y", 1], ["r", "x", [1]]]},
]


@pytest.fixture
def g1c_json_array(tmp_path):
    path = tmp_path / "elle.json"
    path.write_text(json.dumps(G1C, indent=1))
    return str(path)


def test_models_and_anomalies_choose_the_verdict(g1c_json_array):
    r = cli("check", g1c_json_array, "--checker", "list-append", "--json")
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert out["valid"] is False and out["evidence"]["anomaly_types"] == ["G1c"]
    assert out["evidence"]["not"] == ["read-committed"]
    assert {"file", "checker", "valid", "summary", "elapsed_s", "evidence"} <= set(out)
    # read uncommitted allows G1c; the anomaly is still listed
    r = cli("check", g1c_json_array, "--checker", "list-append",
            "--consistency-models", "read-uncommitted", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["evidence"]["anomaly_types"] == ["G1c"]
    # ... unless the anomaly is asked for by name
    r = cli("check", g1c_json_array, "--checker", "list-append",
            "--consistency-models", "read-uncommitted", "--anomalies", "G1")
    assert r.returncode == 1, r.stdout + r.stderr


def test_unknown_model_is_a_one_line_error(g1c_json_array):
    r = cli("check", g1c_json_array, "--checker", "list-append", "--consistency-models", "bogus")
    assert r.returncode == 2
    assert "unknown consistency model 'bogus'" in r.stderr and "Traceback" not in r.stderr
    r = cli("check", g1c_json_array, "--checker", "rw-register", "--transaction-order", "[1]")
    assert r.returncode == 2 and "--transaction-order" in r.stderr


def test_bad_micro_op_names_its_line(tmp_path):
    ops = [dict(o) for o in G1C]
    ops[3] = {**ops[3], "value": [["append", "y", 1], ["bump", "x", 1]]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(ops, indent=None).replace("}, {", "},\n{"))
    r = cli("check", str(path), "--checker", "list-append")
    assert r.returncode == 2
    assert f"{path}:4:" in r.stderr and "bump" in r.stderr
    r = cli("validate", str(path))
    assert r.returncode == 2 and f"{path}:4:" in r.stdout


def test_json_array_errors_name_the_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"type": "invoke", "f": "txn", "process": 0, "value": []},\n {"type": ]\n')
    r = cli("validate", str(path))
    assert r.returncode == 2 and f"{path}:2:" in r.stderr


def test_convert_round_trips_txn_ops(g1c_json_array, tmp_path):
    edn = tmp_path / "h.edn"
    assert cli("convert", g1c_json_array, str(edn)).returncode == 0
    assert "[:append \"x\" 1]" in edn.read_text()
    back = tmp_path / "h.jsonl"
    assert cli("convert", str(edn), str(back)).returncode == 0
    r = cli("check", str(back), "--checker", "list-append", "--json")
    assert json.loads(r.stdout)["evidence"]["anomaly_types"] == ["G1c"]


def _hist(*pairs) -> History:
    ops = []
    for p, f, inv, comp, typ in pairs:
        ops.append({"process": p, "type": "invoke", "f": f, "value": inv})
        ops.append({"process": p, "type": typ, "f": f, "value": comp})
    for i, o in enumerate(ops):
        o["index"], o["time"] = i, i * 1000
    return History.from_dicts(ops)


def test_rw_register_key_options_find_stale_reads():
    # p0 writes x=1 and completes; p1 then reads nil: only linearizable keys order that
    h = _hist((0, "txn", [["w", "x", 1]], [["w", "x", 1]], "ok"),
              (1, "txn", [["r", "x", None]], [["r", "x", None]], "ok"),
              (1, "txn", [["r", "x", None]], [["r", "x", 1]], "ok"))
    assert check_rw_register(h).valid is False   # nil precedes 1: rw + real time
    h2 = _hist((0, "txn", [["w", "x", 1]], [["w", "x", 1]], "ok"),
               (0, "txn", [["w", "x", 2]], [["w", "x", 2]], "ok"),
               (1, "txn", [["r", "x", None]], [["r", "x", 2]], "ok"),
               (1, "txn", [["r", "x", None]], [["r", "x", 1]], "ok"))
    assert check_rw_register(h2, consistency_models=["serializable"]).valid is True
    r = check_rw_register(h2, consistency_models=["serializable"], sequential_keys=True)
    assert r.valid is False, r.summary
    # a known order 1 < 2: p1 read 2, then 1 — serializable (T0 T3 T1 T2), but not in
    # p1's session order
    order = {"1": 0, "3": 1}
    r = check_rw_register(h2, consistency_models=["serializable"], transaction_order=order)
    assert r.valid is True, r.summary
    r = check_rw_register(h2, consistency_models=["strong-session-serializable"],
                          transaction_order=order)
    assert r.valid is False and r.evidence["anomaly_types"] == ["G-single-item-process"]
    assert check_rw_register(h2, consistency_models=["strong-session-serializable"]).valid is True


def test_bank_totals_and_negative_balances():
    ok_read = lambda p, bal: (p, "read", None, bal, "ok")  # noqa: E731
    xfer = (1, "transfer", {"from": "a", "to": "b", "amount": 5},
            {"from": "a", "to": "b", "amount": 5}, "ok")
    good = _hist(ok_read(0, {"a": 10, "b": 10}), xfer, ok_read(0, {"a": 5, "b": 15}))
    r = check_bank(good)
    assert r.valid is True and r.evidence["total"] == 20
    assert [p["total"] for p in r.evidence["totals"]] == [20, 20]
    bad = _hist(ok_read(0, {"a": 10, "b": 10}), xfer, ok_read(0, {"a": 5, "b": 10}),
                ok_read(2, {"a": -5, "b": 25}))
    r = check_bank(bad)
    assert r.valid is False
    assert r.evidence["bad_counts"] == {"wrong-total": 1, "negative-value": 1}
    assert r.evidence["bad_reads"][0]["op"] == 5 and r.evidence["bad_reads"][0]["total"] == 15
    assert check_bank(bad, negative_balances=True).evidence["bad_counts"] == {"wrong-total": 1}
    assert check_bank(bad, total=15).evidence["bad_counts"]["wrong-total"] == 2
    assert check_bank(_hist(xfer)).valid == "unknown"


def test_long_fork():
    w = lambda p, k: (p, "txn", [["w", k, 1]], [["w", k, 1]], "ok")  # noqa: E731
    rd = lambda p, a, b: (p, "txn", [["r", 0, None], ["r", 1, None]],  # noqa: E731
                          [["r", 0, a], ["r", 1, b]], "ok")
    fork = _hist(w(0, 0), rd(1, 1, None), w(0, 1), rd(2, None, 1))
    r = check_long_fork(fork)
    assert r.valid is False and r.evidence["anomaly_types"] == ["long-fork"]
    assert r.evidence["forks"][0]["only_first"] == [0] and r.evidence["forks"][0]["only_second"] == [1]
    assert "snapshot-isolation" in r.evidence["not"]
    chain = _hist(w(0, 0), rd(1, 1, None), w(0, 1), rd(2, 1, 1))
    assert check_long_fork(chain).valid is True
    # group size 1: keys 0 and 1 are separate groups, so no fork between them
    assert check_long_fork(fork, group_size=1).valid is True
