"""Adding a fault is one module (toy_fault.py) and one registration line: the toy
is then a spec name, scheduled, applied through the Nemesis, journaled before it
acts, healed by heal_all, and healed from the journal after a controller crash."""

from __future__ import annotations

import json
import random

import pytest

from nemesis import FAULTS, Nemesis, combined_ops, validate_nemesis_spec
from nemesis import faults
from nemesis.journal import heal_journal, journal_path

from nemesis_support import LocalNode


@pytest.fixture
def toy():
    faults.register("toy", "toy_fault:Toy")          # the one registration line
    yield
    faults.unregister("toy")


def _nodes(tmp_path):
    return [LocalNode(f"n{i}", tmp_path / f"n{i}") for i in (1, 2, 3)]


def test_toy_is_a_fault_name_and_is_scheduled(toy):
    assert "toy" in FAULTS
    assert validate_nemesis_spec({"faults": ["toy", "partition"], "interval": "1s"}) == []
    ops = combined_ops(["toy"], ["n1", "n2", "n3"], random.Random(7))
    assert [next(ops)["f"] for _ in range(4)] == ["start-toy", "stop-toy"] * 2


def test_toy_loads_in_a_spec(toy, tmp_path):
    from harness.spec import spec_from_dict
    s = spec_from_dict({"target": "etcd", "nodes": 3, "workload": "register",
                        "nemesis": {"faults": ["toy"], "interval": "2s", "jitter": 0}})
    assert s.nemesis.faults == ["toy"]


def test_toy_is_journaled_then_applied_then_healed(toy, tmp_path):
    nodes = _nodes(tmp_path)
    path = journal_path(tmp_path / "store", "toy1")
    nem = Nemesis(nodes, None, path, {"seed": 1, "faults": ["toy"]})
    assert nem.apply("start-toy", ["n1", "n3"]) == {"nodes": ["n1", "n3"]}
    marker = [tmp_path / n / "toy-marker" for n in ("n1", "n2", "n3")]
    assert [m.exists() for m in marker] == [True, False, True]
    entries = json.loads(path.read_text())["entries"]
    assert [(e["kind"], e["node"]) for e in entries] == [("toy", "n1"), ("toy", "n3")]
    assert nem.active() == ["toy on n1, n3"]
    assert nem.heal_all() == ["toy removed: n1, n3"]
    assert not any(m.exists() for m in marker) and not path.exists()


def test_a_crashed_controllers_toy_is_healed_from_the_journal(toy, tmp_path):
    nodes = _nodes(tmp_path)
    path = journal_path(tmp_path / "store", "toy2")
    nem = Nemesis(nodes, None, path, {"seed": 1})
    nem.apply("start-toy", "all")
    del nem                                  # the controller is gone; only the journal is left
    out = heal_journal(path, force=True)
    assert any("removed" in line and "n2" in line for line in out)
    assert not any((tmp_path / n / "toy-marker").exists() for n in ("n1", "n2", "n3"))
    assert not path.exists()


def test_every_fault_declares_a_window_the_report_shades(toy):
    # The report finds fault windows from op names alone; each fault's declared
    # window must read back as its own kind, or the report would mis-shade it.
    from reports.faults import _kind_of
    for kind in faults.kinds():
        start, stop = kind.window
        assert {start, stop} <= set(kind.ops), kind.name
        assert _kind_of(start) == ("start", kind.name) and _kind_of(stop) == ("stop", kind.name)
