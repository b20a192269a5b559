"""One registry mechanism for every extension point: built-in names, run-time
registration, installed entry points and ``module:Attr`` names; and the target
contract as a required core plus optional capabilities."""

from __future__ import annotations

import sys
import textwrap

import pytest

from core.errors import UnknownName
from core.registry import Registry


def test_names_resolve_builtin_added_and_by_import_path():
    r = Registry("thing", {"json": "json:dumps"})
    assert r.names() == ["json"] and r.get("json")({"a": 1}) == '{"a": 1}'
    r.register("loads", "json:loads")
    assert r.names() == ["json", "loads"] and r.get("loads")("[1]") == [1]
    assert r.get("os.path:join")("a", "b") == "a/b"          # a module:Attr name, unlisted
    with pytest.raises(UnknownName, match=r"no thing named 'nope' \(available: json, loads\)"):
        r.get("nope")


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A real installed distribution (a dist-info directory on sys.path) whose entry
    points name a fault and a target, as a plugin's pyproject.toml would."""
    (tmp_path / "sbplugin.py").write_text(textwrap.dedent("""
        from nemesis.faults.base import Fault
        from targets.etcd.target import EtcdTarget

        class Noop(Fault):
            name = "noop"
            ops = {"start-noop": "apply", "stop-noop": "heal"}
            window = ("start-noop", "stop-noop")

        class MyEtcd(EtcdTarget):
            name = "my-etcd"

        from checkers.linear import PyModel

        class Flag(PyModel):
            # a register that is only ever written true
            def step(self, state, op):
                return (op.value is True or op.value == state), True
    """))
    info = tmp_path / "sbplugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sbplugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[splitbrain.faults]\nnoop = sbplugin:Noop\n\n[splitbrain.targets]\nmy-etcd = sbplugin:MyEtcd\n"
        "\n[splitbrain.models]\nflag = sbplugin:Flag\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("sbplugin", None)


def test_entry_points_extend_faults_and_targets(installed_plugin):
    import random

    import targets
    from nemesis import FAULTS, combined_ops
    assert "noop" in FAULTS and "my-etcd" in targets.names()
    ops = combined_ops(["noop"], ["n1"], random.Random(1))
    assert [next(ops)["f"], next(ops)["f"]] == ["start-noop", "stop-noop"]
    assert targets.get("my-etcd")({}).options["read_mode"] == "linearizable"


def test_a_spec_may_name_a_target_and_a_checker_by_import_path():
    from harness.spec import spec_from_dict
    s = spec_from_dict({"target": {"name": "targets.etcd.target:EtcdTarget"}, "nodes": 3,
                        "workload": "register", "checkers": ["checkers.counter:check_counter"]})
    assert s.target == "targets.etcd.target:EtcdTarget"
    assert ("checkers.counter:check_counter", {}) in s.checkers


def test_workloads_and_providers_share_the_mechanism():
    import workloads
    from harness import nodes
    assert workloads.get("register") is workloads.get("register")
    assert workloads.REGISTRY.kind == "workload" and nodes.PROVIDERS.kind == "node provider"
    with pytest.raises(workloads.UnknownWorkload, match="available: bank, causal-register, counter"):
        workloads.get("queue")


def test_the_built_in_targets_take_the_process_capabilities():
    import targets
    from core.capabilities import HasPrimaries, Killable, Pausable
    # the process target cannot exist without its command, port and client
    needed = {"process": {"command": "true", "port": 1, "client": "json:JSONDecoder"}}
    for name in targets.names():
        t = targets.get(name)(needed.get(name, {}))
        assert isinstance(t, Killable) and isinstance(t, Pausable) and isinstance(t, HasPrimaries)


def test_a_model_entry_point_is_a_spec_name_and_reaches_the_checker_as_its_class(
        installed_plugin):
    from harness.checking import resolve_model
    from harness.spec import spec_from_dict
    s = spec_from_dict({"target": "etcd", "nodes": 3, "workload": "register",
                        "checkers": [{"name": "linearizable", "model": "flag"}]})
    assert ("linearizable", {"model": "flag"}) in s.checkers
    assert resolve_model("flag").__name__ == "Flag" and resolve_model("kv") == "kv"


def test_a_checker_named_by_import_path_joins_the_checkers_listing():
    from checkers import registry
    from harness.checking import checker, checker_options
    c = checker("checkers.counter:check_counter")
    assert c.fn.__name__ == "check_counter"
    assert "checkers.counter:check_counter" in registry.names()
    assert "progress" not in checker_options("linearizable") and \
        "model" in checker_options("linearizable")

