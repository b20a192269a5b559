"""Combined schedules and spec validation."""

from __future__ import annotations

import itertools
import random

import pytest

from nemesis import FAULTS, OPS, combined_ops, validate_nemesis_spec
from core.durations import parse_duration

NODES = ["n1", "n2", "n3", "n4", "n5"]
STOP_OF = {"start-partition": "stop-partition", "start-clock": "stop-clock", "kill": "start",
           "pause": "resume", "start-loss": "stop-loss", "start-latency": "stop-latency"}


class Refuser:
    """A target declaring which faults it refuses, as targets.base.Target does."""

    name = "gotarget"

    def __init__(self, refused):
        self.refused = refused

    def supports(self, fault):
        for k, why in self.refused.items():
            if fault == k or fault.startswith(k + "-"):
                return False, why
        return True, ""

    # the capabilities kill, pause and clock faults need (core.capabilities)
    env_hook = None

    def kill(self, node):
        pass

    def fault_daemons(self, node):
        return []


def take(faults, n=200, seed=1, nodes=NODES, **opts):
    return list(itertools.islice(combined_ops(faults, nodes, random.Random(seed), opts), n))


def test_alternates_start_and_matching_stop():
    ops = take(["partition", "clock", "kill", "pause", "loss"], 400)
    for start, stop in zip(ops[::2], ops[1::2]):
        assert start["f"] in STOP_OF and stop["f"] == STOP_OF[start["f"]]
        assert stop["value"] is None
        assert set(start) == {"f", "value"}
    assert {o["f"] for o in ops} == {"start-partition", "stop-partition", "start-clock",
                                     "stop-clock", "kill", "start", "pause", "resume",
                                     "start-loss", "stop-loss"}
    assert all(o["f"] in OPS for o in ops)


def test_covers_topologies_and_clock_modes_and_is_seeded():
    ops = take(["partition", "clock"], 600)
    tops = {o["value"] for o in ops if o["f"] == "start-partition"}
    assert tops == {"isolate-one", "halves", "random-halves", "majorities-ring", "bridge"}
    modes = {o["value"]["mode"] for o in ops if o["f"] == "start-clock"}
    assert modes == {"bump", "strobe"}
    offs = {o["value"]["offset_s"] for o in ops if o["f"] == "start-clock"
            and o["value"]["mode"] == "bump"}
    assert offs == {90.0, -90.0}
    assert take(["partition", "clock"], 50, seed=3) == take(["partition", "clock"], 50, seed=3)
    assert take(["partition", "clock"], 50, seed=3) != take(["partition", "clock"], 50, seed=4)


def test_specific_names_and_options():
    ops = take(["bridge"], 10)
    assert {o["value"] for o in ops if o["f"] == "start-partition"} == {"bridge"}
    ops = take(["clock-strobe"], 10, strobe_period_ms=5)
    assert all(o["value"]["mode"] == "strobe" and o["value"]["period_ms"] == 5
               for o in ops if o["f"] == "start-clock")
    ops = take(["kill"], 50, targets=["majority"])
    assert {o["value"] for o in ops if o["f"] == "kill"} == {"majority"}
    ops = take(["halves"], 4, one_way=True)
    assert ops[0]["value"] == {"topology": "halves", "one_way": True}
    ops = take(["packet-loss"], 2, loss_probability=0.3)
    assert ops[0] == {"f": "start-loss", "value": {"probability": 0.3, "nodes": "all"}}


def test_small_clusters_skip_topologies_that_cannot_exist():
    ops = take(["partition"], 100, nodes=["n1", "n2", "n3"])
    assert "majorities-ring" not in {o["value"] for o in ops}
    with pytest.raises(ValueError, match="no partition topology works on 3 nodes"):
        combined_ops(["majorities-ring"], ["n1", "n2", "n3"], random.Random(0), {})


def test_bad_faults_raise_eagerly():
    with pytest.raises(ValueError, match="unknown fault 'flood'"):
        combined_ops(["flood"], NODES, random.Random(0), {})
    with pytest.raises(ValueError, match="at least one fault"):
        combined_ops([], NODES, random.Random(0), {})


def test_validate_accepts_a_good_spec():
    assert validate_nemesis_spec({"faults": ["partition", "kill", "clock"], "interval": "10s"},
                                 Refuser({})) == []
    assert validate_nemesis_spec(None, None) == []
    assert validate_nemesis_spec({"faults": list(FAULTS[:5]), "interval": 2.5,
                                  "targets": ["one", "majority"], "one_way": True}, None) == []


def test_validate_reports_each_problem():
    why = "libfaketime has no effect on Go binaries"
    errs = validate_nemesis_spec({"faults": ["partition", "clock-bump", "flood"], "interval": "soon",
                                  "colour": 1, "targets": ["most"], "loss_probability": 2},
                                 Refuser({"clock": why}))
    text = "\n".join(errs)
    assert "nemesis.faults: clock-bump: not supported by target gotarget: " + why in text
    assert "unknown fault 'flood'" in text
    assert "nemesis.interval: 'soon' is not a duration; expected" in text
    assert "nemesis.colour: unknown key" in text
    assert "unknown selector 'most'" in text
    assert "loss_probability" in text
    assert len(errs) == 6, errs
    assert validate_nemesis_spec({"faults": "partition"}, None) == [
        "nemesis.faults: expected a list of fault names, got 'partition'"]
    assert validate_nemesis_spec({"interval": "1s"}, None)[0].startswith("nemesis.faults: missing")
    assert validate_nemesis_spec({"faults": ["majorities-ring"]}, None, nodes=3)


def test_validate_refuses_packet_loss_under_either_name():
    errs = validate_nemesis_spec({"faults": ["loss"]}, Refuser({"packet-loss": "no iptables"}))
    assert errs and "no iptables" in errs[0]


def test_parse_duration():
    assert parse_duration("10s") == 10 and parse_duration("500ms") == 0.5
    assert parse_duration("2m") == 120 and parse_duration(3) == 3.0
    for bad in ("-1", "ten", True, "5 parsecs"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    # one parser: zero is a duration (a jitter of 0), refused only where it must be > 0
    assert parse_duration("0s") == 0.0 and parse_duration(0) == 0.0
    with pytest.raises(ValueError, match="nemesis.interval: '0s' is not valid; expected a "
                                         "duration > 0"):
        parse_duration("0s", "nemesis.interval", positive=True)


def test_real_etcd_target_refuses_clock_faults_with_its_reason():
    import targets
    # Constructing a target installs nothing and needs no root: it must always work.
    etcd = targets.get("etcd")()
    errs = validate_nemesis_spec({"faults": ["partition", "kill", "clock"], "interval": "10s"}, etcd)
    assert len(errs) == 1, errs
    assert errs[0].startswith("nemesis.faults: clock: not supported by target etcd: ")
    ok, why = etcd.supports("clock")
    assert not ok and why in errs[0]
    assert validate_nemesis_spec({"faults": ["partition", "kill", "pause"]}, etcd) == []
    from nemesis import NemesisTarget
    assert isinstance(etcd, NemesisTarget), "targets.base.Target must satisfy the nemesis protocol"
