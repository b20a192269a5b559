"""PostgreSQL on the docker provider: the node image carries Debian's postgresql-15 (and, for
the patroni topology, patroni and etcd-server); the same lifecycle as on netns — transactions,
kill and crash recovery, pause bounded by the op timeout, Patroni failover and rejoin — and
no container left behind."""

import shutil
import time

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.db, pytest.mark.slow]

if shutil.which("docker") is None:
    pytest.skip("needs docker", allow_module_level=True)

from cluster_support import docker_cluster
from patroni_support import fail_over, first_ok

from core.nodes import NodeError
from harness.nodes.docker import connect
from targets.postgresql.patroni import rest_get


@pytest.fixture(autouse=True)
def _engine():
    try:
        connect(timeout=10)
    except NodeError as e:
        pytest.skip(f"docker engine not usable: {e}")


def _left(names):
    return [x.name for x in connect().containers.list(all=True) if x.name in names]


def test_single_server_on_docker_kill_recovers_and_pause_is_bounded(tmp_path):
    with docker_cluster(tmp_path, "postgresql", {"isolation": "serializable"}, nodes=2,
                        health_s=90) as (t, nodes):
        assert t.primaries(nodes) == [nodes[0]]
        c = t.client(nodes[1], "list-append", {})
        assert c.invoke("txn", None, [["append", 1, 10], ["r", 1, None]], 5.0) \
            == ("ok", [["append", 1, 10], ["r", 1, [10]]], None)
        t.kill(nodes[0])
        assert t.fault_daemons(nodes[0]) == []
        t.start(nodes[0])
        ok, why = t.wait_healthy(90)
        assert ok, why
        # committed before the crash: kept
        assert first_ok(c, [["r", 1, None]]) == ("ok", [["r", 1, [10]]], None)
        t.pause(nodes[0])
        try:
            t0 = time.monotonic()
            typ, _, err = c.invoke("txn", None, [["append", 1, 11]], 1.5)
            took = time.monotonic() - t0
        finally:
            for d in t.fault_daemons(nodes[0]):
                nodes[0].signal(d, 18, group=True)   # SIGCONT every group pause stopped
        assert typ in ("fail", "info") and took < 5, (typ, err, took)
        c.close()


def test_patroni_on_docker_fails_over_and_rejoins(tmp_path):
    with docker_cluster(tmp_path, "postgresql", {"topology": "patroni", "ttl": 6,
                                                 "retry_timeout": 2},
                        nodes=3, health_s=180) as (t, nodes):
        names = [n.container_name for n in nodes]
        c = t.client(nodes[2], "rw-register", {})
        assert c.invoke("txn", None, [["w", "x", 1]], 5.0)[0] == "ok"
        fail_over(t, nodes)
        assert first_ok(c, [["r", "x", None]]) == ("ok", [["r", "x", 1]], None)
        t.start(nodes[0])
        ok, why = t.wait_healthy(120)
        assert ok, why
        assert rest_get(nodes[0].ip, "/patroni", 2.0)[1]["role"] == "replica"
        c.close()
    assert _left(names) == []
