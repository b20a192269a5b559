"""PostgreSQL managed by Patroni (etcd as its DCS) on real netns nodes: bootstrap, a leader
kill fails over to a new primary named by Patroni's REST API, the old leader rejoins as a
replica, committed data survives, and nothing started is left running afterwards."""

import os
import shutil
import subprocess

import pytest

pytestmark = [pytest.mark.netns, pytest.mark.db, pytest.mark.slow]

if os.geteuid() != 0 or not os.path.exists("/usr/lib/postgresql/15/bin/postgres") or \
        shutil.which("patroni") is None or shutil.which("etcd") is None:
    pytest.skip("needs root, Debian's postgresql-15, patroni and etcd-server",
                allow_module_level=True)

from cluster_support import netns_cluster, until
from patroni_support import fail_over, first_ok

from targets.postgresql.patroni import rest_get


def _processes_of(data_dirs):
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if any(d in line for d in data_dirs)]


def test_leader_kill_fails_over_and_the_old_leader_rejoins(tmp_path):
    with netns_cluster(tmp_path, "postgresql", {"topology": "patroni", "ttl": 8,
                                                "retry_timeout": 3},
                       nodes=3, health_s=120) as (t, nodes):
        data_dirs = [n.data_dir for n in nodes]
        status, body = rest_get(nodes[1].ip, "/patroni", 2.0)
        assert status == 200 and body["role"] == "replica", body
        c = t.client(nodes[1], "list-append", {})
        assert c.invoke("txn", None, [["append", "k", 1], ["r", "k", None]], 5.0) \
            == ("ok", [["append", "k", 1], ["r", "k", [1]]], None)

        names = {d.name for d in t.fault_daemons(nodes[0])}
        assert {"patroni", "postgres", "postgres-child"} <= names, names
        new = fail_over(t, nodes)
        got = first_ok(c, [["append", "k", 2], ["r", "k", None]])
        assert got[1][1][2] == [1, 2], got

        t.start(nodes[0])
        ok, why = t.wait_healthy(120)
        assert ok, why
        assert t.primaries(nodes) == [new]
        status, body = rest_get(nodes[0].ip, "/patroni", 2.0)
        assert body["role"] == "replica", body
        r = t.client(nodes[0], "list-append", {})
        assert r.invoke("txn", None, [["r", "k", None]], 5.0) == ("ok", [["r", "k", [1, 2]]], None)
        r.close()
        c.close()
    # stop_all and destroy: patroni, every postmaster (not patroni's child) and etcd are gone
    left = until(lambda: not _processes_of(data_dirs), 10)
    assert left, _processes_of(data_dirs)


def test_postgres_only_kill_is_restarted_in_place_by_patroni(tmp_path):
    with netns_cluster(tmp_path, "postgresql", {"topology": "patroni", "patroni_faults": False},
                       nodes=2, health_s=120) as (t, nodes):
        leader = t.primaries(nodes)[0]
        before = {d.name for d in t.fault_daemons(leader)}
        assert "patroni" not in before and "postgres" in before, before
        pm = t._patroni.postmaster(leader).pid
        t.kill(leader)
        assert any(d.name == "patroni" for d in t.daemons(leader))
        # patroni notices within loop_wait and starts postgres again, still the leader
        back = until(lambda: (p := t._patroni.postmaster(leader)) is not None and p.pid != pm, 60)
        assert back, "patroni did not restart postgres"
        ok, why = t.wait_healthy(60)
        assert ok, why
        assert t.primaries(nodes) == [leader]


def test_synchronous_mode_names_a_synchronous_standby(tmp_path):
    with netns_cluster(tmp_path, "postgresql", {"topology": "patroni", "synchronous_mode": True},
                       nodes=3, health_s=120) as (t, nodes):
        leader = t.primaries(nodes)[0]
        sync = until(lambda: [m for m in (rest_get(leader.ip, "/cluster", 2.0)[1] or {})
                              .get("members", []) if m.get("role") == "sync_standby"], 30)
        assert len(sync) == 1, sync
        c = t.client(nodes[2], "rw-register", {})
        assert c.invoke("txn", None, [["w", 1, 5], ["r", 1, None]], 5.0)[0] == "ok"
        c.close()
