"""The lost-append shortcut only ever says "invalid" where the search agrees,
and decides a 50-client history's lost append at once."""

from __future__ import annotations

import random

from checkers.history import History, Op
from checkers.linear import check_linearizable
from checkers.linear.simulate import simulate_append_kv


def _drop_one_append_from_a_get(h: History, rng: random.Random) -> History:
    ops = list(h.ops)
    gets = [i for i, o in enumerate(ops) if o.type == "ok" and o.f == "get" and o.value]
    if gets:
        i = rng.choice(gets)
        v = ops[i].value
        cut = v.find(" y") + 2            # drop the first appended token
        ops[i] = Op(index=ops[i].index, time=ops[i].time, process=ops[i].process, type="ok",
                    f="get", key=ops[i].key, value=v[cut:])
    return History(ops=ops)


def test_witness_agrees_with_the_search() -> None:
    rng = random.Random(3)
    fired = 0
    for seed in range(300):
        h = simulate_append_kv(seed, rng.randint(4, 30), clients=rng.randint(2, 4),
                               keys=rng.randint(1, 2), lost=rng.randint(0, 1))
        if seed % 3 == 0:
            h = _drop_one_append_from_a_get(h, rng)
        auto = check_linearizable(h, model="append-kv")
        wgl = check_linearizable(h, model="append-kv", algorithm="wgl")
        for k in auto.evidence["keys"]:
            if k["algorithm"] == "append-witness":
                fired += 1
                assert k["valid"] is False
                assert {x["key"]: x["valid"] for x in wgl.evidence["keys"]}[k["key"]] is False
        assert auto.valid == wgl.valid, seed
    assert fired > 20


def test_lost_append_in_a_50_client_history_is_decided_at_once() -> None:
    h = simulate_append_kv(50, 10_000)
    r = check_linearizable(h, model="append-kv", time_limit=2)
    bad = [k for k in r.evidence["keys"] if k["valid"] is False]
    assert len(bad) == 1 and bad[0]["algorithm"] == "append-witness"
    f = bad[0]["failure"]
    assert f["op"]["f"] == "get"
    if "why" in f:   # the search found no counterexample of its own in its 0.5 s
        assert f["expected"].startswith("a string containing")
        assert f["witnesses"][0]["f"] == "append" and "no put can come between" in f["why"]
    else:
        assert f["prefix"]


def test_witness_counterexample_of_its_own(monkeypatch) -> None:
    from checkers.linear import unique
    monkeypatch.setattr(unique, "COUNTEREXAMPLE_SEARCH_S", 0.0)
    h = History(ops=[Op(index=i, time=i, process=p, type=t, f=f, key="k", value=v)
                     for i, (p, t, f, v) in enumerate([
                         (0, "invoke", "append", "a"), (0, "ok", "append", "a"),
                         (1, "invoke", "get", None), (1, "ok", "get", "")])])
    f = check_linearizable(h, model="append-kv").evidence["keys"][0]["failure"]
    assert f["expected"] == 'a string containing "a"' and f["op"]["index"] == 2
    assert [w["value"] for w in f["witnesses"]] == ["a"]
