"""Formats: JSONL <-> EDN round trips, Knossos' files, EDN reading details."""

from __future__ import annotations

import glob
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkers.history import History, Op, dumps_history, load_history, loads_history, validate
from checkers.history.edn import load_edn, looks_independent, loads_value

pytestmark = pytest.mark.usefixtures("jsonl_loader")  # both JSON Lines loaders

KNOSSOS = Path(__file__).resolve().parents[1] / "data" / "knossos"
KNOSSOS_FILES = sorted(glob.glob(str(KNOSSOS / "**" / "*.edn"), recursive=True))

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**62, 2**62),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=10)


@st.composite
def histories(draw) -> History:
    n = draw(st.integers(0, 12))
    keyed = draw(st.booleans())  # Jepsen's independent histories key every client op, or none
    ops = []
    t = 0
    for i in range(n):
        t += draw(st.integers(0, 10**6))
        proc = draw(st.one_of(st.integers(0, 5), st.just("nemesis")))
        key = (draw(st.one_of(st.integers(0, 3), st.text(min_size=1, max_size=4)))
               if keyed and proc != "nemesis" else None)
        ops.append(Op(index=i, time=t if draw(st.booleans()) else None, process=proc,
                      type=draw(st.sampled_from(["invoke", "ok", "fail", "info"])),
                      f=draw(st.sampled_from(["read", "write", "cas", "txn", "add", "start-partition"])),
                      key=key,
                      value=draw(json_values),
                      node=draw(st.one_of(st.none(), st.sampled_from(["n1", "n2"]))),
                      error=draw(st.one_of(st.none(), st.text(max_size=10), st.lists(st.text(max_size=4), max_size=2)))))
    return History(ops=ops)


def _norm(ops):
    return [o.to_dict() for o in ops]


@settings(max_examples=300, deadline=None)
@given(histories())
def test_jsonl_edn_jsonl_round_trip_preserves_every_op(h):
    jsonl = dumps_history(h, "jsonl")
    h1 = loads_history(jsonl, "a.jsonl")
    assert _norm(h1.ops) == _norm(h.ops)
    edn = dumps_history(h1, "edn")
    # Keys are written as Jepsen "independent" [key value]; say which it is
    # explicitly, since a random unkeyed history may hold pairs by chance.
    has_keys = any(o.key is not None for o in h.ops)
    h2 = loads_history(edn, "a.edn", independent=has_keys)
    h3 = loads_history(dumps_history(h2, "jsonl"), "b.jsonl")
    assert _norm(h3.ops) == _norm(h.ops)


def test_round_trip_on_a_keyed_history_auto_detects_independent(tmp_path):
    ops = [Op(0, 10, 0, "invoke", "read", key="x", value=None),
           Op(1, 20, 0, "ok", "read", key="x", value=3),
           Op(2, 30, "nemesis", "invoke", "start-partition", value={"n1": ["n2"]}),
           Op(3, 40, 1, "invoke", "cas", key=7, value=[1, 2]),
           Op(4, 50, 1, "fail", "cas", key=7, value=[1, 2], error="mismatch")]
    h = History(ops=ops)
    (tmp_path / "h.edn").write_bytes(dumps_history(h, "edn"))
    back = load_history(tmp_path / "h.edn")
    assert _norm(back.ops) == _norm(ops)


def _count_ops_independently(text: str) -> int:
    # Every op map has exactly one :type entry; count them outside comments.
    no_comments = re.sub(r";[^\n]*", "", text)
    return len(re.findall(r":type\s+:(?:invoke|ok|fail|info)\b", no_comments))


@pytest.mark.parametrize("path", KNOSSOS_FILES, ids=lambda p: p.split("knossos/")[-1])
def test_every_knossos_file_loads_with_the_right_op_count(path):
    h = load_history(path)
    text = Path(path).read_text()
    assert len(h) == _count_ops_independently(text)
    assert validate(h) == []
    col = h.columnar()
    assert len(col) == len(h)
    # types agree op by op with a regex reading of the file
    types = re.findall(r":type\s+:(invoke|ok|fail|info)\b", re.sub(r";[^\n]*", "", text))
    assert [o.type for o in h.ops] == types


def test_knossos_folder_is_there():
    assert len(KNOSSOS_FILES) >= 100, f"expected Knossos' files under {KNOSSOS}"


def test_edn_reader_details():
    text = """; comment
    ({:type :invoke, :f :txn, :value [[:read :x nil] [:write :y 2]] :process 3 :time 10}
     #_ {:ignored true}
     {:type :ok :f :txn :value [[:read :x 0] [:write :y 2]] :process 3 :time 12 :error "a\\"b"}
     {:type :info :f :start :process :nemesis :value #{1 2}})"""
    h = load_edn(text, "t.edn")
    assert [o.index for o in h.ops] == [0, 1, 2]
    assert h.ops[0].value == [["read", "x", None], ["write", "y", 2]]
    assert h.ops[1].error == 'a"b'
    assert h.ops[2].process == "nemesis"
    assert sorted(h.ops[2].value) == [1, 2]
    assert h.lines == [2, 4, 5]


def test_independent_detection():
    assert looks_independent([{"process": 0, "type": "invoke", "f": "read", "value": [1, None]},
                              {"process": 0, "type": "ok", "f": "read", "value": [1, 3]}])
    # could be either: no read invoked with [k nil]
    assert looks_independent([{"process": 0, "value": [1, None]},
                              {"process": 0, "value": [1, 3]}]) is None
    assert not looks_independent([{"process": 0, "value": None}, {"process": 0, "value": [1, 3]}])
    assert not looks_independent([{"process": 0, "value": [["read", "x", None], ["read", "y", None]]}])


def test_loads_value():
    assert loads_value("nil") is None
    assert loads_value("[1 :a \"s\"]") == [1, "a", "s"]
    assert loads_value("{:x 0 :y 0}") == {"x": 0, "y": 0}


def test_txn_micro_ops_are_written_as_keywords():
    h = History(ops=[Op(0, None, 0, "invoke", "txn", value=[["read", "x", None]])])
    assert b"[[:read \"x\" nil]]" in dumps_history(h, "edn")
