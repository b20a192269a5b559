"""PostgreSQL on real netns nodes: single server and streaming replicas, transactions of every
workload through the real client, the outcome rules (serialization failures are fail, a paused
server is info after COMMIT), kill and restart with crash recovery, primaries."""

import os
import threading
import time

import pytest

pytestmark = [pytest.mark.netns, pytest.mark.db]

if os.geteuid() != 0 or not os.path.exists("/usr/lib/postgresql/15/bin/postgres"):
    pytest.skip("needs root and Debian's postgresql-15", allow_module_level=True)

from cluster_support import netns_cluster, until


def test_single_server_list_append_rw_register_and_bank(tmp_path):
    with netns_cluster(tmp_path, "postgresql", {"isolation": "serializable"}, nodes=2,
                       health_s=60) as (t, nodes):
        assert t.primaries(nodes) == [nodes[0]]
        a = t.client(nodes[1], "list-append", {})
        assert a.invoke("txn", None, [["append", 1, 10], ["append", 1, 11], ["r", 1, None]], 5.0) \
            == ("ok", [["append", 1, 10], ["append", 1, 11], ["r", 1, [10, 11]]], None)
        assert a.invoke("txn", None, [["r", 1, None], ["r", "1", None]], 5.0) \
            == ("ok", [["r", 1, [10, 11]], ["r", "1", []]], None)  # 1 and "1" are two keys
        r = t.client(nodes[0], "rw-register", {})
        assert r.invoke("txn", None, [["r", 5, None], ["w", 5, 1], ["r", 5, None]], 5.0) \
            == ("ok", [["r", 5, None], ["w", 5, 1], ["r", 5, 1]], None)
        b = t.client(nodes[1], "bank", {"accounts": 4, "total": 40})
        assert b.invoke("read", None, None, 5.0) == ("ok", {"0": 10, "1": 10, "2": 10, "3": 10}, None)
        assert b.invoke("transfer", None, {"from": 0, "to": 3, "amount": 4}, 5.0)[0] == "ok"
        typ, _, err = b.invoke("transfer", None, {"from": 0, "to": 1, "amount": 7}, 5.0)
        assert (typ, err) == ("fail", "insufficient funds")
        assert b.invoke("read", None, None, 5.0)[1] == {"0": 6, "1": 10, "2": 10, "3": 14}
        for c in (a, r, b):
            c.close()


def test_write_skew_is_a_serialization_failure_under_serializable(tmp_path):
    with netns_cluster(tmp_path, "postgresql", {"isolation": "serializable"}, nodes=1,
                       health_s=60) as (t, nodes):
        c1, c2 = (t.client(nodes[0], "rw-register", {}) for _ in range(2))
        # Two concurrent transactions, each reading both keys and writing one: a write skew.
        # One of them must fail with 40001; which one depends on timing.
        barrier = threading.Barrier(2)
        results = []

        class Slow(type(c1)):
            def transact(self, cur, f, key, value):
                out = super().transact(cur, f, key, value[:2])
                barrier.wait(5)
                return out + super().transact(cur, f, key, value[2:])

        for c in (c1, c2):
            c.__class__ = Slow
        ops = [[["r", "x", None], ["r", "y", None], ["w", "x", 1]],
               [["r", "x", None], ["r", "y", None], ["w", "y", 2]]]
        th = [threading.Thread(target=lambda c=c, o=o: results.append(c.invoke("txn", None, o, 10.0)))
              for c, o in zip((c1, c2), ops)]
        for x in th:
            x.start()
        for x in th:
            x.join()
        kinds = sorted(r[0] for r in results)
        assert kinds == ["fail", "ok"], results
        assert any(r[2] and r[2].startswith("40001") for r in results), results


def test_kill_and_restart_recovers_committed_data_and_pause_gives_info(tmp_path):
    with netns_cluster(tmp_path, "postgresql", {}, nodes=1, health_s=60) as (t, nodes):
        n = nodes[0]
        c = t.client(n, "list-append", {})
        assert c.invoke("txn", None, [["append", "k", 1]], 5.0)[0] == "ok"
        t.kill(n)
        assert not t.daemons(n)
        typ, _, err = c.invoke("txn", None, [["append", "k", 2]], 2.0)
        assert typ in ("fail", "info"), (typ, err)
        t.start(n)
        ok, why = t.wait_healthy(60)
        assert ok, why
        c2 = t.client(n, "list-append", {})
        got = until(lambda: c2.invoke("txn", None, [["r", "k", None]], 5.0), 30)
        assert got[0] == "ok" and got[1][0][2][:1] == [1], got
        # A paused server: the op returns within its timeout, not when the server wakes.
        t.pause(n)
        try:
            t0 = time.monotonic()
            typ, _, err = c2.invoke("txn", None, [["append", "k", 3]], 1.5)
            took = time.monotonic() - t0
        finally:
            t.resume(n)
        assert typ in ("fail", "info") and took < 5, (typ, err, took)


def test_streaming_replicas_replicate_and_read_locally(tmp_path):
    opts = {"topology": "replicas", "read_from": "local",
            "synchronous_standby_names": "ANY 2 (*)", "synchronous_commit": "remote_apply"}
    with netns_cluster(tmp_path, "postgresql", opts, nodes=3, health_s=90) as (t, nodes):
        assert t.primaries(nodes) == [nodes[0]]
        w = t.client(nodes[0], "list-append", {})
        assert w.invoke("txn", None, [["append", 7, 1]], 10.0)[0] == "ok"
        # remote_apply on both standbys: a local read on each sees every append at once
        expect = [1]
        for n in nodes[1:]:
            r = t.client(n, "list-append", {})
            assert r.invoke("txn", None, [["r", 7, None]], 5.0) == ("ok", [["r", 7, expect]], None)
            # a write from a replica's client still goes to the primary
            v = 2 + nodes.index(n)
            assert r.invoke("txn", None, [["append", 7, v]], 10.0)[0] == "ok"
            expect = expect + [v]
            r.close()
        w.close()
