"""Loading never changes what a history says: every op reaches the checkers
exactly as written, or the file is refused naming its line (issue 21)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from checkers.history import History, HistoryError, Op, load_history, loads_history, validate
from checkers.linear import check_linearizable

pytestmark = pytest.mark.usefixtures("jsonl_loader")  # both JSON Lines loaders

BIG = 2 ** 70


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=120)


def jsonl(*records: dict, newline_at_end: bool = True) -> bytes:
    text = "\n".join(json.dumps(r) for r in records)
    return (text + ("\n" if newline_at_end else "")).encode()


def op(index: int, process, typ: str, f: str, value=None, **extra) -> dict:
    return {"index": index, "time": index * 10, "process": process, "type": typ, "f": f,
            "value": value, **extra}


def write_then_read(written, read, process=0) -> list[dict]:
    return [op(0, process, "invoke", "write", written), op(1, process, "ok", "write", written),
            op(2, process, "invoke", "read"), op(3, process, "ok", "read", read)]


def assert_one_line_error(r: subprocess.CompletedProcess, where: str, *words: str) -> None:
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert where in out and "Traceback" not in out, out
    for w in words:
        assert w in out, out


# ---------------------------------------------------------------- 1. processes

@pytest.mark.parametrize("process", ["client-7", -1, True, 1.5, [0], BIG])
def test_a_process_neither_client_nor_nemesis_is_refused_with_its_line(process):
    records = write_then_read(1, 1) + [op(4, process, "invoke", "read"),
                                       op(5, process, "ok", "read", 2)]
    # loading JSON Lines builds the columnar view every checker reads: the
    # refusal must come from there, not only from validate's Op objects
    with pytest.raises(HistoryError) as e:
        loads_history(jsonl(*records), "h.jsonl")
    assert e.value.line == 5 and "'process'" in str(e.value), str(e.value)
    ops = [Op(**{k: v for k, v in r.items()}) for r in records]
    with pytest.raises(HistoryError):
        History(ops=ops).columnar()


@pytest.mark.parametrize("command", ["validate", "check", "convert"])
def test_every_command_refuses_the_same_processes(tmp_path, command):
    # the old loader counted these ops in validate and dropped them in every
    # checker: a history of them alone was "valid (0 ops)"
    p = tmp_path / "h.jsonl"
    p.write_bytes(jsonl(*write_then_read(1, 2, process="worker")))
    args = {"validate": ["validate", str(p)],
            "check": ["check", str(p), "--model", "register"],
            "convert": ["convert", str(p), str(tmp_path / "out.edn")]}[command]
    assert_one_line_error(run_cli(*args), "h.jsonl:1", "'process'", '"nemesis"')
    assert not (tmp_path / "out.edn").exists()


def test_edn_processes_follow_the_same_rule(tmp_path):
    p = tmp_path / "h.edn"
    p.write_text("{:type :invoke :f :read :process :nemesis :value nil}\n"
                 "{:type :info :f :read :process :nemesis :value nil}\n"
                 "{:type :invoke :f :read :process -3 :value nil}\n")
    assert_one_line_error(run_cli("validate", str(p)), "h.edn:3", "'process'")
    p.write_text("{:type :invoke :f :read :process :client :value nil}\n")
    assert_one_line_error(run_cli("validate", str(p)), "h.edn:1", "'process'")


def test_nemesis_and_clients_still_load():
    h = loads_history(jsonl(*write_then_read(1, 1), op(4, "nemesis", "info", "kill")), "h.jsonl")
    assert validate(h) == [] and list(h.columnar().process) == [0, 0, 0, 0, -1]


# ---------------------------------------------------------------- 2. wide integers

def test_integers_beyond_64_bits_stay_exact():
    h = loads_history(jsonl(*write_then_read(BIG, BIG + 1)), "h.jsonl")
    assert [o.value for o in h.ops][1::2] == [BIG, BIG + 1]
    assert type(h.ops[3].value) is int
    assert check_linearizable(h, model="register").valid is False
    same = loads_history(jsonl(*write_then_read(BIG, BIG)), "h.jsonl")
    assert check_linearizable(same, model="register").valid is True


@pytest.mark.parametrize("value", [-(2 ** 63) - 1, 2 ** 64, -(10 ** 30), [1, 2 ** 65]])
def test_each_width_orjson_would_round_is_exact(value):
    h = loads_history(jsonl(op(0, 0, "invoke", "write", value)), "h.jsonl")
    assert h.ops[0].value == value and json.dumps(h.ops[0].value) == json.dumps(value)


def test_a_19_digit_time_in_ns_loads_on_the_fast_path():
    t = 1_700_000_000_000_000_000  # an epoch time in ns: < 2^63
    h = loads_history(jsonl({**op(0, 0, "invoke", "read"), "time": t}), "h.jsonl")
    assert h.columnar().time[0] == t


def test_convert_writes_wide_integers_exactly(tmp_path):
    src = tmp_path / "h.jsonl"
    src.write_bytes(jsonl(*write_then_read(BIG, BIG + 1)))
    assert run_cli("convert", str(src), str(tmp_path / "h.edn")).returncode == 0
    assert str(BIG + 1) in (tmp_path / "h.edn").read_text()
    assert run_cli("convert", str(tmp_path / "h.edn"), str(tmp_path / "b.jsonl")).returncode == 0
    back = load_history(tmp_path / "b.jsonl")
    assert [o.value for o in back.ops] == [BIG, BIG, None, BIG + 1]
    assert "e+" not in (tmp_path / "b.jsonl").read_text()


@pytest.mark.parametrize("field", ["index", "time", "process"])
def test_an_index_time_or_process_beyond_64_bits_is_a_line_error(tmp_path, field):
    records = write_then_read(1, 1)
    records[2][field] = BIG if field != "time" else -BIG
    p = tmp_path / "h.jsonl"
    p.write_bytes(jsonl(*records))
    assert_one_line_error(run_cli("check", str(p), "--model", "register"), "h.jsonl:3",
                          f"'{field}'")
    edn = tmp_path / "h.edn"
    edn.write_text("{:type :invoke :f :read :value nil :process 0 :%s %d}\n" % (field, 2 ** 64))
    assert_one_line_error(run_cli("validate", str(edn)), "h.edn:1", f"'{field}'")


@pytest.mark.parametrize("written, read", [(1, 1.0), (True, 1), (1, True), ([1, True], [1, 1]),
                                           ({"a": 1}, {"a": 1.0}), ("1", 1)])
def test_values_meet_only_with_the_same_type(written, read):
    h = loads_history(jsonl(*write_then_read(written, read)), "h.jsonl")
    assert check_linearizable(h, model="register").valid is False


def test_a_value_nested_too_deep_is_a_line_error():
    deep: list = []
    for _ in range(500):
        deep = [deep]
    with pytest.raises(HistoryError) as e:
        loads_history(jsonl(op(0, 0, "invoke", "read"), op(1, 0, "ok", "read", deep)), "h.jsonl")
    assert e.value.line == 2 and "nested" in str(e.value)


# ---------------------------------------------------------------- 12b. the last line

def test_a_whole_last_record_without_newline_is_kept(tmp_path):
    # the last op is what makes this history invalid: dropping it would say valid
    p = tmp_path / "h.jsonl"
    p.write_bytes(jsonl(*write_then_read(1, 2), newline_at_end=False))
    h = load_history(p)
    assert len(h) == 4 and h.warnings == []
    r = run_cli("check", str(p), "--model", "register")
    assert r.returncode == 1 and "warning" not in r.stderr, r.stdout + r.stderr


def test_only_a_torn_last_line_is_skipped_with_a_warning(tmp_path):
    p = tmp_path / "h.jsonl"
    p.write_bytes(jsonl(*write_then_read(1, 1)) + b'{"index":4,"time":40,"proc')
    h = load_history(p)
    assert len(h) == 4 and len(h.warnings) == 1 and "h.jsonl:5" in h.warnings[0]


def test_a_bad_last_line_ending_in_a_newline_is_an_error_not_a_torn_line(tmp_path):
    # a writer interrupted mid-line leaves no newline after it; this line is whole, and bad
    p = tmp_path / "h.jsonl"
    p.write_bytes(jsonl(*write_then_read(1, 1)) + b'{"index":4,"process":0,"type":\n')
    with pytest.raises(HistoryError) as e:
        load_history(p)
    assert e.value.line == 5


# ---------------------------------------------------------------- validate's breaches

def breaches(*records: dict) -> list[str]:
    return [b.render("h.jsonl") for b in validate(loads_history(jsonl(*records), "h.jsonl"))]


def test_completion_f_must_match_its_invoke():
    b = breaches(op(0, 0, "invoke", "read"), op(1, 0, "ok", "write", 1))
    assert len(b) == 1 and "h.jsonl:2" in b[0] and "line 1" in b[0] and "'write'" in b[0]


def test_indices_must_increase():
    b = breaches(op(0, 0, "invoke", "read"), op(0, 0, "ok", "read", 1))
    assert len(b) == 1 and "h.jsonl:2" in b[0] and "does not increase" in b[0]
    b = breaches(op(5, 0, "invoke", "read"), {**op(3, 0, "ok", "read", 1), "time": 60})
    assert len(b) == 1 and "index 3" in b[0]


def test_a_completion_cannot_come_before_its_invoke():
    b = breaches({**op(0, 0, "invoke", "read"), "time": 50}, {**op(1, 0, "ok", "read"), "time": 49})
    assert len(b) == 1 and "h.jsonl:2" in b[0] and "before its invoke" in b[0]
    # an op may complete within the clock's resolution of its invoke
    assert breaches({**op(0, 0, "invoke", "read"), "time": 50},
                    {**op(1, 0, "ok", "read"), "time": 50}) == []
    # other processes may interleave clocks (Knossos' etcd histories do)
    assert breaches({**op(0, 0, "invoke", "read"), "time": 50},
                    {**op(1, 1, "invoke", "read"), "time": 40}) == []


# ---------------------------------------------------------------- 5. invoke vs completion

def test_a_completion_naming_another_key_is_a_breach_with_both_lines():
    b = breaches(op(0, 0, "invoke", "write", 1, key="x"), op(1, 0, "ok", "write", 1, key="y"))
    assert len(b) == 1 and "h.jsonl:2" in b[0] and "line 1" in b[0], b
    assert '"y"' in b[0] and '"x"' in b[0]
    assert breaches(op(0, 0, "invoke", "write", 1, key=1),
                    op(1, 0, "ok", "write", 1, key=1.0)) != []


@pytest.mark.parametrize("f, inv, comp", [("write", 1, 2), ("cas", [1, 2], [1, 3]),
                                          ("add", 1, 1.0), ("enqueue", "a", "b")])
def test_a_completion_changing_an_input_value_is_a_breach(f, inv, comp):
    b = breaches(op(0, 0, "invoke", f, inv), op(1, 0, "info", f, comp))
    assert len(b) == 1 and "h.jsonl:2" in b[0] and "line 1" in b[0] and "input" in b[0], b


def test_what_a_completion_may_say():
    # a read's result, a txn's filled-in reads, a completion leaving value or key
    # out, and the nemesis' result are not disagreements
    assert breaches(op(0, 0, "invoke", "read"), op(1, 0, "ok", "read", 3)) == []
    assert breaches(op(0, 0, "invoke", "txn", [["r", "x", None]]),
                    op(1, 0, "ok", "txn", [["r", "x", 1]])) == []
    assert breaches(op(0, 0, "invoke", "write", 1, key="x"), op(1, 0, "ok", "write")) == []
    assert breaches(op(0, "nemesis", "invoke", "kill", "n1"),
                    op(1, "nemesis", "info", "kill", {"n1": "killed"})) == []


def test_check_refuses_a_key_disagreement(tmp_path):
    p = tmp_path / "h.jsonl"
    p.write_bytes(jsonl(op(0, 0, "invoke", "write", 1, key="x"),
                        op(1, 0, "ok", "write", 1, key="y")))
    assert_one_line_error(run_cli("check", str(p), "--model", "kv"), "h.jsonl:2", "key")
