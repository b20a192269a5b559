"""EDN says what Jepsen means: sets are sets, map keys keep their type, a
discard may end a file, and conversion is all or nothing (issue 21)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from checkers.history import History, HistoryError, Op, dumps_history, load_history, loads_history
from checkers.history.edn import loads_value
from checkers.linear import check_linearizable


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=120)


def edn_register(written: str, read: str) -> History:
    return loads_history((
        f"{{:type :invoke, :f :write, :process 0, :value {written}}}\n"
        f"{{:type :ok, :f :write, :process 0, :value {written}}}\n"
        "{:type :invoke, :f :read, :process 1, :value nil}\n"
        f"{{:type :ok, :f :read, :process 1, :value {read}}}\n").encode(), "h.edn")


def assert_one_line_error(r: subprocess.CompletedProcess, where: str, *words: str) -> None:
    out = r.stdout + r.stderr
    assert r.returncode == 2 and where in out and "Traceback" not in out, out
    for w in words:
        assert w in out, out


# ---------------------------------------------------------------- sets

@pytest.mark.parametrize("written, read, valid", [
    ("#{1 2}", "#{2 1}", True), ("#{:a \"b\" 3}", "#{3 :a \"b\"}", True),
    ("#{1 2}", "[1 2]", False), ("#{1 2}", "#{1 2 3}", False), ("#{1}", "#{1.0}", False),
    ("[#{1 2} {:x #{3 4}}]", "[#{2 1} {:x #{4 3}}]", True)])
def test_sets_compare_as_sets(written, read, valid):
    assert check_linearizable(edn_register(written, read), model="register").valid is valid


def test_sets_survive_a_round_trip_through_edn():
    h = edn_register("#{3 1 2}", "#{2 3 1}")
    back = loads_history(dumps_history(h, "edn"), "b.edn")
    assert check_linearizable(back, model="register").valid is True
    assert b"#{1 2 3}" in dumps_history(h, "edn")


def test_a_set_holding_a_member_twice_is_refused():
    with pytest.raises(HistoryError) as e:
        loads_history(b"{:type :invoke :f :read :process 0}\n"
                      b"{:type :ok :f :read :process 0 :value #{1 1}}\n", "h.edn")
    assert e.value.line == 2 and "twice" in str(e.value)


# ---------------------------------------------------------------- discards

@pytest.mark.parametrize("tail", ["#_{:type :ok :f :read :process 0}", "#_ #_ 1 2",
                                  "#_ x ; done\n"])
def test_a_file_may_end_in_a_discarded_form(tail):
    h = loads_history(("{:type :invoke :f :read :process 0 :value nil}\n" + tail).encode(), "h.edn")
    assert len(h) == 1


def test_discards_inside_a_vector_of_ops():
    h = loads_history(b"[#_ {:junk 1}\n {:type :invoke :f :read :process 0}\n #_ #_ 1 2\n"
                      b" {:type :ok :f :read :process 0 :value 3} #_ 4]", "h.edn")
    assert len(h) == 2 and h.lines == [2, 4]


def test_a_discard_of_nothing_is_refused():
    with pytest.raises(HistoryError) as e:
        loads_history(b"{:type :invoke :f :read :process 0}\n#_", "h.edn")
    assert e.value.line == 2 and "#_" in str(e.value)


# ---------------------------------------------------------------- depth, strings, integers

def test_deep_nesting_is_a_line_error_not_a_recursion_error(tmp_path):
    p = tmp_path / "h.edn"
    p.write_text("{:type :invoke :f :read :process 0}\n{:type :ok :f :read :process 0 :value "
                 + "[" * 5000 + "]" * 5000 + "}\n")
    assert_one_line_error(run_cli("validate", str(p)), "h.edn:2", "nested")
    assert_one_line_error(run_cli("convert", str(p), str(tmp_path / "o.jsonl")), "h.edn:2")
    assert list(tmp_path.iterdir()) == [p]


def test_a_lone_surrogate_is_a_line_error_and_leaves_no_output(tmp_path):
    p = tmp_path / "h.edn"
    p.write_text('{:type :invoke :f :write :process 0 :value "ok"}\n'
                 '{:type :ok :f :write :process 0 :value "ok" :error "a\\ud800b"}\n')
    assert_one_line_error(run_cli("convert", str(p), str(tmp_path / "o.jsonl")), "h.edn:2",
                          "surrogate")
    assert list(tmp_path.iterdir()) == [p]


def test_a_surrogate_pair_is_one_character():
    h = loads_history(b'{:type :invoke :f :write :process 0 :value "a\\ud83d\\ude00b"}', "h.edn")
    assert h.ops[0].value == "a\U0001F600b"
    assert dumps_history(h, "jsonl").decode().count("\U0001F600") == 1


def test_big_edn_integers_convert_exactly(tmp_path):
    p = tmp_path / "h.edn"
    p.write_text("{:type :invoke :f :write :process 0 :value 1180591620717411303424N}\n"
                 "{:type :ok :f :write :process 0 :value 1180591620717411303424}\n"
                 "{:type :invoke :f :read :process 0 :value nil}\n"
                 "{:type :ok :f :read :process 0 :value 1180591620717411303425}\n")
    r = run_cli("convert", str(p), str(tmp_path / "h.jsonl"))
    assert r.returncode == 0, r.stderr
    back = load_history(tmp_path / "h.jsonl")
    assert [o.value for o in back.ops] == [2 ** 70, 2 ** 70, None, 2 ** 70 + 1]
    assert check_linearizable(back, model="register").valid is False


def test_a_failed_conversion_leaves_an_existing_output_alone(tmp_path):
    # keyed and unkeyed client ops cannot both be written in EDN's independent form
    src = tmp_path / "h.jsonl"
    src.write_bytes(b'{"index":0,"process":0,"type":"invoke","f":"write","key":"x","value":1}\n'
                    b'{"index":1,"process":1,"type":"invoke","f":"write","value":[1,2]}\n')
    out = tmp_path / "h.edn"
    out.write_text("previous\n")
    assert_one_line_error(run_cli("convert", str(src), str(out)), "h.jsonl:2", "key")
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.edn", "h.jsonl"]


# ---------------------------------------------------------------- independent detection

def cas_ops(key=None) -> list[Op]:
    return [Op(0, 1, 0, "invoke", "cas", key=key, value=[1, 2]),
            Op(1, 2, 0, "fail", "cas", key=key, value=[1, 2]),
            Op(2, 3, 1, "invoke", "cas", key=key, value=[3, 4]),
            Op(3, 4, 1, "ok", "cas", key=key, value=[3, 4])]


def test_a_keyless_cas_history_round_trips_through_edn_unkeyed(tmp_path):
    h = History(ops=cas_ops())
    (tmp_path / "h.edn").write_bytes(dumps_history(h, "edn"))
    back = load_history(tmp_path / "h.edn")
    assert [(o.key, o.value) for o in back.ops] == [(None, [1, 2]), (None, [1, 2]),
                                                    (None, [3, 4]), (None, [3, 4])]
    assert check_linearizable(back, model="cas-register", init=3).valid is True


def test_a_keyed_cas_history_round_trips_keyed(tmp_path):
    h = History(ops=cas_ops(key="k"))
    back = loads_history(dumps_history(h, "edn"), "h.edn")
    assert [(o.key, o.value) for o in back.ops] == [(o.key, o.value) for o in h.ops]


def test_pairs_that_could_be_either_are_not_guessed(tmp_path):
    # writes of pairs and nothing else: [k v] form or a register of pairs?
    p = tmp_path / "h.edn"
    p.write_text("{:type :invoke :f :write :process 0 :value [1 2]}\n"
                 "{:type :ok :f :write :process 0 :value [1 2]}\n")
    assert_one_line_error(run_cli("validate", str(p)), "h.edn", "--independent")
    assert run_cli("validate", str(p), "--independent", "no").returncode == 0
    assert load_history(p, independent=True).ops[0].key == 1


# ---------------------------------------------------------------- --init keys

def multi(tmp_path, keys: str) -> str:
    p = tmp_path / "m.edn"
    p.write_text(f"{{:type :invoke :f :txn :process 0 :value [{keys}]}}\n"
                 f"{{:type :ok :f :txn :process 0 :value [{keys.replace('nil', '5')}]}}\n")
    return str(p)


def test_edn_init_keeps_integer_keys():
    assert loads_value("{1 5, :x 2, \"y\" 3}") == {1: 5, "x": 2, "y": 3}


@pytest.mark.parametrize("init, code", [("{1 5}", 0), ('{"1": 5}', 0), ('{"1" 5}', 1),
                                        ("{1 6}", 1)])
def test_init_for_integer_keys(tmp_path, init, code):
    r = run_cli("check", multi(tmp_path, "[:read 1 nil]"), "--model", "multi-register",
                "--init", init)
    assert r.returncode == code, r.stdout + r.stderr


def test_a_json_init_key_that_could_be_either_key_is_an_error(tmp_path):
    path = multi(tmp_path, '[:read 1 nil] [:read "1" nil]')
    r = run_cli("check", path, "--model", "multi-register", "--init", '{"1": 5}')
    assert r.returncode == 2 and "EDN" in r.stderr and "Traceback" not in r.stderr, r.stderr
    r = run_cli("check", path, "--model", "multi-register", "--init", '{1 5, "1" 5}')
    assert r.returncode == 0, r.stdout + r.stderr


def test_sets_built_in_code_compare_as_sets_in_any_order():
    from checkers.history.values import EdnSet
    ops = [Op(0, 1, 0, "invoke", "write", value=EdnSet([2, 1])),
           Op(1, 2, 0, "ok", "write", value=EdnSet([2, 1])),
           Op(2, 3, 1, "invoke", "read"), Op(3, 4, 1, "ok", "read", value=EdnSet([1, 2]))]
    assert check_linearizable(History(ops=ops), model="register").valid is True


def test_a_two_member_set_is_not_a_key_value_pair():
    h = loads_history(b"{:type :invoke :f :read :process 0 :value #{1 nil}}\n"
                      b"{:type :ok :f :read :process 0 :value #{1 2}}\n", "h.edn")
    assert [o.key for o in h.ops] == [None, None]
