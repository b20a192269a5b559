"""The NATS target without a cluster: its config, its options, its registration."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from splitbrain import OptionError
from splitbrain_nats.client import KVClient, RegisterClient
from splitbrain_nats.config import Ports, cluster_name, server_conf
from splitbrain_nats.monitor import meta_leader, stream_view
from splitbrain_nats.target import NatsTarget

IPS = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]


def test_registered_through_the_entry_point() -> None:
    eps = {ep.name: ep for ep in entry_points(group="splitbrain.targets")}
    assert "nats" in eps, "pip install ./examples/plugins/splitbrain-nats registers 'nats'"
    assert eps["nats"].load() is NatsTarget


def test_config_routes_to_every_node_in_one_named_cluster() -> None:
    conf = server_conf(server_name="n2", ip=IPS[1], peer_ips=IPS, ports=Ports(4222, 6222, 8222),
                       store_dir="/d/n2/nats/jetstream", max_file_store_mib=512)
    assert 'server_name: "n2"' in conf
    assert 'listen: "10.0.0.2:4222"' in conf and 'http: "10.0.0.2:8222"' in conf
    assert 'store_dir: "/d/n2/nats/jetstream"' in conf and "max_file_store: 512MB" in conf
    for ip in IPS:
        assert f'"nats-route://{ip}:6222"' in conf
    assert f'name: "{cluster_name(IPS)}"' in conf


def test_two_clusters_never_share_a_name() -> None:
    assert cluster_name(IPS) != cluster_name(["10.0.1.1", "10.0.1.2", "10.0.1.3"])


@pytest.mark.parametrize("option,value", [("replicas", 7), ("replicas", "3"), ("read", "any"),
                                          ("primary", "raft"), ("client_port", 0),
                                          ("bucket", "a.b"), ("nonsense", 1)])
def test_bad_options_are_refused_naming_the_option(option: str, value: object) -> None:
    with pytest.raises(OptionError) as e:
        NatsTarget({option: value})
    assert option in str(e.value) or option in (e.value.path or ())


def test_clock_faults_are_refused_with_the_reason() -> None:
    ok, why = NatsTarget().supports("clock")
    assert not ok and "vDSO" in why
    assert NatsTarget().supports("kill") == (True, "")
    assert NatsTarget().supports("pause") == (True, "")


def test_monitor_views() -> None:
    doc = {"meta_cluster": {"leader": "n1"},
           "account_details": [{"stream_detail": [
               {"name": "KV_b", "cluster": {"leader": "n3", "replicas": [
                   {"name": "n1", "current": True}, {"name": "n2", "current": False}]}}]}]}
    assert meta_leader(doc) == "n1"
    assert stream_view(doc, "KV_b").leader == "n3"
    assert (stream_view(doc, "KV_b").replicas, stream_view(doc, "KV_b").current) == (2, 1)
    assert stream_view(doc, "KV_other") is None
    assert meta_leader({}) == ""


def test_an_unreachable_server_is_a_definite_failure() -> None:
    # Port 1 on loopback: nothing listens, the connect is refused, nothing was sent.
    c = RegisterClient("127.0.0.1", 1, "b", node_name="n1")
    try:
        for f, v in (("write", 1), ("cas", [1, 2]), ("read", None)):
            t, _, err = c.invoke(f, "r", v, timeout=1.0)
            assert t == "fail" and err.startswith("not connected"), (f, t, err)
    finally:
        c.close()


def test_an_invalid_key_is_refused_before_sending() -> None:
    c = KVClient("127.0.0.1", 1, "b")
    try:
        with pytest.raises(Exception, match="not a valid NATS KV key"):
            c._key("a b")
    finally:
        c.close()
