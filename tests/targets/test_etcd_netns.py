"""etcd on real netns nodes: bootstrap, client semantics, kill/restart, pause and a
partitioned write completing as info within the op timeout."""

import os
import shutil
import time

import pytest

pytestmark = [pytest.mark.netns, pytest.mark.db]

if os.geteuid() != 0 or shutil.which("etcd") is None:
    pytest.skip("needs root and Debian's etcd-server", allow_module_level=True)

from cluster_support import netns_cluster


@pytest.fixture
def cluster(tmp_path):
    with netns_cluster(tmp_path, "etcd", health_s=30) as c:
        yield c


def test_register_set_counter_semantics(cluster):
    t, nodes = cluster
    c = t.client(nodes[0], "register", {})
    assert c.invoke("read", "k", None, 2.0) == ("ok", None, None)
    assert c.invoke("write", "k", 3, 2.0) == ("ok", 3, None)
    assert c.invoke("cas", "k", [3, 4], 2.0) == ("ok", [3, 4], None)
    assert c.invoke("cas", "k", [3, 5], 2.0) == ("fail", [3, 5], "cas-mismatch")
    assert c.invoke("cas", "absent", [2, 1], 2.0) == ("fail", [2, 1], "cas-mismatch")
    assert c.invoke("cas", "absent", [None, 1], 2.0)[2] != "cas-mismatch"
    assert t.client(nodes[1], "register", {}).invoke("read", "k", None, 2.0) == ("ok", 4, None)
    assert t.client(nodes[2], "register", {"read_mode": "serializable"}).invoke(
        "read", "other", None, 2.0) == ("ok", None, None)
    s = t.client(nodes[1], "set", {})
    for e in (5, 1, 3):
        assert s.invoke("add", None, e, 2.0)[0] == "ok"
    assert s.invoke("read", None, None, 2.0) == ("ok", [1, 3, 5], None)
    k = t.client(nodes[2], "counter", {})
    for _ in range(4):
        assert k.invoke("add", None, 1, 2.0)[0] == "ok"
    assert k.invoke("read", None, None, 2.0) == ("ok", 4, None)
    assert len(t.primaries(nodes)) == 1
    for c_ in (c, s, k):
        c_.close()


def test_kill_restart_keeps_data(cluster):
    t, nodes = cluster
    c = t.client(nodes[0], "register", {})
    assert c.invoke("write", "k", 7, 2.0)[0] == "ok"
    t.kill(nodes[0])
    assert t.daemons(nodes[0]) == []
    r = c.invoke("read", "k", None, 1.0)
    assert r[0] == "fail"           # a read never becomes info
    t.start(nodes[0])
    ok, why = t.wait_healthy(30)
    assert ok, why
    assert c.invoke("read", "k", None, 2.0) == ("ok", 7, None)


def test_paused_member_times_out_within_the_op_timeout(cluster):
    t, nodes = cluster
    c = t.client(nodes[1], "register", {})
    assert c.invoke("write", "k", 1, 2.0)[0] == "ok"
    t.pause(nodes[1])
    try:
        t0 = time.monotonic()
        typ, _, err = c.invoke("write", "k", 2, 1.0)
        took = time.monotonic() - t0
        assert typ == "info" and "timeout" in err
        assert took < 1.5
    finally:
        t.resume(nodes[1])
    ok, why = t.wait_healthy(30)
    assert ok, why


def test_partitioned_member_write_is_info_and_serializable_read_is_stale(cluster):
    t, nodes = cluster
    iso = nodes[2]
    w = t.client(nodes[0], "register", {})
    assert w.invoke("write", "k", 1, 2.0)[0] == "ok"
    # Wait until the isolated member has applied the write before cutting it off.
    sr = t.client(iso, "register", {"read_mode": "serializable"})
    deadline = time.monotonic() + 5
    while sr.invoke("read", "k", None, 1.0)[1] != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    for other in nodes[:2]:
        iso.check(["iptables", "-w", "5", "-A", "INPUT", "-s", other.ip, "-j", "DROP"])
        iso.check(["iptables", "-w", "5", "-A", "OUTPUT", "-d", other.ip, "-j", "DROP"])
    # The majority keeps writing; a member that was the leader steps down after an
    # election timeout, so give the majority a moment to elect one of its own.
    deadline = time.monotonic() + 10
    while w.invoke("write", "k", 2, 1.0)[0] != "ok" and time.monotonic() < deadline:
        pass
    assert w.invoke("read", "k", None, 2.0) == ("ok", 2, None)
    lin = t.client(iso, "register", {})
    t0 = time.monotonic()
    typ, _, err = lin.invoke("write", "k", 3, 1.0)
    assert typ == "info", (typ, err)
    assert time.monotonic() - t0 < 1.5
    assert lin.invoke("read", "k", None, 1.0)[0] == "fail"
    assert sr.invoke("read", "k", None, 1.0) == ("ok", 1, None)   # stale, as documented
