"""The unique-appends check (append-kv keys whose put/append values form a
prefix code) against the search: the same per-key verdict on generated
histories, valid by construction from a simulated linearizable store and
mutated (lost appends, pieces reordered, duplicated or dropped in a get, stale
gets, undecodable gets, crashed ops, puts, several keys, an initial string);
and the search deciding when the values are no prefix code."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.history import History, Op
from checkers.linear import check_linearizable, unique
from checkers.linear.models import ModelError

MUTATIONS = ("none", "lost", "swap", "duplicate", "drop", "stale", "garbage", "early")
# the slow-marked run's count; the issue asks for >= 10,000
APPEND_CROSSCHECK = int(os.environ.get("SPLITBRAIN_APPEND_CROSSCHECK", "10000"))


def piece(i: int) -> str:
    """Distinct, prefix-free, of several lengths sharing leading characters
    ("1." is no prefix of "12.")."""
    return f"{i}."


def simulate(seed: int, mutation: str) -> tuple[History, str | None]:
    """A small history from a linearizable append-kv store (each op takes
    effect at a random point of its interval; a crashed op at a random point
    or never), then ``mutation``.  Returns it with the init string."""
    rng = random.Random(seed)
    n = rng.randint(2, 14)
    clients = rng.randint(1, 4)
    keys = rng.randint(1, 2)
    init = rng.choice([None, "", piece(999)])
    free = [0] * clients
    proc = list(range(clients))
    spans = []
    for i in range(n):
        c = rng.randrange(clients)
        inv = free[c] + rng.randint(0, 3)
        ret = inv + rng.randint(1, 8)
        free[c] = ret + 1
        f = rng.choices(("get", "put", "append"), (0.45, 0.1, 0.45))[0]
        status = rng.choices(("ok", "info", "fail"), (0.85, 0.1, 0.05))[0]
        if f == "get" and status != "ok":
            status = "ok"
        spans.append((inv, ret, proc[c], f, rng.randrange(keys), status))
        if status == "info":
            proc[c] += clients   # as in Jepsen: a crashed process is replaced by a new one
    lost = -1
    if mutation == "lost":
        apps = [i for i, s in enumerate(spans) if s[3] == "append" and s[5] == "ok"]
        lost = rng.choice(apps) if apps else -1
    effect = []
    for i, (inv, ret, c, f, k, st_) in enumerate(spans):
        if st_ == "fail" or i == lost or (st_ == "info" and rng.random() < 0.4):
            continue
        effect.append((rng.uniform(inv, ret if st_ == "ok" else inv + 40), i))
    state: dict[int, str] = {}
    seen: dict[int, list[str]] = {k: [init or ""] for k in range(keys)}
    result: list = [None] * n
    for _, i in sorted(effect):
        f, k = spans[i][3], spans[i][4]
        s = state.get(k, init or "")
        if f == "get":
            result[i] = s
        else:
            state[k] = piece(i) if f == "put" else s + piece(i)
            seen[k].append(state[k])
    gets = [i for i in range(n) if spans[i][3] == "get"]
    if gets and mutation in ("swap", "duplicate", "drop", "stale", "garbage"):
        i = rng.choice(gets)
        toks = [t + "." for t in (result[i] or "").split(".")[:-1]]
        if mutation == "swap" and len(toks) >= 2:
            j = rng.randrange(len(toks) - 1)
            toks[j], toks[j + 1] = toks[j + 1], toks[j]
        elif mutation == "duplicate" and toks:
            j = rng.randrange(len(toks))
            toks.insert(j, toks[j])
        elif mutation == "drop" and toks:
            toks.pop(rng.randrange(len(toks)))
        elif mutation == "garbage":
            toks.insert(rng.randint(0, len(toks)), rng.choice(("x", "7", "")))
        if mutation == "stale":
            result[i] = rng.choice(seen[spans[i][4]])
        else:
            result[i] = "".join(toks)
    if mutation == "early":
        # an acknowledged op claims to have completed before it really did
        j = rng.randrange(n)
        inv, ret, c, f, k, st_ = spans[j]
        spans[j] = (inv, inv + 0.5 if ret > inv + 1 else ret, c, f, k, st_)
    events = []
    for i, (inv, ret, c, f, k, st_) in enumerate(spans):
        events.append((inv, 0, i, Op(index=0, time=0, process=c, type="invoke", f=f, key=k,
                                     value=None if f == "get" else piece(i))))
        if st_ == "info":
            events.append((10 ** 6, 1, i, Op(index=0, time=0, process=c, type="info", f=f, key=k,
                                             value=None if f == "get" else piece(i))))
            continue
        events.append((ret, 1, i, Op(index=0, time=0, process=c, type=st_, f=f, key=k,
                                     value=result[i] if f == "get" else piece(i))))
    events.sort(key=lambda e: e[:3])
    ops = [Op(index=j, time=j * 10, process=o.process, type=o.type, f=o.f, key=o.key,
              value=o.value) for j, (*_, o) in enumerate(events)]
    return History(ops=ops), init


def compare(seed: int, mutation: str) -> int:
    """Asserts both paths agree on every key; returns the number of keys the
    unique-appends check decided under ``auto``."""
    h, init = simulate(seed, mutation)
    fast = check_linearizable(h, model="append-kv", init=init, algorithm="unique-values")
    h._columnar = None
    slow = check_linearizable(h, model="append-kv", init=init, algorithm="wgl")
    h._columnar = None
    auto = check_linearizable(h, model="append-kv", init=init)
    f = {k["key"]: k["valid"] for k in fast.evidence["keys"]}
    s = {k["key"]: k["valid"] for k in slow.evidence["keys"]}
    assert f == s, (seed, mutation, f, s)
    assert auto.valid == slow.valid, (seed, mutation)
    assert {k["algorithm"] for k in fast.evidence["keys"]} <= {"unique-appends"}
    return sum(k["algorithm"] == "unique-appends" for k in auto.evidence["keys"])


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2 ** 32), st.sampled_from(MUTATIONS))
def test_same_verdict_as_the_search(seed: int, mutation: str) -> None:
    compare(seed, mutation)


def test_fast_path_runs_on_most_keys_and_finds_both_verdicts() -> None:
    ran = keys = invalid = 0
    for seed in range(300):
        mutation = MUTATIONS[seed % len(MUTATIONS)]
        ran += compare(seed, mutation)
        h, init = simulate(seed, mutation)
        r = check_linearizable(h, model="append-kv", init=init)
        keys += r.evidence["keys_checked"]
        invalid += r.valid is False
    assert ran >= 0.8 * keys, (ran, keys)
    assert 30 <= invalid <= 270, invalid


@pytest.mark.slow
def test_many_histories_same_verdict() -> None:
    for seed in range(APPEND_CROSSCHECK):
        compare(10 ** 6 + seed, MUTATIONS[seed % len(MUTATIONS)])


def hist(*events: tuple, key: str = "k") -> History:
    """Events as (process, type, f, value)."""
    return History(ops=[Op(index=i, time=i * 100, process=e[0], type=e[1], f=e[2],
                           value=e[3], key=key) for i, e in enumerate(events)])


def appends(*values: str) -> list[tuple]:
    ev = []
    for v in values:
        ev += [(0, "invoke", "append", v), (0, "ok", "append", v)]
    return ev


@pytest.mark.parametrize("values", [("a", "ab"), ("a", "a"), ("", "b")])
def test_values_no_prefix_code_go_to_the_search(values: tuple[str, str]) -> None:
    h = hist(*appends(*values), (1, "invoke", "get", None), (1, "ok", "get", "".join(values)))
    r = check_linearizable(h, model="append-kv")
    assert r.valid is True and r.evidence["keys"][0]["algorithm"] == "wgl"
    h._columnar = None
    with pytest.raises(ModelError, match="cannot decide key \"k\".*prefix"):
        check_linearizable(h, model="append-kv", algorithm="unique-values")


def test_an_init_that_prefixes_a_value_goes_to_the_search() -> None:
    h = hist(*appends("ab"), (1, "invoke", "get", None), (1, "ok", "get", "aab"))
    r = check_linearizable(h, model="append-kv", init="a")
    assert r.valid is True and r.evidence["keys"][0]["algorithm"] == "wgl"


def failure(h: History, monkeypatch, **kw) -> dict:
    monkeypatch.setattr(unique, "COUNTEREXAMPLE_SEARCH_S", 0.0)
    r = check_linearizable(h, model="append-kv", algorithm="unique-values", **kw)
    assert r.valid is False
    k = r.evidence["keys"][0]
    assert k["algorithm"] == "unique-appends"
    return k["failure"]


def test_two_gets_disagreeing_on_an_order_are_both_named(monkeypatch) -> None:
    h = hist(*appends("a.", "b."), (1, "invoke", "get", None), (1, "ok", "get", "a.b."),
             (2, "invoke", "get", None), (2, "ok", "get", "b.a."))
    f = failure(h, monkeypatch)
    assert f["op"]["result"] == "b.a." and "different piece" in f["why"]
    assert [w["f"] for w in f["witnesses"]] == ["append", "get"]


def test_a_get_of_no_concatenation_of_values_is_named(monkeypatch) -> None:
    h = hist(*appends("a.", "b."), (1, "invoke", "get", None), (1, "ok", "get", "a.c."))
    f = failure(h, monkeypatch)
    assert f["op"]["result"] == "a.c." and "not a sequence" in f["why"]


def test_a_register_level_failure_says_what_the_get_could_have_read(monkeypatch) -> None:
    # b. (seen by no get) completed after "a." was made and before the get began
    h = hist((0, "invoke", "append", "a."), (0, "ok", "append", "a."),
             (0, "invoke", "append", "b."), (0, "ok", "append", "b."),
             (1, "invoke", "get", None), (1, "ok", "get", "a."))
    f = failure(h, monkeypatch)
    assert f["op"]["result"] == "a." and "came entirely after" in f["why"]
    # no get shows b., so what came before it is not known
    assert f["expected"] == 'get returned "a."; the string could have been a string ending with "b."'


def test_a_stale_get_says_what_it_could_have_read(monkeypatch) -> None:
    h = hist(*appends("a.", "b."), (1, "invoke", "get", None), (1, "ok", "get", "a.b."),
             (2, "invoke", "get", None), (2, "ok", "get", "a."))
    f = failure(h, monkeypatch)
    assert f["op"]["result"] == "a." and "already been extended" in f["why"]
    assert f["expected"] == 'get returned "a."; the string could have been "a.b."'
    assert [(w["f"], w["value"]) for w in f["witnesses"]] == [("append", "b.")]


def test_an_unobserved_acknowledged_append_is_a_write_nobody_reads() -> None:
    # c. is never seen: fine while the get may come before it, not once it must come after
    def h(get_begins_after_c: bool) -> History:
        ev = [(0, "invoke", "append", "a."), (0, "ok", "append", "a."),
              (1, "invoke", "get", None), (0, "invoke", "append", "c."),
              (0, "ok", "append", "c."), (1, "ok", "get", "a.")]
        if get_begins_after_c:
            ev.insert(4, ev.pop(2))
        return History(ops=[Op(index=i, time=i, process=p, type=t, f=f, key="k", value=v)
                            for i, (p, t, f, v) in enumerate(ev)])
    r = check_linearizable(h(False), model="append-kv", algorithm="unique-values")
    assert r.valid is True and r.evidence["keys"][0]["algorithm"] == "unique-appends"
    r = check_linearizable(h(True), model="append-kv", algorithm="unique-values")
    assert r.valid is False
