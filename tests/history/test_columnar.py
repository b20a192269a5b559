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
