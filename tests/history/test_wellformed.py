"""The whole-array well-formedness proof never clears a history the per-op
walk faults, and does clear the well-formed ones (so it is actually used)."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from checkers.history import History, Op, loads_history
from checkers.history import validate
from checkers.history.validate import validate_by_walking as _walk
from checkers.history.wellformed import certainly_well_formed


_values = st.sampled_from([None, 1, 1.0, True, "1", [1, 2], [1, 2.0], 2])
_ops = st.lists(st.tuples(
    st.sampled_from([0, 1, 2, "nemesis"]),
    st.sampled_from(["invoke", "ok", "fail", "info"]),
    st.sampled_from(["read", "write", "cas"]),
    st.sampled_from([None, "a", 1]),
    _values,
    st.sampled_from([None, -1, 0, 5, 10]),
    st.booleans()), max_size=14)


@settings(max_examples=3000, deadline=None)
@given(_ops)
def test_never_clears_a_history_the_walk_faults(rows):
    ops = []
    for i, (p, t, f, k, v, time, skip_index) in enumerate(rows):
        ops.append(Op(index=i * 2 + (1 if skip_index else 0) if i % 5 else i, time=time,
                      process=p, type=t, f=f, key=k, value=v))
    h = History(ops=ops)
    if certainly_well_formed(h.columnar()):
        assert _walk(h) == []


def _well_formed(n_proc: int, rounds: int) -> History:
    ops = [Op(index=0, time=0, process="nemesis", type="info", f="start")]
    for r in range(rounds):
        for p in range(n_proc):
            ops.append(Op(index=0, time=10 * r, process=p, type="invoke", f="write",
                          key="k", value=r * 100 + p))
        for p in range(n_proc):
            typ = "info" if r == rounds - 1 and p == 0 else "ok"
            ops.append(Op(index=0, time=10 * r + 5, process=p, type=typ, f="write",
                          key="k" if p else None, value=r * 100 + p if p % 2 else None))
    ops.append(Op(index=0, time=None, process="nemesis", type="invoke", f="stop"))
    ops.append(Op(index=0, time=None, process="nemesis", type="info", f="stop"))
    for i, o in enumerate(ops):
        o.index = i
    return History(ops=ops)


def test_clears_a_well_formed_history():
    h = _well_formed(4, 5)
    assert _walk(h) == []
    assert certainly_well_formed(h.columnar())


def test_one_breach_is_not_cleared_and_the_walk_names_it():
    data = (b'{"index":0,"time":1,"process":0,"type":"invoke","f":"write","value":1}\n'
            b'{"index":1,"time":2,"process":0,"type":"ok","f":"write","value":2}\n')
    h = loads_history(data, "x.jsonl")
    assert not certainly_well_formed(h.columnar())
    (b,) = validate(h)
    assert b.line == 2 and "differs from its invoke's value" in b.message


def test_a_time_of_minus_one_beside_an_absent_time_is_left_to_the_walk():
    data = (b'{"index":0,"time":-1,"process":0,"type":"invoke","f":"read"}\n'
            b'{"index":1,"time":-5,"process":0,"type":"ok","f":"read"}\n')
    h = loads_history(data, "x.jsonl")
    assert not certainly_well_formed(h.columnar())
    assert len(validate(h)) == 1


@settings(max_examples=2000, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.data())
def test_never_clears_a_mutated_well_formed_history(n_proc, rounds, data):
    """Near misses: one field of a well-formed history changed."""
    h = _well_formed(n_proc, rounds)
    ops = h.ops
    i = data.draw(st.integers(0, len(ops) - 1))
    field = data.draw(st.sampled_from(["index", "time", "process", "type", "f", "key", "value"]))
    new = data.draw({"index": st.integers(-1, len(ops) + 1), "time": st.sampled_from([None, -1, 0, 7, 99]),
                     "process": st.sampled_from([0, 1, 5, "nemesis"]),
                     "type": st.sampled_from(["invoke", "ok", "fail", "info"]),
                     "f": st.sampled_from(["write", "read", "start"]),
                     "key": st.sampled_from([None, "k", "j", 1]), "value": _values}[field])
    setattr(ops[i], field, new)
    h = History(ops=ops)
    cleared = certainly_well_formed(h.columnar())
    if cleared:
        assert _walk(h) == []
    else:
        assert _walk(h) != [] or _ambiguous_time(h)


def _ambiguous_time(h: History) -> bool:
    """The one case the proof leaves to the walk on purpose: an absent time (the
    column's -1) beside a present one, which may be a real -1."""
    return any(o.time in (None, -1) for o in h.ops)
