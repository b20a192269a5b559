"""The Patroni topology without servers: option rules and the configuration each node gets."""

from types import SimpleNamespace

import pytest

import targets
from targets.base import OptionError


def _nodes(n):
    return [SimpleNamespace(name=f"n{i}", ip=f"10.9.0.{i}", data_dir=f"/d/n{i}")
            for i in range(1, n + 1)]


def test_patroni_options_are_checked_with_the_field_named():
    T = targets.get("postgresql")
    for bad, field in [({"topology": "patroni", "ttl": 5, "retry_timeout": 3}, "ttl"),
                       ({"synchronous_mode": True}, "synchronous_mode"),
                       ({"topology": "patroni", "read_from": "local"}, "topology"),
                       ({"topology": "patroni", "synchronous_standby_names": "ANY 1 (*)"},
                        "topology"),
                       ({"topology": "patroni", "patroni_faults": "yes"}, "patroni_faults")]:
        with pytest.raises(OptionError, match=field):
            T(bad)
    # loop_wait + 2 x retry_timeout == ttl is Patroni's limit, and allowed
    assert T({"topology": "patroni", "ttl": 9, "loop_wait": 1, "retry_timeout": 4})


def test_each_node_gets_its_own_addresses_files_and_the_shared_dcs():
    t = targets.get("postgresql")({"topology": "patroni", "synchronous_mode": True,
                                   "fsync": False})
    t.nodes = _nodes(3)
    confs = [t._patroni.config(n) for n in t.nodes]
    for n, c in zip(t.nodes, confs):
        assert c["name"] == n.name and c["scope"] == "splitbrain"
        assert c["restapi"]["listen"] == f"{n.ip}:8008"
        assert c["postgresql"]["listen"] == f"{n.ip}:5432"
        assert c["postgresql"]["data_dir"] == f"{n.data_dir}/postgresql/pgdata"
        assert c["postgresql"]["bin_dir"] == "/usr/lib/postgresql/15/bin"
        # one password file per node: netns nodes share a filesystem
        assert c["postgresql"]["pgpass"].startswith(n.data_dir + "/")
        assert c["etcd3"]["hosts"] == ["10.9.0.1:2379", "10.9.0.2:2379", "10.9.0.3:2379"]
        dcs = c["bootstrap"]["dcs"]
        assert dcs["synchronous_mode"] is True and dcs["ttl"] == 10
        assert dcs["postgresql"]["parameters"]["fsync"] == "off"
        assert dcs["postgresql"]["use_pg_rewind"] is True


def test_patroni_promises_what_the_isolation_level_promises():
    T = targets.get("postgresql")
    assert T({"topology": "patroni"}).consistency_models() == ["strict-serializable"]
    assert T({"topology": "patroni", "isolation": "repeatable-read"}).consistency_models() \
        == ["snapshot-isolation"]


def test_clock_faults_are_refused_on_patroni_with_the_reason():
    T = targets.get("postgresql")
    ok, why = T({"topology": "patroni"}).supports("clock-bump")
    assert not ok and "patroni" in why
    assert T({"topology": "patroni"}).supports("kill") == (True, "")
    assert T({}).supports("clock")[0]
