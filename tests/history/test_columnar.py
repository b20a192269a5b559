from __future__ import annotations

import numpy as np

from checkers.history import T_FAIL, T_INFO, T_OK, History, Op, loads_history


def test_pairing_and_operations():
    ops = [Op(0, 1, 0, "invoke", "write", value=1),
           Op(1, 2, 1, "invoke", "read"),
           Op(2, 3, 0, "ok", "write", value=1),
           Op(3, 4, "nemesis", "invoke", "start-partition"),
           Op(4, 5, 1, "info", "read", error="timeout"),
           Op(5, 6, "nemesis", "info", "start-partition", value={"n1": ["n2"]}),
           Op(6, 7, 2, "invoke", "cas", value=[1, 2]),
           Op(7, 8, 2, "fail", "cas", value=[1, 2]),
           Op(8, 9, 3, "invoke", "write", value=5)]
    c = History(ops=ops).columnar()
    assert list(c.pair) == [2, 4, 0, 5, 1, 3, 7, 6, -1]
    assert c.process_names[-1] == "nemesis"
    o = c.operations()
    assert list(o.invoke) == [0, 1, 6, 8]
    assert list(o.status) == [T_OK, T_INFO, T_FAIL, T_INFO]
    assert list(o.complete) == [2, 4, 7, -1]
    assert c.values[o.invoke_value[2]] == [1, 2]
    assert o.complete_time[3] == -1


def test_interning_keeps_json_types_apart():
    ops = [Op(i, None, 0, "invoke" if i % 2 == 0 else "ok", "write", value=v)
           for i, v in enumerate([1, 1, 1.0, 1.0, True, True, "1", "1", [1, True], [1, True],
                                  [1, 1], [1, 1], None, None])]
    c = History(ops=ops).columnar()
    codes = c.value[::2]
    assert len(set(codes.tolist())) == 7
    assert c.value[-1] == 0 and c.values[0] is None
    assert c.value_code([1, 1]) != c.value_code([1, True])


def test_columnar_from_jsonl_matches_columnar_from_ops():
    data = b"".join(
        (b'{"index":%d,"time":%d,"process":%d,"type":"%s","f":"add","key":%d,"value":%d}\n'
         % (i, i * 10, i % 3, b"invoke" if (i // 3) % 2 == 0 else b"ok", i % 4, i // 6))
        for i in range(60))
    h = loads_history(data, "x.jsonl")
    direct = h.columnar()
    rebuilt = History(ops=list(h.ops)).columnar()
    for name in ("index", "time", "process", "type", "f", "key", "value", "pair"):
        assert np.array_equal(getattr(direct, name), getattr(rebuilt, name)), name


from hypothesis import given, settings
from hypothesis import strategies as st

from checkers.history.columnar import _careful_columnar, _fast_columnar

_values = st.one_of(st.none(), st.integers(-3, 3), st.booleans(), st.floats(-2, 2),
                    st.text(max_size=2), st.lists(st.integers(0, 2), max_size=2))


@st.composite
def _records(draw):
    n = draw(st.integers(1, 25))
    out = []
    for i in range(n):
        r = {"index": i, "time": draw(st.one_of(st.none(), st.integers(0, 100))),
             "process": draw(st.one_of(st.integers(0, 3), st.just("nemesis"))),
             "type": draw(st.sampled_from(["invoke", "ok", "fail", "info"])),
             "f": draw(st.sampled_from(["read", "write", "cas"])), "value": draw(_values)}
        if draw(st.booleans()):
            r["key"] = draw(_values)
        out.append(r)
    return out


@settings(max_examples=400, deadline=None)
@given(_records())
def test_fast_columnar_build_equals_the_careful_one(records):
    # arbitrary interleavings, including ill-formed ones (bare completions,
    # two invokes in a row): pairing and interning must agree exactly
    fast = _fast_columnar(records)
    careful = _careful_columnar(records)
    assert fast is not None
    for name in ("index", "time", "process", "type", "f", "key", "value", "pair"):
        assert np.array_equal(getattr(fast, name), getattr(careful, name)), name
    assert fast.values == careful.values and fast.keys == careful.keys
    assert fast.f_names == careful.f_names and fast.process_names == careful.process_names
