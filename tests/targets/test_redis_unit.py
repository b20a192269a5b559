"""Fast checks of the redis target: options, the clock refusal, config text,
log patterns, and the client's outcome rules against a port nothing listens on."""

import socket
import time

import pytest

import targets
from targets.base import OptionError
from targets.redis.client import RegisterClient
from targets.redis.config import redis_conf, sentinel_conf


def test_registered_with_defaults():
    t = targets.get("redis")({})
    assert t.options["quorum"] == 2 and t.options["wait_replicas"] == 0
    assert set(t.workloads) >= {"register", "set", "counter"}
    assert "redis-sentinel" in t.packages


@pytest.mark.parametrize("opts,field", [
    ({"quorum": 0}, "quorum"), ({"appendfsync": "sometimes"}, "appendfsync"),
    ({"wait_replicas": -1}, "wait_replicas"), ({"master_name": "a b"}, "master_name"),
    ({"colour": 1}, "colour"), ({"install": "yes"}, "install"),
    ({"sentinel_faults": "no"}, "sentinel_faults")])
def test_bad_options_name_the_option(opts, field):
    with pytest.raises(OptionError, match=field):
        targets.get("redis")(opts)


def test_clock_faults_refused_with_the_jemalloc_reason():
    t = targets.get("redis")({})
    for fault in ("clock", "clock-bump", "clock-strobe"):
        ok, why = t.supports(fault)
        assert not ok
        assert "jemalloc" in why and "libfaketime" in why and "clock_gettime" in why
    for fault in ("partition", "isolate-primary", "kill", "pause", "packet-loss"):
        assert t.supports(fault) == (True, "")


def test_config_text():
    o = targets.get("redis")({"min_replicas_to_write": 1}).options
    primary = redis_conf("10.0.0.1", "/d", o, None)
    replica = redis_conf("10.0.0.2", "/d", o, ("10.0.0.1", 6379))
    assert "replicaof" not in primary
    assert "replicaof 10.0.0.1 6379" in replica
    assert "replica-announce-ip 10.0.0.2" in replica
    assert "min-replicas-to-write 1" in primary and "appendfsync everysec" in primary
    s = sentinel_conf("10.0.0.3", "/d", o, ("10.0.0.1", 6379))
    assert "sentinel monitor splitbrain 10.0.0.1 6379 2" in s
    assert "sentinel down-after-milliseconds splitbrain 2000" in s
    assert "sentinel announce-ip 10.0.0.3" in s
    off = redis_conf("10.0.0.1", "/d", {**o, "appendfsync": "off"}, None)
    assert "appendonly no" in off and "appendfsync" not in off


def test_log_patterns_match_crashes_not_failover_chatter():
    every = targets.get("redis")({}).log_patterns
    pats = [p.compiled() for p in every if p.invalid]
    bad = ["=== REDIS BUG REPORT START: Cut & paste starting from here ===",
           "Bad file format reading the append only file appendonly.aof.1.incr.aof",
           "libfaketime: Unexpected recursive calls to clock_gettime() without proper initialization"]
    good = ["# +switch-master splitbrain 10.77.3.2 6379 10.77.3.3 6379",
            "# Error condition on socket for SYNC: Connection refused",
            "# Connection with master lost."]
    for line in bad:
        assert any(p.search(line) for p in pats), line
    for line in good:
        assert not any(p.search(line) for p in pats), line
    # a failover is counted (one line per failover: the leading sentinel's), not a failure
    events = {p.name: p.compiled() for p in every if not p.invalid}
    assert events["sentinel-failover"].search(
        "20191:X 01 Dec 2026 01:05:31.291 # +failover-end master splitbrain 10.77.7.2 6379")
    assert not any(e.search(good[0]) for e in events.values())


def test_no_sentinel_means_fail_within_the_timeout():
    # A loopback port nobody listens on: every op is a definite failure, fast.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = RegisterClient([("127.0.0.1", port)], "splitbrain", node_name="n1")
    try:
        for f, v in (("read", None), ("write", 1), ("cas", [1, 2])):
            t0 = time.monotonic()
            typ, _, err = c.invoke(f, "k", v, 1.0)
            assert typ == "fail" and "no sentinel named a primary" in err
            assert time.monotonic() - t0 < 1.5
        assert c.invoke("frobnicate", "k", None, 1.0)[0] == "fail"
    finally:
        c.close()
