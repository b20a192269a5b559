"""Crossing the causal checker with the linearizability checker:
linearizable histories must satisfy CCv; histories that are not
linearizable only because a read in another session was stale must still
satisfy CC."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from causal_util import hist
from checkers import registry
from checkers.causal.simulate import simulate
from checkers.history import History, Op

SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def lin(h: History):
    return registry.run("linearizable", h, model="kv").valid


def causal(h: History, level: str):
    return registry.run("causal", h, level=level).valid


@SETTINGS
@given(st.integers(2, 40), st.integers(1, 4), st.integers(1, 3), st.integers(0, 10**6),
       st.sampled_from([0.0, 0.3]))
def test_single_copy_store_is_linearizable_and_ccv(n, sessions, keys, seed, info_rate):
    # One replica, no lag: an atomic store, so the history is linearizable.
    h = simulate(n, sessions=sessions, keys=keys, replicas=1, mean_lag=0, seed=seed,
                 info_rate=info_rate, fail_rate=0.1)
    assert lin(h) is True
    assert causal(h, "CCv") is True


@st.composite
def small_histories(draw):
    """Random interleaved register histories (unique values per key)."""
    nproc = draw(st.integers(1, 3))
    counter = {"x": 0, "y": 0}
    ops: list[Op] = []
    open_: dict[int, tuple] = {}
    for _ in range(draw(st.integers(1, 10))):
        p = draw(st.integers(0, nproc - 1))
        if p in open_:
            f, key, val = open_.pop(p)
            t = draw(st.sampled_from(["ok", "ok", "ok", "info"] if f == "write" else ["ok"]))
            ops.append(Op(len(ops), len(ops), p, t, f, key, val))
        else:
            key = draw(st.sampled_from(["x", "y"]))
            if draw(st.booleans()):
                counter[key] += 1
                open_[p] = ("write", key, counter[key])
                ops.append(Op(len(ops), len(ops), p, "invoke", "write", key, counter[key]))
            else:
                val = draw(st.sampled_from([None] + list(range(1, counter[key] + 1))))
                open_[p] = ("read", key, val)
                ops.append(Op(len(ops), len(ops), p, "invoke", "read", key, None))
    # info completions retire a process: drop what it did afterwards
    seen_info: set = set()
    kept = []
    for o in ops:
        if o.process in seen_info:
            continue
        kept.append(o)
        if o.type == "info":
            seen_info.add(o.process)
    return History(ops=[Op(i, i, o.process, o.type, o.f, o.key, o.value) for i, o in enumerate(kept)])


@SETTINGS
@given(small_histories())
def test_every_linearizable_history_satisfies_ccv(h):
    if lin(h) is True:
        assert causal(h, "CCv") is True
        assert causal(h, "CM") is True


def test_stale_read_in_another_session_is_causal_not_linearizable():
    # process 0's write completed before process 1 read the old value
    h = hist((0, "w", "x", 1), (1, "r", "x", None))
    assert lin(h) is False
    assert causal(h, "CC") is True
    assert causal(h, "CCv") is True
    # and stale reads of a newer value too: 0 writes 1 then 2, 1 still reads 1
    h = hist((0, "w", "x", 1), (1, "r", "x", 1), (0, "w", "x", 2), (1, "r", "x", 1))
    assert lin(h) is False
    assert causal(h, "CC") is True


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10**6))
def test_lagging_replicas_break_linearizability_but_not_cc(seed):
    # Replicas with lag give stale reads across sessions: rarely linearizable,
    # always causal.
    h = simulate(30, sessions=3, keys=2, replicas=3, mean_lag=20, seed=seed)
    assert causal(h, "CC") is True
    assert causal(h, "CCv") is True


def test_some_lagging_history_is_not_linearizable():
    verdicts = [lin(simulate(30, sessions=3, keys=2, replicas=3, mean_lag=20, seed=s))
                for s in range(10)]
    assert False in verdicts
