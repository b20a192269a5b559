"""redis + sentinel on real netns nodes: group up and healthy, client semantics,
WAIT, failover after the primary is killed, restart rejoining as the sentinels
decide, and a partitioned write completing as info within the op timeout."""

import os
import shutil
import time

import pytest

pytestmark = [pytest.mark.netns, pytest.mark.db]

if os.geteuid() != 0 or shutil.which("redis-server") is None or shutil.which("redis-sentinel") is None:
    pytest.skip("needs root and Debian's redis-server + redis-sentinel", allow_module_level=True)

from cluster_support import netns_cluster, until as _until

FAST = {"down_after_ms": 1500, "failover_timeout_ms": 4000}


@pytest.fixture
def group(tmp_path):
    with netns_cluster(tmp_path, "redis", FAST, health_s=40) as c:
        yield c


def test_register_set_counter_and_primary(group):
    t, nodes = group
    assert t.primaries(nodes) == [nodes[0]]
    c = t.client(nodes[1], "register", {})
    assert c.invoke("read", "k", None, 2.0) == ("ok", None, None)
    assert c.invoke("write", "k", 3, 2.0) == ("ok", 3, None)
    assert c.invoke("cas", "k", [3, 4], 2.0) == ("ok", [3, 4], None)
    assert c.invoke("cas", "k", [3, 5], 2.0) == ("fail", [3, 5], "cas-mismatch")
    assert c.invoke("cas", "absent", [None, 1], 2.0) == ("fail", [None, 1],
                                                         "cas from nil on an absent key")
    assert c.invoke("cas", "absent", [2, 1], 2.0) == ("fail", [2, 1], "cas-mismatch")
    assert t.client(nodes[2], "register", {}).invoke("read", "k", None, 2.0) == ("ok", 4, None)
    s = t.client(nodes[2], "set", {})
    for e in (5, 1, 3):
        assert s.invoke("add", None, e, 2.0)[0] == "ok"
    assert s.invoke("read", None, None, 2.0) == ("ok", [1, 3, 5], None)
    k = t.client(nodes[0], "counter", {})
    for _ in range(4):
        assert k.invoke("add", None, 1, 2.0)[0] == "ok"
    assert k.invoke("read", None, None, 2.0) == ("ok", 4, None)
    # WAIT: two replicas are linked, so asking for two acknowledges; three cannot.
    w2 = t.client(nodes[0], "register", {"wait_replicas": 2, "wait_timeout_ms": 1000})
    assert w2.invoke("write", "k", 9, 3.0) == ("ok", 9, None)
    w3 = t.client(nodes[0], "register", {"wait_replicas": 3, "wait_timeout_ms": 200})
    typ, _, err = w3.invoke("write", "k", 10, 3.0)
    assert typ == "info" and "2 of 3" in err
    for x in (c, s, k, w2, w3):
        x.close()


def test_kill_primary_fails_over_and_restart_rejoins_as_replica(group):
    t, nodes = group
    old = nodes[0]
    c = t.client(nodes[1], "register", {})
    assert c.invoke("write", "k", 1, 2.0)[0] == "ok"
    # Wait until both replicas hold the write so the failover cannot lose it.
    assert _until(lambda: all(
        t.client(n, "register", {}).invoke("read", "k", None, 1.0)[1] == 1 for n in nodes), 5)
    t.kill(old)
    # the store died; its sentinel (the failure detector under test) did not
    assert t.fault_daemons(old) == []
    assert [d.name for d in t.daemons(old)] == ["redis-sentinel"]
    new = _until(lambda: [p for p in t.primaries(nodes[1:]) if p is not old], 30)
    assert new and new[0] in nodes[1:], \
        f"sentinels did not fail over within 30 s: {t.sentinel_views(nodes[1:])}"
    assert _until(lambda: c.invoke("write", "k", 2, 1.0)[0] == "ok", 10)
    t.start(old)
    ok, why = t.wait_healthy(40)
    assert ok, why
    assert t.primaries(nodes) == new           # the restarted node did not take over
    role = t._role(old, 1.0)
    assert role[0] == b"slave" and role[1].decode() == new[0].ip
    assert t.client(old, "register", {}).invoke("read", "k", None, 2.0) == ("ok", 2, None)
    # sentinel_faults: the node's sentinel dies with its server
    t.options["sentinel_faults"] = True
    t.kill(old)
    assert t.daemons(old) == []


def test_partitioned_primary_write_is_info_within_timeout(group):
    t, nodes = group
    prim = nodes[0]
    c = t.client(prim, "register", {})
    assert c.invoke("write", "k", 1, 2.0)[0] == "ok"
    t.pause(prim)
    try:
        t0 = time.monotonic()
        typ, _, err = c.invoke("write", "k", 2, 1.0)
        took = time.monotonic() - t0
        assert typ == "info", (typ, err)
        assert took < 1.5
        r = c.invoke("read", "k", None, 1.0)
        assert r[0] == "fail"       # a read never becomes info
    finally:
        t.resume(prim)
    ok, why = t.wait_healthy(40)
    assert ok, why
