"""The same seed gives the same generated client and nemesis ops (values, f,
schedule); a different seed does not."""

from __future__ import annotations

from core.generator import simulate
from harness.plan import Plan, build_generators


def _plan(seed: int, workload: str = "register") -> Plan:
    return Plan(name="seed", seed=seed, target_name="etcd", target_options={},
                provider="netns", node_count=5, provider_options={}, workload_name=workload,
                workload_options={}, concurrency=6, rate=100.0, time_limit_s=30,
                op_timeout_s=1.0, nemesis={"faults": ["partition", "kill", "pause"],
                                           "interval": "3s", "jitter": "1s"},
                checkers=None)


def _ops(seed: int, workload: str = "register") -> list[dict]:
    main, _final = build_generators(_plan(seed, workload), ["n1", "n2", "n3", "n4", "n5"])
    return simulate(main, concurrency=6, seed=None, max_ops=20_000, max_time_s=40)


def test_same_seed_same_ops():
    a, b = _ops(1234), _ops(1234)
    assert len(a) > 1000
    assert a == b
    nem = [o for o in a if o["thread"] == "nemesis"]
    assert len(nem) >= 6 and {o["f"] for o in nem} & {"start-partition", "kill", "pause"}


def test_other_seed_other_ops():
    a, c = _ops(1234), _ops(99)
    assert [(o["f"], o["value"]) for o in a] != [(o["f"], o["value"]) for o in c]


def test_set_workload_seeded_too():
    assert _ops(5, "set") == _ops(5, "set")
