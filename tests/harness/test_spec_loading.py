"""YAML specs: a full spec loads; each kind of mistake is one line naming
file, line, field path, the bad value and what is allowed."""

from __future__ import annotations

import textwrap

import pytest

from harness.cli.errors import UserError
from core.generator import NEMESIS_THREAD, simulate
from harness.plan import build_generators, plan_from_spec
from harness.spec import load_spec, spec_from_dict, spec_from_quick_args

FULL = """\
name: etcd-register-partitions
target:
  name: etcd
  read_mode: serializable
nodes:
  provider: netns
  count: 5
workload:
  name: register
  ops_per_key: 200
concurrency: 8
rate: 150
time_limit: 2m
op_timeout: 500ms
nemesis:
  faults: [partition, kill]
  interval: 10s
  jitter: 2s
checkers: [stats, {name: exceptions}]
store: /tmp/sb-store
seed: 42
"""


def write(tmp_path, text, name="spec.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_full_spec_loads(tmp_path):
    s = load_spec(write(tmp_path, FULL))
    assert s.name == "etcd-register-partitions" and s.target == "etcd"
    assert s.target_options["read_mode"] == "serializable"
    assert s.nodes.provider == "netns" and s.nodes.count == 5
    assert s.workload == "register" and s.workload_options["ops_per_key"] == 200
    assert (s.concurrency, s.rate, s.time_limit_s, s.op_timeout_s) == (8, 150.0, 120.0, 0.5)
    assert s.nemesis.faults == ["partition", "kill"] and s.nemesis.interval_s == 10
    assert s.nemesis.jitter_s == 2 and s.seed == 42 and s.store == "/tmp/sb-store"
    assert [c for c, _ in s.all_checkers()] == ["linearizable", "stats", "exceptions",
                                                "log-patterns"]


def test_to_dict_round_trips(tmp_path):
    s = load_spec(write(tmp_path, FULL))
    s2 = spec_from_dict(s.to_dict(), "run/spec.yaml")
    assert s2.to_dict() == s.to_dict()


def test_minimal_spec_gets_defaults_and_a_recorded_seed():
    s = spec_from_dict({"target": "etcd", "nodes": 3, "workload": "set"}, "x.yaml")
    assert s.nodes.provider == "netns" and s.concurrency == 10 and s.rate == 100.0
    assert isinstance(s.seed, int) and s.nemesis is None and s.name == "x"


@pytest.mark.parametrize("patch,expected", [
    ("nemesis:\n  faults: [partition, partiton]\n",
     "spec.yaml:2: nemesis.faults[1]: 'partiton' is not a fault; expected one of partition"),
    ("nemesis:\n  faults: [clock]\n",
     "spec.yaml:2: nemesis.faults[0]: 'clock' is not supported by target etcd"),
    ("nemesis:\n  faults: [kill]\n  intervl: 5s\n", "spec.yaml:3: nemesis.intervl: unknown key"),
    ("workload: regster\n",
     "spec.yaml:1: workload: 'regster' is not a workload; expected one of bank, causal-register"),
    ("workload: {name: register, read_fraction: 7}\n",
     "spec.yaml:1: workload.read_fraction: 7 is not valid; expected a number between 0 and 1"),
    ("target: {name: etcd, read_mode: fast}\n",
     "spec.yaml:1: target.read_mode: 'fast' is not valid; expected one of linearizable, serializable"),
    ("target: mongo\n", "spec.yaml:1: target: 'mongo' is not a target; expected one of etcd"),
    ("time_limit: 10 parsecs\n", "spec.yaml:1: time_limit: '10 parsecs' is not a duration"),
    ("concurrency: 0\n", "spec.yaml:1: concurrency: 0 is not valid; expected a positive integer"),
    ("rate: fast\n", "spec.yaml:1: rate: 'fast' is not valid; expected total ops/s > 0"),
    ("nodes: {provider: vagrant, count: 3}\n",
     "spec.yaml:1: nodes.provider: 'vagrant' is not a provider; expected one of netns, docker, ssh"),
    ("nodes: {provider: ssh, count: 3}\n", "spec.yaml:1: nodes: the ssh provider needs 'hosts"),
    ("colour: blue\n", "spec.yaml:1: colour: unknown field; expected one of name, target"),
    ("checkers: [linearizible]\n",
     "spec.yaml:1: checkers[0]: 'linearizible' is not a checker; expected one of"),
    ("seed: -4\n", "spec.yaml:1: seed: -4 is not valid; expected an integer >= 0"),
    ("generator:\n  rate: 10\n  gen: {mix: [{f: read}, {fx: write}]}\n",
     "spec.yaml:3: generator.gen.mix[1]: {'fx': 'write'} is not a generator"),
])
def test_errors_name_line_path_value_and_allowed(tmp_path, patch, expected):
    base = {"target": "target: etcd\n", "nodes": "nodes: 3\n", "workload": "workload: register\n"}
    key = patch.split(":")[0]
    if key in base:
        base[key] = ""
    text = patch + "".join(base.values())
    with pytest.raises(UserError) as e:
        load_spec(write(tmp_path, text))
    assert expected in str(e.value), str(e.value)
    assert "\n" not in str(e.value)


def test_yaml_syntax_error_names_the_line(tmp_path):
    p = write(tmp_path, "target: etcd\nnodes: 3\nworkload: [register\nrate: 5\n")
    with pytest.raises(UserError) as e:
        load_spec(p)
    assert str(e.value).startswith(f"{p}:") and "YAML syntax error" in str(e.value)
    assert ":3:" in str(e.value) or ":4:" in str(e.value) or ":5:" in str(e.value)


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(UserError, match="no such spec file"):
        load_spec(tmp_path / "nope.yaml")
    with pytest.raises(UserError, match="expected a mapping of spec fields"):
        load_spec(write(tmp_path, "- a\n- b\n"))
    with pytest.raises(UserError, match="missing field 'target'"):
        load_spec(write(tmp_path, "nodes: 3\nworkload: set\n"))


def test_quick_args():
    s = spec_from_quick_args("etcd", 3, "netns", "register", "partition,kill", 60,
                             concurrency=10, rate=200, seed=7, read_mode="serializable")
    assert s.target_options["read_mode"] == "serializable" and s.nemesis.faults == ["partition",
                                                                                     "kill"]
    assert (s.time_limit_s, s.concurrency, s.rate, s.seed) == (60, 10, 200, 7)
    assert spec_from_quick_args("etcd", 3, "netns", "set", "none", "30s").nemesis is None
    with pytest.raises(UserError) as e:
        spec_from_quick_args("etcd", 3, "netns", "register", "partition,partiton", 60)
    assert str(e.value).startswith("command line: nemesis.faults[1]: 'partiton' is not a fault")


def test_explicit_nemesis_steps_and_custom_generator(tmp_path):
    s = load_spec(write(tmp_path, """\
        target: etcd
        nodes: 3
        workload: set
        rate: unlimited
        time_limit: 20s
        nemesis:
          - {sleep: 5s}
          - {f: start-partition, value: halves}
          - {sleep: 5s}
          - {f: stop-partition}
        generator:
          phases:
            - {time_limit: 10s, gen: {rate: 50, gen: {workload: main}}}
            - {final: {workload: final}}
        """))
    assert s.nemesis.steps is not None and s.rate is None
    main, final = build_generators(plan_from_spec(s), ["n1", "n2", "n3"])
    assert final is not None
    ops = simulate(main, concurrency=s.concurrency)
    nem = [(o["time"] // 10**9, o["f"]) for o in ops if o["thread"] == NEMESIS_THREAD]
    assert nem == [(5, "start-partition"), (10, "stop-partition")]
    client = [o for o in ops if o["thread"] != NEMESIS_THREAD]
    assert 350 < len(client) < 650 and max(o["time"] for o in client) < 10 * 10**9
    fin = simulate(final, concurrency=s.concurrency)
    assert [o["f"] for o in fin] == ["read"] * s.concurrency


def test_same_seed_same_generated_ops_from_a_spec():
    def ops(seed):
        s = spec_from_quick_args("etcd", 5, "netns", "register", "partition,kill,pause", 30,
                                 concurrency=6, rate=100, seed=seed, nemesis_interval="3s")
        main, _final = build_generators(plan_from_spec(s), ["n1", "n2", "n3", "n4", "n5"])
        return simulate(main, concurrency=6)
    a, b, c = ops(11), ops(11), ops(12)
    assert a == b and len(a) > 2000
    assert sum(o["thread"] == NEMESIS_THREAD for o in a) >= 6
    assert [(o["f"], o["value"]) for o in a] != [(o["f"], o["value"]) for o in c]


@pytest.mark.parametrize("provider,refused", [("netns", False), ("docker", True)])
def test_cpu_starve_is_refused_at_loading_where_the_provider_says_so(tmp_path, provider, refused):
    from harness.nodes import PROVIDERS
    text = (f"target: etcd\nnodes: {{provider: {provider}, count: 3}}\nworkload: register\n"
            "nemesis: {faults: [partition, cpu-starve]}\n")
    if PROVIDERS.get(provider).supports("cpu-starve")[0]:
        refused = False   # the provider learned it: the spec must now load
    if not refused:
        assert load_spec(write(tmp_path, text)).nemesis.faults == ["partition", "cpu-starve"]
        return
    with pytest.raises(UserError) as e:
        load_spec(write(tmp_path, text))
    assert f"spec.yaml:4: nemesis.faults: cpu-starve: not supported on {provider} nodes" \
        in str(e.value), str(e.value)


def test_provider_support_is_asked_of_the_provider_class():
    from core.nodes import Provider

    class Starveless(Provider):
        name = "starveless"
        refused_faults = {"cpu-starve": "no cgroups here"}

        def create(self, count):
            return []

        def destroy(self):
            pass
    from nemesis.schedule import validate_nemesis_spec
    spec = {"faults": ["cpu-starve", "stop-and-go"]}
    problems = validate_nemesis_spec(spec, None, 3, Starveless)
    assert [p.message for p in problems] == [
        "cpu-starve: not supported on starveless nodes: no cgroups here"]
    assert validate_nemesis_spec(spec, None, 3, None) == []


def test_a_plugin_workload_with_the_first_final_generator_signature_still_runs():
    # final_generator(options) predates the main= keyword; plugins written then keep working.
    # (Shadows the built-in "set" for the test: targets accept workloads by name.)
    import workloads
    from core.generator import clients, each_process, once
    from workloads.set import SetWorkload

    class OldSet(SetWorkload):
        def final_generator(self, options):
            return clients(each_process(once({"f": "read", "key": "s", "value": None})))

    workloads._instances.pop("set", None)
    workloads.REGISTRY.register("set", OldSet)
    try:
        s = spec_from_quick_args("etcd", 3, "netns", "set", "partition", 5, concurrency=2, seed=3)
        _main, final = build_generators(plan_from_spec(s), ["n1", "n2", "n3"])
        assert [o["f"] for o in simulate(final, concurrency=2)] == ["read", "read"]
    finally:
        workloads.REGISTRY.unregister("set")
        workloads._instances.pop("set", None)
