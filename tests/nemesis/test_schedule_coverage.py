"""Every requested fault kind is tried: starts go round the kinds in a seeded
shuffled order, a fault starts every interval (held for half of it), and a run
too short to try each kind once is warned about before it starts.  Checked in
the generator's virtual time (core.generator.simulate), no cluster needed."""

from __future__ import annotations

import random

from hypothesis import given, settings, strategies as st

from core.generator import simulate
from harness.lifecycle import validate_plan
from harness.plan import Plan, build_generators
from nemesis import FAULTS, combined_ops
from nemesis.schedule import _kind, coverage_warning, faults_that_fit

NODES = ["n1", "n2", "n3", "n4", "n5"]
START_OF = {"partition": "start-partition", "kill": "kill", "pause": "pause",
            "loss": "start-loss", "clock": "start-clock", "latency": "start-latency"}


def _plan(faults: list[str], time_limit_s: float, interval: str, seed: int = 7) -> Plan:
    return Plan(name="cover", seed=seed, target_name="etcd", target_options={},
                provider="netns", node_count=5, provider_options={}, workload_name="register",
                workload_options={}, concurrency=4, rate=50.0, time_limit_s=time_limit_s,
                op_timeout_s=1.0, nemesis={"faults": faults, "interval": interval},
                checkers=None)


def _nemesis_ops(plan: Plan, op_latency_s: float) -> list[dict]:
    main, _ = build_generators(plan, NODES)
    ops = simulate(main, concurrency=plan.concurrency, seed=None, latency_s=op_latency_s,
                   max_ops=50_000, max_time_s=plan.time_limit_s + 5)
    return [o for o in ops if o["thread"] == "nemesis"]


def test_sixty_seconds_four_kinds_ten_second_interval_tries_all_four():
    faults = ["partition", "kill", "pause", "loss"]
    for seed in range(20):
        # Every op (fault ops too) takes 1.5 s here: real kills and restarts are slow.
        nem = _nemesis_ops(_plan(faults, 60, "10s", seed), op_latency_s=1.5)
        started = {o["f"] for o in nem}
        assert {START_OF[k] for k in faults} <= started, (seed, [o["f"] for o in nem])
        assert all(o["time"] <= 60e9 for o in nem)


def test_two_kinds_alternate_rather_than_repeat():
    nem = _nemesis_ops(_plan(["partition", "kill"], 60, "10s"), op_latency_s=0.5)
    starts = [o["f"] for o in nem if o["f"] in ("start-partition", "kill")]
    assert len(starts) >= 4
    for i in range(0, len(starts) - 1, 2):  # each round of two has one of each
        assert {starts[i], starts[i + 1]} == {"start-partition", "kill"}, starts


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(sorted(set(FAULTS) - {"latency"})), min_size=1, max_size=6,
                unique=True), st.integers(0, 2**32))
def test_each_round_draws_every_fault_once(faults, seed):
    ops = combined_ops(faults, NODES, random.Random(seed), {})
    n = len(faults)
    starts = [next(ops) for _ in range(6 * n)][::2]
    kind_of_start = {v: k for k, v in START_OF.items()}
    want = sorted(_kind(f) for f in faults)
    for i in range(0, 3 * n, n):
        # A topology name or "partition" starts a partition, clock-bump a clock fault …
        assert sorted(kind_of_start[o["f"]] for o in starts[i:i + n]) == want, starts
    again = combined_ops(faults, NODES, random.Random(seed), {})
    assert [next(again) for _ in range(6 * n)][::2] == starts  # seeded


def test_round_robin_visits_each_kind_before_repeating():
    faults = ["kill", "pause", "partition", "packet-loss"]
    for seed in range(30):
        ops = combined_ops(faults, NODES, random.Random(seed), {})
        starts = [next(ops)["f"] for _ in range(16)][::2]
        assert set(starts[:4]) == {"kill", "pause", "start-partition", "start-loss"}
        assert set(starts[4:]) == set(starts[:4])


def test_room_for_faults():
    assert faults_that_fit(60, 10) == 6
    assert faults_that_fit(30, 10) == 3
    assert faults_that_fit(4, 10) == 0


def test_warning_when_the_time_limit_cannot_fit_each_kind():
    spec = {"faults": ["partition", "kill", "pause", "loss"], "interval": "10s"}
    assert coverage_warning(spec, 60) is None
    w = coverage_warning(spec, 30)
    assert w is not None and "room for 3 fault(s), fewer than the 4 requested" in w
    assert "35 s" in w


def test_run_warns_at_start(capsys):
    validate_plan(_plan(["partition", "kill", "pause", "loss"], 20, "10s"))
    err = capsys.readouterr().err
    assert "warning: nemesis: a 20 s run at a 10 s interval has room for 2 fault(s)" in err
    validate_plan(_plan(["partition", "kill"], 60, "10s"))
    assert "warning" not in capsys.readouterr().err
