"""Fast checks of the target interface: lookup, options, fault refusals, log patterns."""


import pytest

import targets
from targets.base import OptionError
from targets.etcd.gateway import prefix_end


def test_get_lists_names_on_unknown():
    with pytest.raises(targets.UnknownTarget, match=r"no target named 'nope' \(available: .*etcd"):
        targets.get("nope")


def test_etcd_defaults_and_option_errors():
    t = targets.get("etcd")({})
    assert t.options["read_mode"] == "linearizable"
    assert t.packages == ("etcd-server", "etcd-client")
    with pytest.raises(OptionError, match="read_mode"):
        targets.get("etcd")({"read_mode": "stale"})
    with pytest.raises(OptionError, match="colour: unknown option for target etcd.*allowed:"):
        targets.get("etcd")({"colour": "red"})
    with pytest.raises(OptionError, match="client_port"):
        targets.get("etcd")({"client_port": -1})
    with pytest.raises(OptionError, match="election_ms"):
        targets.get("etcd")({"heartbeat_ms": 500, "election_ms": 1000})


def test_etcd_refuses_clock_faults_with_the_reason():
    t = targets.get("etcd")({})
    for fault in ("clock", "clock-bump", "clock-strobe"):
        ok, why = t.supports(fault)
        assert not ok
        assert "vDSO" in why and "libfaketime" in why and "Go" in why
    for fault in ("partition", "kill", "pause", "packet-loss", "partition-majorities-ring"):
        assert t.supports(fault) == (True, "")


def test_etcd_log_patterns_match_panics_not_warnings():
    t = targets.get("etcd")({})
    pats = [p.compiled() for p in t.log_patterns if p.invalid]
    events = {p.name: p.compiled() for p in t.log_patterns if not p.invalid}
    assert events["etcd-election"].search(
        '{"level":"info","caller":"raft/raft.go:771","msg":"35bdbbe79c76efbd became leader at '
        'term 2"}')
    assert not events["etcd-election"].search('"msg":"raft.node: f290d147add846fa elected '
                                              'leader 35bdbbe79c76efbd at term 2"')
    bad = ["panic: runtime error: index out of range",
           '{"level":"fatal","ts":1,"msg":"failed to start"}',
           "fatal error: concurrent map writes"]
    good = ['{"level":"warn","msg":"failed to reach the peer URL"}',
            '{"level":"info","msg":"raft.node: 8e9e05c52164694d elected leader"}']
    for line in bad:
        assert any(p.search(line) for p in pats), line
    for line in good:
        assert not any(p.search(line) for p in pats), line


def test_unknown_workload_is_refused():
    t = targets.get("etcd")({})
    with pytest.raises(OptionError, match="no client for workload 'queue'"):
        t.check_workload("queue")


def test_prefix_end():
    assert prefix_end(b"/s/a/") == b"/s/a0"
    assert prefix_end(b"a\xff") == b"b"
    assert prefix_end(b"\xff") == b"\x00"
