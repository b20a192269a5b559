"""The generator DSL: each combinator's semantics (in virtual time), the
YAML form and its errors, and determinism given a seed."""

from __future__ import annotations

import random

import pytest

from harness.cli.errors import UserError
from core.generator import (NEMESIS_THREAD, PENDING, GenContext, any_of, bind, clients, cycle, delay,
                               each_process, final, fn, from_iter, generator_from_spec, limit,
                               mix, nemesis, nemesis_schedule, once, parse_duration, phases,
                               rate, repeat, reserve, seq, simulate, sleep, split_final, stagger,
                               time_limit)

S = 1_000_000_000


def counter_fn(f: str = "write"):
    n = [0]

    def make(rng: random.Random) -> dict:
        n[0] += 1
        return {"f": f, "value": n[0]}
    return make


def test_once_limit_repeat_seq():
    ops = simulate(clients(seq(once({"f": "a"}), limit(3, repeat({"f": "b"})), {"f": "c"})),
                   concurrency=2, seed=1)
    assert [o["f"] for o in ops] == ["a", "b", "b", "b", "c"]


def test_repeat_restarts_a_generator_and_cycle_rounds():
    ops = simulate(clients(repeat(seq({"f": "x"}, {"f": "y"}), times=3)), concurrency=1, seed=1)
    assert [o["f"] for o in ops] == ["x", "y"] * 3
    ops = simulate(clients(cycle({"f": "p"}, {"f": "q"}, times=2)), concurrency=3, seed=1)
    assert [o["f"] for o in ops] == ["p", "q", "p", "q"]


def test_repeat_of_an_empty_generator_ends():
    assert simulate(clients(repeat(seq())), concurrency=2, seed=1) == []


def test_mix_respects_weights_and_is_seeded():
    g = lambda: clients(limit(4000, mix(repeat({"f": "r"}), repeat({"f": "w"}),  # noqa: E731
                                        weights=[3, 1])))
    ops = simulate(g(), concurrency=4, seed=9)
    frac = sum(o["f"] == "r" for o in ops) / len(ops)
    assert 0.70 < frac < 0.80
    assert ops == simulate(g(), concurrency=4, seed=9)
    assert [o["f"] for o in ops] != [o["f"] for o in simulate(g(), concurrency=4, seed=10)]


def test_time_limit_stops_and_drops_ops_due_later():
    ops = simulate(clients(time_limit(2.0, rate(100, repeat({"f": "r"})))), concurrency=5,
                   seed=3)
    assert ops and max(o["time"] for o in ops) < 2 * S
    assert 150 < len(ops) < 250  # ~100/s for 2 s


def test_rate_is_total_over_threads_and_poisson_spaced():
    ops = simulate(clients(time_limit(10, rate(50, repeat({"f": "r"})))), concurrency=10,
                   seed=4)
    assert 420 < len(ops) < 580
    gaps = sorted(b["time"] - a["time"] for a, b in zip(ops, ops[1:]))
    # exponential: many short gaps and some much longer than the mean (20 ms)
    assert gaps[len(gaps) // 4] < 10_000_000 and gaps[-1] > 50_000_000


def test_stagger_and_delay_spacing():
    ops = simulate(clients(limit(20, delay(0.1, repeat({"f": "r"})))), concurrency=4, seed=1)
    ts = [o["time"] for o in ops]
    assert all(b - a >= 100_000_000 for a, b in zip(ts, ts[1:]))
    ops = simulate(clients(limit(400, stagger(0.01, repeat({"f": "r"})))), concurrency=4, seed=1)
    mean = (ops[-1]["time"] - ops[0]["time"]) / (len(ops) - 1)
    assert 7_000_000 < mean < 13_000_000


def test_sleep_holds_the_next_generator():
    ops = simulate(clients(seq({"f": "a"}, sleep(5), {"f": "b"})), concurrency=2, seed=1)
    assert [o["f"] for o in ops] == ["a", "b"]
    assert ops[1]["time"] >= 5 * S


def test_phases_wait_for_outstanding_ops():
    # 3 threads each get one slow op in phase 1; phase 2 must start after all completed.
    g = clients(phases(limit(3, repeat({"f": "slow"})), limit(2, repeat({"f": "next"}))))
    ops = simulate(g, concurrency=3, seed=1, latency_s=1.0)
    first = [o for o in ops if o["f"] == "slow"]
    second = [o for o in ops if o["f"] == "next"]
    assert len(first) == 3 and len(second) == 2
    assert min(o["time"] for o in second) >= max(o["time"] for o in first) + S


def test_seq_does_not_wait_but_phases_do():
    g = clients(seq(limit(3, repeat({"f": "slow"})), limit(2, repeat({"f": "next"}))))
    ops = simulate(g, concurrency=5, seed=1, latency_s=1.0)
    assert max(o["time"] for o in ops) == 0  # 5 threads, 5 ops, all at once


def test_each_process_gives_every_thread_its_own_copy():
    ops = simulate(clients(each_process(seq({"f": "a"}, {"f": "b"}))), concurrency=4, seed=1)
    by = {}
    for o in ops:
        by.setdefault(o["thread"], []).append(o["f"])
    assert by == {t: ["a", "b"] for t in range(4)}


def test_reserve_routes_thread_groups():
    g = clients(time_limit(1, reserve(2, repeat({"f": "write"}), 1, repeat({"f": "cas"}),
                                      repeat({"f": "read"}))))
    ops = simulate(g, concurrency=6, seed=1, latency_s=0.01)
    fs = {}
    for o in ops:
        fs.setdefault(o["thread"], set()).add(o["f"])
    assert fs[0] == fs[1] == {"write"} and fs[2] == {"cas"}
    assert all(fs[t] == {"read"} for t in (3, 4, 5))


def test_clients_and_nemesis_routing():
    g = time_limit(3, any_of(clients(rate(20, repeat({"f": "read"}))),
                             nemesis(delay(1, repeat({"f": "kill"})))))
    ops = simulate(g, concurrency=3, seed=1)
    assert {o["f"] for o in ops if o["thread"] == NEMESIS_THREAD} == {"kill"}
    assert {o["f"] for o in ops if o["thread"] != NEMESIS_THREAD} == {"read"}
    assert 2 <= sum(o["thread"] == NEMESIS_THREAD for o in ops) <= 4


def test_nemesis_generator_without_nemesis_thread_is_exhausted():
    ops = simulate(any_of(clients(limit(2, repeat({"f": "r"}))), nemesis(repeat({"f": "kill"}))),
                   concurrency=2, seed=1, with_nemesis=False)
    assert [o["f"] for o in ops] == ["r", "r"]


def test_nemesis_schedule_interval_and_jitter():
    ops_iter = iter([{"f": "start-partition", "value": "halves"}, {"f": "stop-partition"}] * 50)
    g = time_limit(60, any_of(clients(rate(1, repeat({"f": "r"}))),
                              nemesis_schedule(ops_iter, 10, jitter=0.2)))
    nem = [o for o in simulate(g, concurrency=1, seed=2) if o["thread"] == NEMESIS_THREAD]
    assert [o["f"] for o in nem][:2] == ["start-partition", "stop-partition"]
    ts = [0] + [o["time"] for o in nem]
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    assert all(7.9 * S <= g_ <= 12.1 * S for g_ in gaps) and len(set(gaps)) > 1


def test_time_limit_over_a_slow_nemesis_does_not_end_the_clients():
    # The nemesis' first op is due after the limit; the clients must still run.
    g = time_limit(2, any_of(clients(rate(10, repeat({"f": "r"}))),
                             nemesis_schedule(iter([{"f": "kill"}] * 10), 10)))
    ops = simulate(g, concurrency=2, seed=1)
    assert len(ops) > 10 and all(o["thread"] != NEMESIS_THREAD for o in ops)


def test_final_is_split_out_and_otherwise_a_barrier():
    main, fin = split_final(phases(limit(3, repeat({"f": "w"})), final({"f": "final-read"})))
    assert [o["f"] for o in simulate(clients(main), concurrency=2, seed=1)] == ["w"] * 3
    assert [o["f"] for o in simulate(clients(fin), concurrency=2, seed=1)] == ["final-read"]
    g = clients(seq(limit(2, repeat({"f": "w"})), final({"f": "r"})))
    ops = simulate(g, concurrency=2, seed=1, latency_s=1)
    assert ops[-1]["f"] == "r" and ops[-1]["time"] >= S


def test_pending_does_not_redraw_mix():
    """A mix whose chosen child is PENDING must keep that choice (else the
    stream would depend on timing)."""
    g = mix(seq(sleep(1), repeat({"f": "a"})), repeat({"f": "b"}))
    bind(g, 1)
    ctx = GenContext(1, False)
    draws = []
    for t in range(0, 3 * S, S // 4):
        ctx.time = t
        o = g.op(ctx)
        draws.append("P" if o is PENDING else o["f"])
    # once PENDING, the same (sleeping) child is asked until it yields
    i = draws.index("P") if "P" in draws else None
    if i is not None:
        j = next(k for k in range(i, len(draws)) if draws[k] != "P")
        assert draws[j] == "a"


def test_same_seed_same_schedule_and_other_seed_differs():
    def build():
        writes = counter_fn()
        return time_limit(20, any_of(
            clients(rate(50, mix(fn(writes), repeat({"f": "read"}), weights=[1, 2]))),
            nemesis_schedule(iter([{"f": "start"}, {"f": "stop"}] * 100), 3, jitter=0.5)))
    a = simulate(build(), concurrency=5, seed=42)
    b = simulate(build(), concurrency=5, seed=42)
    c = simulate(build(), concurrency=5, seed=43)
    assert len(a) > 500 and a == b
    assert [(o["time"], o["f"]) for o in a] != [(o["time"], o["f"]) for o in c]


def test_from_spec_builds_the_documented_forms():
    made = []
    spec = {"phases": [
        {"time_limit": "2s", "gen": {"rate": 50, "gen": {"mix": [{"repeat": {"f": "read"}},
                                                                 {"workload": "main"}],
                                                         "weights": [1, 1]}}},
        {"sleep": "500ms"},
        {"each_process": {"f": "read", "key": "x"}},
        {"reserve": [{"threads": 1, "gen": {"limit": 2, "gen": {"repeat": {"f": "a"}}}}],
         "default": {"limit": 2, "gen": {"repeat": {"f": "b"}}}},
        {"cycle": [{"f": "c"}, {"f": "d"}], "times": 2},
        {"delay": 0.1, "gen": [{"f": "e"}, {"f": "e"}]},
        {"stagger": "10ms", "gen": {"op": "g"}},
    ]}

    def main():
        made.append(1)
        return fn(counter_fn())
    g = clients(generator_from_spec(spec, workload={"main": main}))
    ops = simulate(g, concurrency=3, seed=1)
    fs = [o["f"] for o in ops]
    assert made == [1]
    assert {"read", "write"} <= set(fs[:50])
    tail = fs[fs.index("c") - 7:]
    assert tail[:3] == ["read"] * 3 and sorted(tail[3:7]) == ["a", "a", "b", "b"]
    assert fs[-7:] == ["c", "d", "c", "d", "e", "e", "g"]


@pytest.mark.parametrize("node,msg", [
    ({"mixx": []}, "generator: {'mixx': []} is not a generator; expected an op map"),
    ({"rate": -1, "gen": {"f": "r"}}, "generator.rate: -1 is not valid; expected a positive number"),
    ({"rate": 10}, "generator: rate needs a 'gen' field"),
    ({"time_limit": "3 weeks", "gen": {"f": "r"}}, "generator.time_limit: '3 weeks' is not a duration"),
    ({"mix": [{"f": "r"}], "weights": [1, 2]}, "generator.weights: [1, 2] is not valid"),
    ({"phases": [{"f": "r"}, {"f": "w", "vlaue": 1}]}, "generator.phases[1].vlaue: unknown field"),
    ({"limit": 3, "gen": {"f": "r"}, "extra": 1}, "generator.extra: unknown field for limit"),
    ({"workload": "main"}, "generator.workload: 'main' is not a workload generator"),
    (42, "generator: 42 is not a generator"),
])
def test_from_spec_errors_name_the_path(node, msg):
    with pytest.raises(UserError) as e:
        generator_from_spec(node)
    assert msg in str(e.value)


def test_parse_duration():
    assert parse_duration("10s") == 10 and parse_duration("500ms") == 0.5
    assert parse_duration("2m") == 120 and parse_duration(3) == 3.0
    for bad in ("ten", "-1s", True, None, -2):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_from_iter_ends_with_its_iterator():
    ops = simulate(nemesis(from_iter(iter([{"f": "kill"}, {"f": "start"}]))), concurrency=1,
                   seed=1)
    assert [(o["thread"], o["f"]) for o in ops] == [("nemesis", "kill"), ("nemesis", "start")]
