"""Acceptance: libfaketime clock bump, strobe and reset, seen by a long-running process on a node."""

from __future__ import annotations

import os
import time

import pytest

from nemesis import Nemesis, UnsupportedFault, validate_nemesis_spec
from nemesis import faketime as nclock

from nemesis_support import PeerTarget, exists, py_for

pytestmark = [pytest.mark.skipif(not os.path.exists(nclock.LIBFAKETIME),
                                 reason="needs Debian's libfaketime")]


@pytest.fixture()
def clocked(netns_cluster, tmp_path):
    """A nemesis with clock faults on, and a clock reader started under its environment on n1, n2."""
    store, nodes = netns_cluster
    target = PeerTarget(nodes, udp=False)
    nem = Nemesis(nodes, target, tmp_path / "journal.json", {"faults": ["clock"], "seed": 1})
    readers = {}
    for n in nodes[:2]:
        # Bounded: 6000 readings of >= 10 ms each.
        argv = [py_for(n), f"{n.data_dir}/clockreader.py", "6000"]
        readers[n.name] = n.start_daemon("clockreader", argv, env=nem.clock_env(n),
                                         log_path=f"{n.data_dir}/clockreader-{id(nem)}.log")
    yield nodes, nem, readers
    nem.heal_all()
    for n in nodes[:2]:
        n.signal(readers[n.name], 9)


def readings(node, daemon) -> list[tuple[float, float]]:
    """(host monotonic time, offset of the faked wall clock in seconds) per reading."""
    now_real, now_mono = time.time(), time.monotonic()
    out = []
    for line in node.get_file(daemon.log_path).decode().splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        faked, mono = float(parts[0]), float(parts[1])
        real = now_real - (now_mono - mono)
        out.append((mono, faked - real))
    return out


def test_clock_env_is_only_given_when_clock_faults_are_on(netns_cluster, tmp_path):
    store, nodes = netns_cluster
    off = Nemesis(nodes, None, tmp_path / "a.json", {"faults": ["partition", "kill"]})
    on = Nemesis(nodes, None, tmp_path / "b.json", {"faults": ["clock-bump"]})
    none = Nemesis(nodes, None, tmp_path / "c.json", {"faults": []})   # a run without nemesis
    assert off.clock_env(nodes[0]) == {} and none.clock_env(nodes[0]) == {}
    none.heal_all()
    env = on.clock_env(nodes[0])
    assert env["LD_PRELOAD"] == nclock.LIBFAKETIME
    assert env["FAKETIME_TIMESTAMP_FILE"] == f"{nodes[0].data_dir}/splitbrain-faketime"
    assert env["FAKETIME_NO_CACHE"] == "1"
    off.heal_all()
    on.heal_all()


def test_bump_seen_within_a_second_and_reset_brings_it_back(clocked):
    nodes, nem, readers = clocked
    n1, n2 = nodes[0], nodes[1]
    time.sleep(0.3)
    before = readings(n1, readers["n1"])
    assert before and all(abs(off) < 0.2 for _, off in before), before[-3:]
    applied = nem.apply("start-clock", {"mode": "bump", "nodes": ["n1"], "offset_s": 90})
    t_applied = time.monotonic()
    assert applied["nodes"] == ["n1"]
    assert abs(applied["offsets_s"]["n1"] - 90) < 0.5, applied
    assert "clock n1 +90s" in nem.active()
    time.sleep(1.0)
    seen = [(m, off) for m, off in readings(n1, readers["n1"]) if m > t_applied - 0.5]
    bumped = [m for m, off in seen if abs(off - 90) < 0.5]
    assert bumped and bumped[0] <= t_applied + 1.0, seen[-5:]
    # The other node's clock is untouched, and so is the real one.
    assert all(abs(off) < 0.2 for _, off in readings(n2, readers["n2"]))
    assert abs(nclock.measure_offset(n2)) < 0.2

    reset = nem.apply("stop-clock", None)
    t_reset = time.monotonic()
    assert abs(reset["offsets_s"]["n1"]) < 0.2, reset
    time.sleep(1.0)
    after = [(m, off) for m, off in readings(n1, readers["n1"]) if m > t_reset]
    assert after and all(abs(off) < 0.2 for _, off in after), after[:5]
    assert not exists(n1, nclock.offset_path(n1))
    assert nem.active() == []


def test_strobe_is_observed_flipping(clocked):
    nodes, nem, readers = clocked
    n1 = nodes[0]
    applied = nem.apply("start-clock", {"mode": "strobe", "nodes": ["n1"], "offsets_s": [0, 60],
                                        "period_ms": 25, "duration_s": 5})
    t0 = time.monotonic()
    obs = applied["observed_s"]["n1"]
    assert any(abs(o) < 0.5 for o in obs) or any(abs(o - 60) < 0.5 for o in obs), obs
    assert any("strobe n1" in a for a in nem.active())
    time.sleep(1.0)
    window = [off for m, off in readings(n1, readers["n1"]) if t0 <= m <= t0 + 1.0]
    labels = ["a" if abs(o) < 0.5 else "b" if abs(o - 60) < 0.5 else "?" for o in window]
    assert "?" not in labels, window
    flips = sum(1 for x, y in zip(labels, labels[1:]) if x != y)
    assert labels.count("a") >= 3 and labels.count("b") >= 3, labels
    assert flips >= 4, labels
    stopped = nem.apply("stop-clock", None)
    t1 = time.monotonic()
    assert stopped["strobe_flips"]["n1"] and stopped["strobe_flips"]["n1"] >= 4
    time.sleep(0.6)
    after = [off for m, off in readings(n1, readers["n1"]) if m > t1]
    assert after and all(abs(o) < 0.2 for o in after), after[:10]
    assert not exists(n1, nclock.offset_path(n1))


def test_strobe_ends_by_itself_after_its_duration(clocked):
    nodes, nem, readers = clocked
    n2 = nodes[1]
    nem.apply("start-clock", {"mode": "strobe", "nodes": ["n2"], "offsets_s": [-30, 30],
                              "period_ms": 10, "duration_s": 1})
    time.sleep(2.5)
    assert not exists(n2, nclock.offset_path(n2))
    assert abs(nclock.measure_offset(n2)) < 0.2


def test_clock_refused_for_a_target_that_says_so(netns_cluster, tmp_path):
    store, nodes = netns_cluster
    reason = "libfaketime has no effect on Go binaries (they read time through the vDSO)"
    target = PeerTarget(nodes, refused={"clock": reason})
    nem = Nemesis(nodes, target, tmp_path / "journal.json", {})
    try:
        with pytest.raises(UnsupportedFault, match="vDSO"):
            nem.apply("start-clock", {"mode": "bump", "nodes": "one", "offset_s": 5})
        assert all(not exists(n, nclock.offset_path(n)) for n in nodes)
    finally:
        nem.heal_all()
    errors = validate_nemesis_spec({"faults": ["partition", "clock"], "interval": "10s"}, target)
    assert len(errors) == 1 and "clock" in errors[0] and "vDSO" in errors[0], errors


def test_missing_library_is_a_clear_error(netns_cluster, tmp_path):
    store, nodes = netns_cluster
    nem = Nemesis(nodes, None, tmp_path / "journal.json",
                  {"libfaketime": "/nonexistent/libfaketime.so.1"})
    try:
        with pytest.raises(UnsupportedFault, match="install the Debian packages faketime"):
            nem.apply("start-clock", {"mode": "bump", "nodes": ["n1"], "offset_s": 5})
    finally:
        nem.heal_all()
