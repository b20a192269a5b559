"""Built-ins and plugins are found the same way: entry points.  A plugin whose
import fails is one clear line naming it, and never hides anything else."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from core.errors import BrokenPlugin, SpecError
from core.registry import load_path
from harness.registries import KINDS, registry

ROOT = Path(__file__).resolve().parents[2]


def declared() -> dict[str, dict[str, str]]:
    """kind -> {name: value} from splitbrain's own pyproject.toml."""
    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]
    return {k: eps[f"splitbrain.{k}s"] for k in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_every_built_in_is_found_through_its_entry_point(kind):
    reg = registry(kind)
    # a built-in kept outside the entry points would let the plugin path rot
    assert not set(reg._builtins) & set(declared()[kind])
    found = reg.entry_points()
    for name, value in declared()[kind].items():
        ep = found.get(name)
        assert ep is not None, (f"{kind} {name!r} is not an installed entry point: "
                                "re-install splitbrain (pip install -e .)")
        assert ep.builtin and ep.value == value and str(reg.origin(name)) == "built-in"
        obj = reg.get(name)
        want = load_path(value)
        assert obj is want or getattr(obj, "fn", None) is getattr(want, "fn", want)


def test_the_checkers_package_finds_the_same_checkers_without_the_harness():
    code = ("import sys; from checkers import registry; print(','.join(registry.names())); "
            "print(registry.get('counter').description); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('harness', 'core', 'targets', 'nemesis')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.splitlines()
    assert out[0].split(",") == sorted(declared()["checker"])
    assert out[1].startswith("every read within") and out[2] == "[]"


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """Two real installed distributions (dist-info on sys.path): one whose target and
    fault import fine, one whose target module raises at import and whose checker
    names a missing attribute."""
    (tmp_path / "good_plugin.py").write_text(textwrap.dedent("""
        from splitbrain import Fault
        from targets.etcd.target import EtcdTarget

        class GoodEtcd(EtcdTarget):
            name = "good-etcd"
            description = "etcd, as a plugin"

        class Noop(Fault):
            name = "noop"
            ops = {"start-noop": "apply", "stop-noop": "heal"}
            window = ("start-noop", "stop-noop")
    """))
    (tmp_path / "bad_plugin.py").write_text("import no_such_dependency_xyz\n")
    (tmp_path / "bad_fault.py").write_text("raise RuntimeError('fault plugin is broken')\n")
    for dist, eps in (("good-plugin", "[splitbrain.targets]\ngood-etcd = good_plugin:GoodEtcd\n"
                                      "[splitbrain.faults]\nnoop = good_plugin:Noop\n"),
                      ("bad-plugin", "[splitbrain.targets]\nbad-db = bad_plugin:BadDb\n"
                                     "[splitbrain.checkers]\nbad-check = good_plugin:nothing\n"
                                     "[splitbrain.faults]\nbad-fault = bad_fault:Bad\n")):
        info = tmp_path / f"{dist.replace('-', '_')}-1.2.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2\n")
        (info / "entry_points.txt").write_text(eps)
    monkeypatch.syspath_prepend(str(tmp_path))
    import nemesis.faults
    monkeypatch.setattr(nemesis.faults.REGISTRY, "_warned", set())
    yield tmp_path
    for m in ("good_plugin", "bad_plugin", "bad_fault"):
        sys.modules.pop(m, None)


def test_a_broken_plugin_is_one_line_naming_it_and_the_cause(plugins):
    import targets
    with pytest.raises(BrokenPlugin) as e:
        targets.get("bad-db")
    msg = str(e.value)
    assert "\n" not in msg
    for part in ("bad-plugin 1.2", "bad-db", "bad_plugin:BadDb", "[splitbrain.targets]",
                 "ModuleNotFoundError", "no_such_dependency_xyz"):
        assert part in msg, msg
    # nothing else is hidden: built-ins and the other plugin's names still load
    assert targets.get("etcd").name == "etcd"
    assert targets.get("good-etcd").description == "etcd, as a plugin"
    assert str(targets.REGISTRY.origin("good-etcd")) == "plugin good-plugin 1.2"


def test_a_broken_fault_plugin_is_skipped_with_one_warning(plugins, capsys):
    from nemesis.faults import FAULTS, KINDS as FAULT_KINDS
    assert "noop" in FAULTS and "partition" in FAULTS and "bad-fault" not in FAULT_KINDS
    list(FAULTS)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad-plugin 1.2" in err[0] and "fault plugin is broken" in err[0]


def test_a_spec_naming_a_broken_plugin_is_a_located_one_line_error(plugins):
    from harness.spec import spec_from_dict
    with pytest.raises(SpecError) as e:
        spec_from_dict({"target": "bad-db", "nodes": 3, "workload": "register"})
    assert str(e.value).startswith("spec: target: target 'bad-db': plugin bad-plugin 1.2")
    with pytest.raises(SpecError, match=r"checkers\[0\]: .*bad-check.*AttributeError"):
        spec_from_dict({"target": "etcd", "nodes": 3, "workload": "register",
                        "checkers": ["bad-check"]})


def test_list_shows_built_ins_plugins_and_broken_ones(plugins, capsys):
    from harness.cli import main
    assert main(["list", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in table["targets"]}
    assert rows["etcd"]["origin"] == "built-in" and rows["etcd"]["error"] is None
    assert rows["good-etcd"]["origin"] == "plugin good-plugin 1.2"
    assert rows["good-etcd"]["value"] == "good_plugin:GoodEtcd"
    assert "no_such_dependency_xyz" in rows["bad-db"]["error"]
    assert {r["name"] for r in table["checkers"]} >= {"linearizable", "bad-check"}
    assert main(["list", "targets"]) == 0
    text = capsys.readouterr().out
    assert "good-etcd" in text and "BROKEN: target 'bad-db'" in text


def test_checking_a_history_with_a_broken_checker_plugin_is_one_line(plugins, tmp_path, capsys):
    from harness.cli import main
    h = tmp_path / "h.jsonl"
    h.write_text('{"index":0,"type":"invoke","f":"read","process":0,"value":null}\n')
    assert main(["check", "--checker", "bad-check", str(h)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("splitbrain: error: ")
    assert "bad-plugin 1.2" in err and "good_plugin:nothing" in err and "AttributeError" in err


def test_names_registered_at_run_time_are_listed_as_such(capsys, monkeypatch):
    import splitbrain
    import targets
    from checkers import registry as checker_registry
    from checkers.counter import check_counter
    from harness.cli import main
    from targets.etcd.target import EtcdTarget
    monkeypatch.setattr(checker_registry, "_REGISTRY", dict(checker_registry._REGISTRY))
    splitbrain.register("target", "etcd-again", EtcdTarget)
    splitbrain.register("checker", "counter-again", check_counter)
    try:
        assert main(["list", "--json"]) == 0
        table = json.loads(capsys.readouterr().out)
        rows = {r["name"]: r for r in table["targets"] + table["checkers"]}
        assert rows["etcd-again"]["origin"] == "registered targets.etcd.target:EtcdTarget"
        assert rows["counter-again"]["source"] == "registered"
        assert rows["counter"]["origin"] == "built-in"
    finally:
        targets.REGISTRY.unregister("etcd-again")
