"""A target is a small required core; kill, pause and primaries are capabilities a
fault checks for, refusing a target without them with a reason."""

from __future__ import annotations

import pytest


def test_a_target_is_a_small_core_and_kill_is_a_capability(tmp_path):
    from core.capabilities import HasPrimaries, Killable
    from nemesis import Nemesis, UnsupportedFault
    from targets.base import Target

    from nemesis_support import LocalNode

    class Minimal(Target):
        """Only the required core: no kill, no pause, no primaries."""
        name = "minimal"

        def install(self, node): pass
        def configure(self, node): pass
        def start(self, node): pass
        def healthy(self, node, timeout=1.0): return True, ""
        def client(self, node, workload_name, options): raise NotImplementedError

    t = Minimal({})
    assert not isinstance(t, Killable) and not isinstance(t, HasPrimaries)
    ok, why = t.supports("kill")
    assert not ok and "Killable" in why
    assert t.supports("partition") == (True, "")
    nem = Nemesis([LocalNode("n1", tmp_path / "n1")], t, tmp_path / "j.json", {"seed": 1})
    with pytest.raises(UnsupportedFault, match="kill"):
        nem.apply("kill", "one")
    assert nem.primaries() == [] and nem.heal_all() == []


@pytest.mark.parametrize("nemesis,field,says", [
    ({"faults": ["lose-unfsynced"]}, "faults", "does not implement HasFiles"),
    ({"faults": ["slow-disk"]}, "faults", "does not implement HasFiles"),
    ({"faults": ["stop-and-go"], "stop_go_stopped_ms": "x"}, "stop_go_stopped_ms", "integer"),
    ({"faults": ["cpu-starve"], "cpu_starve_share": 0}, "cpu_starve_share", "fraction"),
    ({"faults": ["loss"], "loss_probability": 5}, "loss_probability", "(0, 1]"),
])
def test_new_faults_are_refused_at_spec_time_naming_the_field(nemesis, field, says):
    # every fault's options by its own declared check, and the capability it needs, before
    # anything starts (zookeeper names no durable directory)
    from core.errors import SpecError
    from harness.spec import spec_from_dict
    with pytest.raises(SpecError) as e:
        spec_from_dict({"name": "t", "target": {"name": "zookeeper"}, "nodes": {"count": 3},
                        "workload": {"name": "register"}, "time_limit": "10s",
                        "nemesis": nemesis})
    assert f"nemesis.{field}" in str(e.value) and says in str(e.value)


@pytest.mark.parametrize("target,nemesis,field,says", [
    ("zookeeper", {"faults": ["corrupt-file"]}, "faults", "does not implement HasFiles"),
    ("etcd", {"faults": ["corrupt-file"], "corrupt_file_mode": "shred"}, "corrupt_file_mode",
     "bitflip, zero, truncate"),
    ("etcd", {"faults": ["corrupt-file"], "corrupt_file_end_bytes": -1},
     "corrupt_file_end_bytes", "integer >= 0"),
    ("etcd", {"faults": ["lose-unfsynced"], "lose_unfsynced_fsync": "lie"},
     "lose_unfsynced_fsync", "honour, ignore"),
])
def test_corrupt_file_is_refused_at_spec_time_naming_the_field(target, nemesis, field, says):
    from core.errors import SpecError
    from harness.spec import spec_from_dict
    with pytest.raises(SpecError) as e:
        spec_from_dict({"name": "t", "target": {"name": target}, "nodes": {"count": 3},
                        "workload": {"name": "register"}, "time_limit": "10s",
                        "nemesis": nemesis})
    assert f"nemesis.{field}" in str(e.value) and says in str(e.value)


def test_a_fault_that_cannot_work_on_the_provider_is_refused_at_spec_time():
    from core.errors import SpecError
    from harness.spec import spec_from_dict
    base = {"name": "t", "target": {"name": "etcd"}, "workload": {"name": "register"},
            "time_limit": "10s", "nemesis": {"faults": ["cpu-starve"]}}
    with pytest.raises(SpecError, match=r"nemesis\.faults.*cpu-starve: not supported on ssh nodes: "
                                        "a remote host's processes"):
        spec_from_dict({**base, "nodes": {"provider": "ssh", "hosts": ["a", "b", "c"]}})
    for provider in ("netns", "docker"):
        assert spec_from_dict({**base, "nodes": {"provider": provider, "count": 3}}).nemesis


def test_a_file_class_the_target_lacks_is_refused_at_spec_time():
    from core.errors import SpecError
    from harness.spec import spec_from_dict
    base = {"name": "t", "target": {"name": "etcd"}, "workload": {"name": "set"},
            "time_limit": "10s", "nodes": {"provider": "netns", "count": 3}}
    with pytest.raises(SpecError, match=r"nemesis\.corrupt_file_class: target etcd has no file "
                                        r"class 'bogus'; it has data, snapshot, wal"):
        spec_from_dict({**base, "nemesis": {"faults": ["corrupt-file"],
                                            "corrupt_file_class": "bogus"}})
    assert spec_from_dict({**base, "nemesis": {"faults": ["corrupt-file"],
                                               "corrupt_file_class": "snapshot"}}).nemesis
