"""The compiled JSON Lines scanner loads exactly what the per-record loader
loads: same columns, same interned values in the same order, same line
numbers, warnings and errors — on the writer's own lines, on lines it must
leave to the per-record path, and on mixtures of both."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from hypothesis import given, settings, strategies as st

from checkers.history import HistoryError, jsonl, loads_history
from checkers.history.jsonl_scan import scan_lines

_COLUMNS = ("index", "time", "process", "type", "f", "key", "value", "pair", "lines")


def _load(data: bytes, scanner: bool) -> tuple:
    saved = jsonl.SCAN_MIN_BYTES
    jsonl.SCAN_MIN_BYTES = 0 if scanner else 1 << 62
    try:
        h = loads_history(data, "h.jsonl", fmt="jsonl")
    except HistoryError as e:
        return ("error", str(e), e.line)
    finally:
        jsonl.SCAN_MIN_BYTES = saved
    c = h.columnar()
    cols = tuple(np.asarray(getattr(c, n)).tolist() for n in _COLUMNS)
    return (cols, repr(c.values), repr(c.keys), c.f_names, c.process_names, h.warnings,
            [h.line_of(i) for i in range(len(h))], [o.to_dict() for o in h.ops])


def _same(data: bytes) -> None:
    assert _load(data, True) == _load(data, False)


_ints = st.one_of(st.integers(-5, 5), st.integers(-(1 << 63), (1 << 63) - 1),
                  st.sampled_from([10 ** 17, 10 ** 18, -(10 ** 18), 2 ** 64, 2 ** 70]))
_strs = st.one_of(st.sampled_from(["a", "k1", "", "1", "x\"y", "x\\y", "é", "\u2028", "a b"]),
                  st.text(max_size=3))
_values = st.one_of(st.none(), _ints, _strs, st.booleans(), st.floats(-2, 2),
                    st.lists(_ints, min_size=2, max_size=2),
                    st.lists(st.one_of(st.none(), _ints), max_size=3),
                    st.dictionaries(st.sampled_from(["n1", "n2"]), st.lists(_ints, max_size=2),
                                    max_size=2))


@st.composite
def _record(draw, i):
    r = {"index": draw(st.one_of(st.just(i), _ints, st.none())),
         "time": draw(st.one_of(st.none(), st.integers(-3, 10 ** 12), st.just(-1), _ints)),
         "process": draw(st.one_of(st.integers(0, 4), st.just("nemesis"), _ints)),
         "type": draw(st.sampled_from(["invoke", "ok", "fail", "info", "other"])),
         "f": draw(st.sampled_from(["read", "write", "cas", "", "start-partition"]))}
    if draw(st.booleans()):
        r["key"] = draw(st.one_of(_ints, _strs, st.none()))
    r["value"] = draw(_values)
    if draw(st.booleans()):
        r["node"] = draw(st.one_of(st.just("n1"), _strs))
    if draw(st.booleans()):
        r["error"] = draw(st.one_of(st.just("timeout"), _strs, _ints))
    if draw(st.integers(0, 9)) == 0:
        del r[draw(st.sampled_from(sorted(r)))]
    if draw(st.integers(0, 9)) == 0:
        r["latency"] = 5
    return r


def _dump(r: dict) -> bytes:
    try:
        return orjson.dumps(r)
    except TypeError:
        return json.dumps(r, separators=(",", ":")).encode()


@st.composite
def _jsonl(draw):
    n = draw(st.integers(0, 12))
    lines = [_dump(draw(_record(i))) for i in range(n)]
    for _ in range(draw(st.integers(0, 2))):  # blank lines, spacing, a torn or bad line
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, draw(st.sampled_from([b"", b"  ", b"[1]", b'{"index":', b"nul",
                                               b'{"index": 1, "time": 2}'])))
    data = b"\n".join(lines)
    if draw(st.booleans()):
        data += b"\n"
    return data


@settings(max_examples=400, deadline=None)
@given(_jsonl())
def test_scanner_loads_what_the_per_record_loader_loads(data):
    _same(data)


@settings(max_examples=250, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["read", "write", "cas"]),
                          st.one_of(st.none(), st.integers(-3, 3),
                                    st.lists(st.integers(0, 3), min_size=2, max_size=2),
                                    st.sampled_from(["v", "w"])),
                          st.one_of(st.none(), st.integers(0, 2), st.sampled_from(["k", "j"])),
                          st.booleans()), max_size=30))
def test_well_formed_writer_histories_with_some_foreign_lines(rows):
    """Mostly scanner lines, a few the per-record path reads (a map value, a
    float, an extra field): items seen on both kinds of line meet."""
    out = []
    for i, (p, f, v, k, foreign) in enumerate(rows):
        r = {"index": i, "time": i * 10, "process": p, "type": "invoke" if i % 2 else "ok",
             "f": f}
        if k is not None:
            r["key"] = k
        r["value"] = v
        if foreign:
            r["extra"] = {"why": [1, 2]}
        out.append(_dump(r))
    _same(b"\n".join(out) + b"\n")


def test_the_scanner_takes_the_writers_lines_and_leaves_others():
    lines = [b'{"index":0,"time":5,"process":3,"type":"invoke","f":"cas","key":"k","value":[1,2]}',
             b'{"index":1,"time":null,"process":"nemesis","type":"info","f":"kill","value":null,'
             b'"node":"n1","error":"a\\"b"}',
             b'{"index":2,"time":5,"process":3,"type":"ok","f":"cas","key":7,"value":"x"}',
             b'{"index":3,"time":5,"process":3,"type":"ok","f":"cas","value":1.5}',
             b'{"index":4,"time":5,"process":-3,"type":"ok","f":"cas","value":1}',
             b'{"index":5,"time":5,"process":3,"type":"ok","f":"","value":1}',
             b'{"index":6,"time":5,"process":3,"type":"ok","f":"r","value":1234567890123456789}',
             b'{"index":7,"time":5,"process":3,"type":"ok","f":"r","value":{"a":1}}',
             b'{"index":8, "time":5,"process":3,"type":"ok","f":"r","value":1}',
             b'{"index":9,"time":5,"process":3,"type":"ok","f":"r","value":1,"error":"\\u00e9"}',
             b'{"index":10,"time":5,"process":3,"type":"ok","f":"r","value":01}',
             b'{"index":11,"time":5,"process":3,"type":"ok","f":"r","value":1}x']
    data = b"\n".join(lines)
    buf = np.frombuffer(data, np.uint8)
    nl = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], nl + 1)).astype(np.int64)
    ends = np.concatenate((nl, [len(data)])).astype(np.int64)
    accepted = scan_lines(buf, starts, ends)[0].tolist()
    assert accepted == [True, True, True] + [False] * 9


@pytest.mark.parametrize("data", [
    b"",
    b"\n\n",
    b'{"index":0,"time":1,"process":0,"type":"invoke","f":"read","value":null}\n{"ind',
    b'{"index":0,"time":1,"process":0,"type":"invoke","f":"read","value":null}\n[1]\n',
    b'{"index":0,"time":1,"process":0,"type":"invoke","f":"read","value":null}\n'
    b'{"index":1,"time":1,"process":0,"type":"ok","f":"read","value":100000000000000000000}\n',
])
def test_edges(data):
    _same(data)
