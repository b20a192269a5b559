"""The memo's compact set encoding (checkers/linear/kernel.py): it must be a
faithful, canonical picture of the linearized set, or the search would prune
configurations it never saw and could call an invalid history valid.

Small histories (the reference tests) fit in one bitset word and mostly use
the dense form; here the encoding is checked directly on wide sets, and the
whole search is cross-checked against the Python-model search (exact Python
int bitsets) on medium histories where both forms occur."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkers.history import History, Op, validate
from checkers.linear import OpView, PyModel, check_linearizable, simulate_register_history
from checkers.linear import search
from checkers.linear.kernel import encode_set, next_zero


def _bits(members: set[int], n: int) -> np.ndarray:
    words = np.zeros((n + 63) >> 6, np.uint64)
    for m in members:
        words[m >> 6] |= np.uint64(1) << np.uint64(m & 63)
    return words.view(np.int64)


def _decode(enc: np.ndarray, length: int, n: int) -> set[int]:
    if enc[0] == -1:
        words = enc[1:length].view(np.uint64)
        return {i for i in range(n) if (int(words[i >> 6]) >> (i & 63)) & 1}
    front = int(enc[0])
    holes = {int(x) for x in enc[1:length]}
    return set(range(front)) - holes


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 300).flatmap(
    lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1)))))
def test_encoding_is_faithful(case: tuple[int, set[int]]) -> None:
    n, members = case
    bits = _bits(members, n)
    front = max(members) + 1 if members else 0
    zero = min(set(range(n + 1)) - members)
    assert next_zero(bits, 0) == zero or (zero == n and next_zero(bits, 0) >= n)
    enc = np.zeros(bits.shape[0] + 1, np.int64)
    length = encode_set(bits, front, zero, enc)
    assert 1 <= length <= bits.shape[0] + 1
    assert _decode(enc, length, n) == members


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 200).flatmap(
    lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1)), st.integers(0, n))))
def test_next_zero_matches_a_scan(case: tuple[int, set[int], int]) -> None:
    n, members, start = case
    want = next(i for i in range(start, n + 65) if i not in members)
    got = next_zero(_bits(members, n), start)
    assert got == want or (want >= n and got >= n)


def test_equal_sets_encode_equally_whatever_the_order() -> None:
    rng = random.Random(3)
    for _ in range(200):
        n = rng.randint(1, 260)
        members = {i for i in range(n) if rng.random() < 0.8}
        bits = _bits(members, n)
        front = max(members) + 1 if members else 0
        zero = min(set(range(n + 1)) - members)
        a = np.zeros(bits.shape[0] + 1, np.int64)
        la = encode_set(bits, front, zero, a)
        # built up in another order, the words are the same; the encoding must be too
        b = np.zeros_like(a)
        lb = encode_set(_bits(set(sorted(members, reverse=True)), n), front, zero, b)
        assert la == lb and (a[:la] == b[:lb]).all()


class PyCasRegister(PyModel):
    """The cas-register model in plain Python: its search keeps the linearized
    set as an exact Python int, independent of the compiled memo."""

    name = "py-cas-register"

    def __init__(self, history: History | None = None) -> None:
        # the values someone observes: ok reads' results and every cas's expected
        # value — the built-in encoder leaves out crashed writes of anything else
        self.observed: list[Any] = []
        pending: dict[Any, Any] = {}
        for o in history.ops if history is not None else []:
            if o.type == "invoke":
                pending[o.process] = o
                continue
            pending.pop(o.process, None)
            if o.f == "read" and o.type == "ok":
                self.observed.append(o.value)
            elif o.f == "cas" and o.type != "fail":
                self.observed.append(o.value[0])
        # a cas never completed may still have happened: its expected value counts
        self.observed += [o.value[0] for o in pending.values() if o.f == "cas"]

    def init(self, init: Any) -> Any:
        return init

    def step(self, state: Any, op: OpView) -> tuple[bool, Any]:
        if op.f == "read":
            return op.type != "ok" or op.result == state, state
        if op.f == "write":
            return True, op.value
        old, new = op.value
        return (state == old, new) if state == old else (False, state)

    def drop(self, op: OpView) -> bool:
        # as the built-in encoder does: failed ops never happened, crashed reads
        # observed nothing; with the same ops in the same order both searches walk
        # the same configurations, so their counts must match too
        if op.type == "fail" or (op.f == "read" and op.type != "ok"):
            return True
        if op.type == "info" and op.f in ("write", "cas"):
            new = op.value if op.f == "write" else op.value[1]
            return new not in self.observed
        return False


def _mutated(h: History, rng: random.Random) -> History | None:
    ops = [Op(index=o.index, time=o.time, process=o.process, type=o.type, f=o.f, key=o.key,
              value=o.value) for o in h.ops]
    reads = [i for i, o in enumerate(ops) if o.type == "ok" and o.f == "read"]
    if not reads:
        return None
    for i in rng.sample(reads, min(len(reads), rng.randint(1, 2))):
        ops[i].value = rng.choice([v for v in (None, 0, 1, 2, 3, 4) if v != ops[i].value])
    m = History(ops=ops)
    return None if validate(m) else m


def test_agrees_with_the_python_search_on_medium_histories(monkeypatch) -> None:
    # the Python search has no partial-order reduction: compare like with like
    monkeypatch.setattr(search, "READS_FIRST", False)
    verdicts = []
    for seed in range(40):
        rng = random.Random(seed)
        # many processes and crashes: many holes below the frontier, so both the
        # sparse and the dense encodings (and the switch between them) are exercised
        h = simulate_register_history(seed, rng.randint(60, 250), processes=rng.randint(3, 9),
                                      info_rate=rng.choice([0.0, 0.03, 0.1]))
        cases = [h] + [m for m in (_mutated(h, rng) for _ in range(3)) if m is not None]
        for case in cases:
            want = check_linearizable(case, model=PyCasRegister(case), time_limit=2)
            got = check_linearizable(case, model="cas-register", time_limit=2)
            if "unknown" in (want.valid, got.valid):
                continue  # a hard case for the Python search: nothing to compare
            assert got.valid is want.valid, (seed, want.valid, got.valid)
            assert (got.evidence["configurations"]
                    == want.evidence["configurations"]), (seed, got.summary)
            verdicts.append(got.valid)
    # the comparison must have covered both verdicts, many times
    assert verdicts.count(True) >= 30 and verdicts.count(False) >= 30, verdicts


def _counterexample(r) -> Any:
    keys = []
    for k in r.evidence["keys"]:
        f = k.get("failure") or {}
        keys.append((k["key"], k["valid"], (f.get("op") or {}).get("index"),
                     [o["index"] for o in f.get("prefix", [])], f.get("states_before"),
                     f.get("expected")))
    return r.valid, r.summary, keys


@pytest.mark.parametrize("model", ["cas-register", "register", "counter", "append-kv", "set"])
def test_reads_first_reduction_changes_only_the_configuration_count(monkeypatch, model) -> None:
    # kernel.wgl_run's partial-order reduction: same verdicts, same counterexample
    # (failing op, prefix, states, expectation), never more configurations
    from checkers.linear.simulate import simulate_append_kv
    compared = {True: 0, False: 0}
    fewer = 0
    for seed in range(60):
        rng = random.Random(seed)
        if model == "append-kv":
            h = simulate_append_kv(seed, rng.randint(30, 120), clients=rng.randint(2, 6),
                                   keys=rng.randint(1, 3), lost=rng.randint(0, 1))
        elif model == "counter":
            h = _counter_history(rng)
        elif model == "set":
            h = _set_history(rng)
        else:
            h = simulate_register_history(seed, rng.randint(40, 160), processes=rng.randint(3, 8),
                                          info_rate=rng.choice([0.0, 0.05]))
        cases = [h]
        if model in ("cas-register", "register"):
            if model == "register":
                cases = [_no_cas(h)]
            cases += [m for m in (_mutated(cases[0], rng) for _ in range(2)) if m is not None]
        for case in cases:
            results = []
            for on in (True, False):
                monkeypatch.setattr(search, "READS_FIRST", on)
                results.append(check_linearizable(case, model=model, algorithm="wgl",
                                                  time_limit=5))
            with_r, without = results
            if "unknown" in (with_r.valid, without.valid):
                continue
            assert _counterexample(with_r) == _counterexample(without), seed
            assert with_r.evidence["configurations"] <= without.evidence["configurations"]
            fewer += with_r.evidence["configurations"] < without.evidence["configurations"]
            compared[with_r.valid] += 1
    assert compared[True] >= 10 and compared[False] >= 10, compared
    assert fewer > 0  # the reduction did prune somewhere


def _no_cas(h: History) -> History:
    ops = []
    for o in h.ops:
        if o.f == "cas":
            v = o.value[1] if isinstance(o.value, list) else o.value
            o = Op(index=o.index, time=o.time, process=o.process, type=o.type, f="write",
                   key=o.key, value=v)
        ops.append(o)
    return History(ops=ops)


def _concurrent(rng: random.Random, steps: int, invoke, complete) -> History:
    """Four processes; at each step one of them invokes ``invoke(i) -> (f, value)`` or
    completes its pending op with ``complete(i, f, value) -> (type, value)``."""
    ops: list[Op] = []
    pending: dict[int, tuple[str, Any]] = {}
    for i in range(steps):
        p = rng.randrange(4)
        if p in pending:
            f, v = pending.pop(p)
            t, r = complete(i, f, v)
            ops.append(Op(index=i, time=i, process=p, type=t, f=f, value=r))
        else:
            f, v = pending[p] = invoke(i)
            ops.append(Op(index=i, time=i, process=p, type="invoke", f=f, value=v))
    return History(ops=ops)


def _set_history(rng: random.Random) -> History:
    # concurrent adds (some crashed or failed) and reads of the whole set; a read returns
    # what some order could give, or (now and then) drops or invents an element
    members: set[int] = set()
    added = iter(range(1 << 30))

    def invoke(i):
        f = rng.choice(["add", "add", "read"])
        return f, next(added) if f == "add" else None

    def complete(i, f, v):
        if f == "add":
            t = rng.choices(["ok", "info", "fail"], [0.85, 0.1, 0.05])[0]
            if t != "fail" and (t == "ok" or rng.random() < 0.5):
                members.add(v)
            return t, v
        seen = set(members)
        if rng.random() < 0.06:
            if seen and rng.random() < 0.5:
                seen.discard(rng.choice(sorted(seen)))
            else:
                seen.add(10_000 + i)
        return "ok", sorted(seen)

    return _concurrent(rng, rng.randint(30, 80), invoke, complete)


def _counter_history(rng: random.Random) -> History:
    # concurrent adds and reads; reads return a value some order could give, or
    # (now and then) one that is off by one
    total = 0

    def invoke(i):
        f = rng.choice(["add", "read"])
        return f, rng.randint(1, 3) if f == "add" else None

    def complete(i, f, v):
        nonlocal total
        if f == "add":
            total += v
            return "ok", v
        return "ok", total + (rng.choice([-1, 1]) if rng.random() < 0.06 else 0)

    return _concurrent(rng, rng.randint(30, 90), invoke, complete)
