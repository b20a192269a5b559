"""ZooKeeper on real netns nodes: ensemble up with one leader, client semantics in
both read modes, leader kill → new leader and restart rejoining, a partitioned
write completing as info within the op timeout, node logs written (SLF4J
binding on the classpath), and libfaketime moving the JVM's clock."""

import os
import shutil
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.netns, pytest.mark.db]

if os.geteuid() != 0 or shutil.which("java") is None or \
        not Path("/usr/share/java/zookeeper.jar").exists() or \
        not Path("/usr/share/java/slf4j-simple.jar").exists():
    pytest.skip("needs root, Debian's zookeeperd and libslf4j-java", allow_module_level=True)

from cluster_support import netns_cluster, until as _until

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


@pytest.fixture
def ensemble(tmp_path):
    with netns_cluster(tmp_path, "zookeeper", health_s=90) as c:
        yield c


def test_register_set_counter_leader_and_logs(ensemble):
    t, nodes = ensemble
    assert len(t.primaries(nodes)) == 1
    c = t.client(nodes[0], "register", {})
    try:
        assert c.invoke("read", "k", None, 5.0) == ("ok", None, None)
        # only a compare that saw another value is a cas-mismatch (an observation)
        assert c.invoke("cas", "k", [None, 1], 5.0) == ("fail", [None, 1],
                                                        "cas from nil on an absent key")
        assert c.invoke("cas", "k", [2, 1], 5.0) == ("fail", [2, 1], "cas-mismatch")
        assert c.invoke("write", "k", 3, 5.0) == ("ok", 3, None)
        assert c.invoke("cas", "k", [3, 4], 5.0) == ("ok", [3, 4], None)
        assert c.invoke("cas", "k", [3, 5], 5.0) == ("fail", [3, 5], "cas-mismatch")
    finally:
        c.close()
    for reads in ("sync", "plain"):
        r = t.client(nodes[2], "register", {"reads": reads})
        try:
            # A plain read may lag the leader for a moment; a synced one may not.
            if reads == "sync":
                assert r.invoke("read", "k", None, 5.0) == ("ok", 4, None)
            else:
                assert _until(lambda: r.invoke("read", "k", None, 5.0) == ("ok", 4, None), 5)
        finally:
            r.close()
    s = t.client(nodes[1], "set", {})
    k = t.client(nodes[2], "counter", {})
    try:
        for e in (5, 1, 3):
            assert s.invoke("add", None, e, 5.0)[0] == "ok"
        assert s.invoke("read", None, None, 5.0) == ("ok", [1, 3, 5], None)
        for _ in range(3):
            assert k.invoke("add", None, 1, 5.0)[0] == "ok"
        assert k.invoke("read", None, None, 5.0) == ("ok", 3, None)
    finally:
        s.close()
        k.close()
    # slf4j-simple on the classpath: the server really logs.
    text = Path(t.log_files(nodes[0])[0]).read_text(errors="replace")
    assert "QuorumPeer" in text and ("FOLLOWING" in text or "LEADING" in text)


def test_leader_kill_elects_another_and_restart_rejoins(ensemble):
    t, nodes = ensemble
    leader = t.primaries(nodes)[0]
    others = [n for n in nodes if n is not leader]
    c = t.client(others[0], "register", {})
    try:
        assert c.invoke("write", "k", 1, 5.0)[0] == "ok"
        t.kill(leader)
        assert t.daemons(leader) == []
        new = _until(lambda: t.primaries(others), 30)
        assert new and new[0] is not leader, t.modes()
        assert _until(lambda: c.invoke("write", "k", 2, 2.0)[0] == "ok", 20)
        t.start(leader)
        ok, why = t.wait_healthy(90)
        assert ok, why
        r = t.client(leader, "register", {})
        try:
            assert _until(lambda: r.invoke("read", "k", None, 3.0) == ("ok", 2, None), 20)
        finally:
            r.close()
    finally:
        c.close()


def test_partitioned_member_write_is_info_within_timeout(ensemble):
    t, nodes = ensemble
    leader = t.primaries(nodes)[0]
    iso = [n for n in nodes if n is not leader][0]
    c = t.client(iso, "register", {})
    try:
        assert c.invoke("write", "k", 1, 5.0)[0] == "ok"
        for other in nodes:
            if other is not iso:
                iso.check(["iptables", "-w", "5", "-A", "INPUT", "-s", other.ip, "-j", "DROP"])
                iso.check(["iptables", "-w", "5", "-A", "OUTPUT", "-d", other.ip, "-j", "DROP"])
        t0 = time.monotonic()
        typ, _, err = c.invoke("write", "k", 2, 1.0)
        took = time.monotonic() - t0
        assert typ in ("info", "fail"), (typ, err)   # fail only if the member already dropped us
        assert took < 1.5
        r = c.invoke("read", "k", None, 1.0)
        assert r[0] in ("fail", "ok")
        assert time.monotonic() - t0 < 3.0
    finally:
        iso.check(["iptables", "-w", "5", "-F", "INPUT"])
        iso.check(["iptables", "-w", "5", "-F", "OUTPUT"])
        c.close()
    ok, why = t.wait_healthy(90)
    assert ok, why


@pytest.mark.skipif(not Path(LIBFAKETIME).exists(), reason="needs Debian's libfaketime")
def test_libfaketime_moves_the_jvm_clock(tmp_path):
    """Members started with the nemesis' clock environment come up healthy and
    idle (no spinning JVM), and an offset written into the leader's file moves
    the ctime it stamps on new znodes; clearing it brings the clock back."""
    from nemesis.faketime import clock_env, offset_path

    def set_offset(node, seconds):
        # libfaketime's relative format; written whole so no read sees half a file
        node.put_file(offset_path(node), f"{seconds:+.6f}s\n".encode())

    def clear_offset(node):
        Path(offset_path(node)).unlink(missing_ok=True)
    with netns_cluster(tmp_path, "zookeeper", health_s=90, env_hook=clock_env) as (t, nodes):
        assert "FAKETIME_DONT_FAKE_MONOTONIC" not in t.daemon_env(nodes[0])
        assert t.daemons(nodes[0])[0].env["LD_PRELOAD"] == clock_env(nodes[0])["LD_PRELOAD"]
        c = t.client(nodes[0], "register", {})
        try:
            assert c.invoke("write", "a", 1, 5.0)[0] == "ok"
            ctime_a = c.zk.get_async("/splitbrain/r/a").get(timeout=5)[1].ctime / 1000
            assert abs(ctime_a - time.time()) < 30
            for n in nodes:       # the leader stamps ctime; whichever it is, it moves
                set_offset(n, 3600)
            assert _until(lambda: c.invoke("write", "b", 1, 5.0)[0] == "ok", 30)
            skew = c.zk.get_async("/splitbrain/r/b").get(timeout=5)[1].ctime / 1000 - time.time()
            assert 3500 < skew < 3700, skew
            for n in nodes:
                clear_offset(n)
            assert _until(lambda: c.invoke("write", "c", 1, 5.0)[0] == "ok", 30)
            skew = c.zk.get_async("/splitbrain/r/c").get(timeout=5)[1].ctime / 1000 - time.time()
            assert abs(skew) < 30, skew
        finally:
            c.close()
        ok, why = t.wait_healthy(60)
        assert ok, why
