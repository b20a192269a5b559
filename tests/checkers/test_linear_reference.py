"""The numba checker against the slow reference on many small random histories,
and on histories from the simulated store, intact and mutated."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.history import History, Op, validate
from checkers.linear import check_linearizable, simulate_register_history
from reference_linear import reference_check

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _op_spec(draw, model: str, i: int):
    """(f, invoke value, ok result) of one op for ``model``."""
    small = st.integers(0, 2)
    if model == "register":
        f = draw(st.sampled_from(["read", "write"]))
    elif model in ("cas-register", "kv"):
        f = draw(st.sampled_from(["read", "write", "cas"]))
    elif model == "mutex":
        return draw(st.sampled_from(["acquire", "release"])), None, None
    elif model == "counter":
        if draw(st.booleans()):
            d = draw(st.integers(1, 2))
            return "add", d, d
        return "read", None, draw(st.integers(0, 4))
    elif model == "fifo-queue":
        if draw(st.booleans()):
            return "enqueue", i, i
        return "dequeue", None, draw(st.sampled_from([None, 0, 1, 2, 3]))
    elif model == "set":
        if draw(st.booleans()):
            v = draw(small)
            return "add", v, v
        return "read", None, sorted(draw(st.sets(small, max_size=3)))
    elif model == "append-kv":
        f = draw(st.sampled_from(["get", "put", "append"]))
        if f == "get":
            return f, None, draw(st.sampled_from(["", "a", "b", "ab", "ba", "aa"]))
        v = draw(st.sampled_from(["a", "b"]))
        return f, v, v
    elif model == "multi-register":
        mops = draw(st.lists(st.tuples(st.sampled_from(["read", "write"]),
                                       st.sampled_from(["x", "y"]), st.integers(0, 1)),
                             min_size=1, max_size=2))
        inv = [[f, k, None if f == "read" else v] for f, k, v in mops]
        return "txn", inv, [[f, k, v] for f, k, v in mops]
    else:
        raise ValueError(model)
    if f == "read":
        return f, None, draw(st.sampled_from([None, 0, 1, 2]))
    if f == "write":
        v = draw(small)
        return f, v, v
    v = [draw(small), draw(small)]
    return "cas", v, v


@st.composite
def histories(draw, model: str) -> History:
    nproc = draw(st.integers(2, 4))
    n = draw(st.integers(1, 9))
    per_slot: list[list] = [[] for _ in range(nproc)]
    for i in range(n):
        f, value, result = _op_spec(draw, model, i)
        outcome = draw(st.sampled_from(["ok", "ok", "ok", "fail", "info"]))
        key = draw(st.sampled_from(["a", "b"])) if model == "kv" else None
        # why a cas failed: only a compare that failed observes anything
        error = (draw(st.sampled_from(["cas-mismatch", "cas-mismatch", "connection refused",
                                       None])) if outcome == "fail" else None)
        per_slot[draw(st.integers(0, nproc - 1))].append((f, value, result, outcome, key,
                                                          error))
    # each slot's events in order; an info op retires its process id
    streams = []
    next_pid = nproc
    for s, ops in enumerate(per_slot):
        pid = s
        events = []
        for j, (f, value, result, outcome, key, error) in enumerate(ops):
            events.append((pid, "invoke", f, value, key, None))
            if j == len(ops) - 1 and draw(st.booleans()) and outcome == "info":
                break  # never completed
            events.append((pid, outcome, f, result if outcome == "ok" else value, key, error))
            if outcome == "info":
                pid = next_pid
                next_pid += 1
        streams.append(events)
    out: list[Op] = []
    while any(streams):
        live = [s for s in streams if s]
        s = live[draw(st.integers(0, len(live) - 1))]
        pid, typ, f, value, key, error = s.pop(0)
        out.append(Op(index=len(out), time=len(out) * 10, process=pid, type=typ, f=f,
                      value=value, key=key, error=error))
    h = History(ops=out)
    assert not validate(h), validate(h)
    return h


def _agree(h: History, model: str, **kw) -> None:
    want = reference_check(h, model, **kw)
    got = check_linearizable(h, model=model, **kw)
    assert got.valid is want, (model, kw, want, got.summary, [o.to_dict() for o in h.ops])


@pytest.mark.parametrize("model", ["register", "cas-register", "kv", "mutex", "counter",
                                   "fifo-queue", "set", "append-kv", "multi-register"])
def test_agrees_with_reference(model: str) -> None:
    @SETTINGS
    @given(histories(model))
    def run(h: History) -> None:
        _agree(h, model)
    run()


@SETTINGS
@given(histories("cas-register"))
def test_agrees_cas_fail_observes(h: History) -> None:
    _agree(h, "cas-register", cas_fail_observes=True)


@SETTINGS
@given(histories("cas-register"), st.sampled_from([0, 1]))
def test_agrees_with_initial_value(h: History, init: int) -> None:
    _agree(h, "cas-register", init=init)


@SETTINGS
@given(histories("multi-register"))
def test_agrees_multi_register_init(h: History) -> None:
    _agree(h, "multi-register", init={"x": 0, "y": 1})


@SETTINGS
@given(histories("fifo-queue"))
def test_agrees_queue_init(h: History) -> None:
    _agree(h, "fifo-queue", init=[7, 8])


def _mutate(h: History, rng: random.Random) -> History | None:
    ops = [Op(**{**{k: getattr(o, k) for k in ("index", "time", "process", "type", "f", "key",
                                                 "value")}}) for o in h.ops]
    if rng.random() < 0.5:
        reads = [i for i, o in enumerate(ops) if o.type == "ok" and o.f == "read"]
        if not reads:
            return None
        i = rng.choice(reads)
        ops[i].value = rng.choice([v for v in (None, 0, 1, 2, 3, 4) if v != ops[i].value])
    else:
        comps = [i for i, o in enumerate(ops) if o.type != "invoke"]
        if len(comps) < 2:
            return None
        i, j = sorted(rng.sample(comps, 2))
        ops[i], ops[j] = ops[j], ops[i]
        for k, o in enumerate(ops):
            o.index, o.time = k, k * 10
    m = History(ops=ops)
    return None if validate(m) else m


@pytest.mark.parametrize("seed", range(60))
def test_simulated_valid_and_mutated(seed: int) -> None:
    rng = random.Random(seed)
    h = simulate_register_history(seed, rng.randint(2, 8), processes=rng.randint(2, 4),
                                  keys=None, info_rate=0.2)
    assert check_linearizable(h, model="cas-register").valid is True
    assert reference_check(h, "cas-register") is True
    for _ in range(5):
        m = _mutate(h, rng)
        if m is not None:
            _agree(m, "cas-register")


@pytest.mark.parametrize("seed", range(10))
def test_simulated_larger_histories_are_valid(seed: int) -> None:
    h = simulate_register_history(seed, 2000, processes=6, keys=3 if seed % 2 else None,
                                  info_rate=0.01)
    r = check_linearizable(h, model="kv" if seed % 2 else "cas-register")
    assert r.valid is True, r.summary
