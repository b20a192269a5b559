"""Counters never round and never wrap: the ``counter`` checker sums exactly,
and the linearizability ``counter`` model refuses what its int64 state cannot
hold rather than wrap around into a false "valid"."""

from __future__ import annotations

import pytest

from checkers import registry
from checkers.history import History, Op
from checkers.linear import check_linearizable
from checkers.linear.models import ModelError


def counter_history(deltas: list, read: object) -> History:
    ops = []
    for d in deltas:
        ops.append(Op(index=len(ops), time=len(ops), process=0, type="invoke", f="add", value=d))
        ops.append(Op(index=len(ops), time=len(ops), process=0, type="ok", f="add", value=d))
    ops.append(Op(index=len(ops), time=len(ops), process=0, type="invoke", f="read"))
    ops.append(Op(index=len(ops), time=len(ops), process=0, type="ok", f="read", value=read))
    return History(ops=ops)


@pytest.mark.parametrize("deltas,read", [
    ([2**53 + 1], 2**53),              # float64 would make these one number
    ([2**53, 1], 2**53),
    ([2**63, 2**63], 0),               # beyond int64 too
    ([0.1, 0.2], 0.30000000000000004),  # 0.1 + 0.2 exactly is not that float
])
def test_counter_checker_bounds_are_exact(deltas, read) -> None:
    r = registry.run("counter", counter_history(deltas, read))
    assert r.valid is False
    e = r.evidence["errors"][0]
    assert e["read"] == read


@pytest.mark.parametrize("deltas,read", [([2**53 + 1], 2**53 + 1), ([2**70, -1], 2**70 - 1),
                                         ([0.5, 0.25], 0.75)])
def test_counter_checker_exact_sums_that_hold(deltas, read) -> None:
    r = registry.run("counter", counter_history(deltas, read))
    assert r.valid is True
    assert r.evidence["bounds"][0][1:] == [read, read, read]


def test_counter_checker_rejects_a_non_numeric_init() -> None:
    with pytest.raises(ValueError, match="counter init must be a finite number"):
        registry.run("counter", counter_history([1], 1), init="x")


def test_counter_model_never_wraps_around() -> None:
    # eight adds of 2^61-1 wrap to -8 in int64: the exact twin judges such histories
    h = counter_history([2**61 - 1] * 8, -8)
    r = check_linearizable(h, model="counter")
    assert r.valid is False and r.evidence["model"] == "counter"
    assert r.evidence["keys"][0]["failure"]["expected"] == f"read {8 * (2**61 - 1)}"
    assert check_linearizable(counter_history([2**61 - 1] * 8, 8 * (2**61 - 1)),
                              model="counter").valid is True
    assert check_linearizable(counter_history([-(2**61 - 1)] * 3, 0),
                              model="counter").valid is False


@pytest.mark.parametrize("deltas,read,valid", [
    ([2**70], 2**70, True), ([2**70, -(2**70)], 0, True), ([2**70, 1], 2**70, False),
    ([2**53 + 1], 2**53, False), ([1, 2], 3, True)])
def test_counter_model_is_exact_at_any_size(deltas, read, valid) -> None:
    assert check_linearizable(counter_history(deltas, read), model="counter").valid is valid


def test_counter_model_exact_twin_keeps_the_model_rules() -> None:
    h = counter_history([2**62, 1], 2**62 + 1)
    h.ops.append(Op(index=len(h.ops), time=len(h.ops), process=1, type="invoke", f="cas"))
    with pytest.raises(ModelError, match="no operation 'cas'"):
        check_linearizable(History(ops=h.ops), model="counter")
    with pytest.raises(ModelError, match="a counter read must be an integer"):
        check_linearizable(counter_history([2**62], "x"), model="counter")
