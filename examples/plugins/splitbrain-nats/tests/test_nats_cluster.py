"""Real NATS clusters in network namespaces, through splitbrain's pytest plugin
(the ``splitbrain_run`` and ``splitbrain_nodes`` fixtures)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest

from splitbrain_nats.target import NatsTarget

pytestmark = [pytest.mark.netns, pytest.mark.db, pytest.mark.slow,
              pytest.mark.splitbrain_needs("netns", "nats-server")]


def _server_version() -> tuple[int, ...]:
    if shutil.which("nats-server") is None:
        return (0,)
    out = subprocess.run(["nats-server", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"v(\d+)\.(\d+)\.(\d+)", out)
    # unknown (not installed): the cluster tests skip anyway, through splitbrain_needs
    return tuple(int(x) for x in m.groups()) if m else (0,)


def test_set_keeps_every_acknowledged_add_under_partitions_kills_and_pauses(splitbrain_run) -> None:
    run = splitbrain_run(target="nats", workload={"name": "set", "read_fraction": 0.05},
                         nodes=3, concurrency=6, rate=100, time_limit="20s", op_timeout="2s",
                         nemesis={"faults": ["partition", "kill", "pause"], "interval": "5s"},
                         health_timeout="60s", recovery_timeout="60s", seed=7, name="nats-set")
    assert run.valid, run


@pytest.mark.skipif(_server_version() >= (2, 9, 21),
                    reason="nats-server after 2.9.20 orders concurrent expected-sequence "
                           "publishes (nats-server#4320)")
def test_register_finds_concurrent_kv_updates_both_accepted(splitbrain_run) -> None:
    """No faults at all: nats-server up to 2.9.20 checks a KV update's expected
    revision before proposing it, not in raft order, so two concurrent updates
    of one key can both pass (nats-server#4320; Debian 12 ships 2.9.10).  The
    linearizability checker must say so."""
    run = splitbrain_run(target="nats", workload={"name": "register", "ops_per_key": 300},
                         nodes=3, concurrency=10, rate=200, time_limit="15s", op_timeout="2s",
                         health_timeout="60s", seed=3, name="nats-register-race")
    assert run.verdict == "invalid", run
    lin = [r for r in run.results if r.checker == "linearizable"]
    assert lin and lin[0].valid is False, run


def test_client_outcomes_and_primaries_on_a_live_cluster(splitbrain_nodes) -> None:
    nodes = splitbrain_nodes(3)
    target = NatsTarget({"bucket": "t"})
    target.setup(nodes)
    try:
        ok, why = target.wait_healthy(60)
        assert ok, why
        leader = target.primaries(nodes)
        assert len(leader) == 1, leader

        c = target.client(nodes[1], "register", {})
        try:
            assert c.invoke("read", "x", None, 2.0) == ("ok", None, None)
            assert c.invoke("write", "x", 1, 2.0) == ("ok", 1, None)
            assert c.invoke("read", "x", None, 2.0) == ("ok", 1, None)
            assert c.invoke("cas", "x", [2, 3], 2.0) == ("fail", [2, 3], "cas-mismatch")
            assert c.invoke("cas", "x", [1, 3], 2.0) == ("ok", [1, 3], None)
            assert c.invoke("read", "x", None, 2.0) == ("ok", 3, None)
        finally:
            c.close()

        s = target.client(nodes[2], "set", {})
        try:
            for v in (5, 1, 3):
                assert s.invoke("add", "s", v, 2.0) == ("ok", v, None)
            assert s.invoke("read", "s", None, 2.0) == ("ok", [1, 3, 5], None)
        finally:
            s.close()

        # Kill the stream leader: a client bound to it fails definitely (refused);
        # the other two elect a new leader.
        target.kill(leader[0])
        dead = target.client(leader[0], "register", {})
        try:
            t, _, err = dead.invoke("write", "x", 9, 2.0)
            assert t == "fail" and "not connected" in err, (t, err)
        finally:
            dead.close()
        deadline = time.monotonic() + 30
        others = [n for n in nodes if n is not leader[0]]
        while time.monotonic() < deadline and target.primaries(others) in ([], leader):
            time.sleep(0.5)
        new = target.primaries(others)
        assert new and new[0] is not leader[0], new
        target.start(leader[0])
        ok, why = target.wait_healthy(60)
        assert ok, why
    finally:
        target.stop_all()
