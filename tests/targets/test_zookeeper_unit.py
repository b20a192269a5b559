"""Fast checks of the zookeeper target: options, supported faults, config and JVM
command line, log patterns, the clock environment it passes to the JVM."""

import pytest

import targets
from targets.base import OptionError
from targets.zookeeper.config import java_argv, zoo_cfg


def test_registered_with_defaults():
    t = targets.get("zookeeper")({})
    assert t.options["reads"] == "sync"
    assert "libslf4j-java" in t.packages and "zookeeperd" in t.packages


@pytest.mark.parametrize("opts,field", [
    ({"reads": "stale"}, "reads"), ({"tick_ms": 0}, "tick_ms"),
    ({"session_timeout_ms": 100}, "session_timeout_ms"), ({"classpath": "x.jar"}, "classpath"),
    ({"colour": 1}, "colour")])
def test_bad_options_name_the_option(opts, field):
    with pytest.raises(OptionError, match=field):
        targets.get("zookeeper")(opts)


def test_clock_faults_supported():
    t = targets.get("zookeeper")({})
    for fault in ("clock", "clock-bump", "clock-strobe", "partition", "kill", "pause"):
        assert t.supports(fault) == (True, "")


def test_config_and_command_line():
    o = targets.get("zookeeper")({}).options
    cfg = zoo_cfg("/d", [(1, "10.0.0.1"), (2, "10.0.0.2"), (3, "10.0.0.3")], o)
    assert "server.2=10.0.0.2:2888:3888" in cfg
    assert "4lw.commands.whitelist=" in cfg and "srvr" in cfg
    assert "dataDir=/d" in cfg and "tickTime=500" in cfg
    argv = java_argv("/d/zoo.cfg", "/d", o)
    cp = argv[argv.index("-cp") + 1]
    assert "slf4j-simple" in cp and "zookeeper.jar" in cp
    assert argv[-2:] == ["org.apache.zookeeper.server.quorum.QuorumPeerMain", "/d/zoo.cfg"]


def test_clock_env_keeps_the_jvm_runnable():
    t = targets.get("zookeeper")({})

    class N:
        name, ip, data_dir = "n1", "10.0.0.1", "/tmp/x"
    t.env_hook = lambda node: {"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                               "FAKETIME_TIMESTAMP_FILE": "/tmp/x/f", "FAKETIME_NO_CACHE": "1",
                               "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    env = t.daemon_env(N())
    assert env["LD_PRELOAD"].endswith("libfaketime.so.1") and env["FAKETIME_NO_CACHE"] == "1"
    assert "FAKETIME_DONT_FAKE_MONOTONIC" not in env
    t.env_hook = lambda node: {"FOO": "1"}
    assert t.daemon_env(N()) == {"FOO": "1"}


def test_log_patterns():
    every = targets.get("zookeeper")({}).log_patterns
    pats = [p.compiled() for p in every if p.invalid]
    events = {p.name: p.compiled() for p in every if not p.invalid}
    assert events["zk-election"].search(
        "[QuorumPeer[myid=2](plain=0.0.0.0:2181)(secure=disabled)] INFO org.apache.zookeeper."
        "server.quorum.Leader - LEADING - LEADER ELECTION TOOK - 22 MS")
    assert not events["zk-election"].search(
        "INFO org.apache.zookeeper.server.quorum.Learner - FOLLOWING - LEADER ELECTION TOOK - 5 MS")
    bad = ["java.lang.OutOfMemoryError: Java heap space",
           "[QuorumPeer] ERROR org.apache.zookeeper.server.quorum.QuorumPeer - Unable to load "
           "database on disk",
           "[main] ERROR org.apache.zookeeper.server.quorum.QuorumPeerMain - Unexpected "
           "exception, exiting abnormally",
           "2026-11-23T13:56:31.196+0000 [CommitProcessor:1] WARN org.apache.zookeeper.server."
           "DataTree - Message:Digests are not matching. Value is Zxid. Value:4294968052"]
    # Seen in partition runs of 3.8.0; the member recovers, so these must not judge a run.
    good = ["[QuorumPeer] WARN org.apache.zookeeper.server.quorum.Learner - Exception when "
            "following the leader", "INFO ... Peer state changed: looking",
            "[SyncThread:1] ERROR org.apache.zookeeper.server.ZooKeeperCriticalThread - Severe "
            "unrecoverable error, from thread : SyncThread:1",
            "ERROR org.apache.zookeeper.server.quorum.LearnerHandler - Unexpected exception in "
            "LearnerHandler: ",
            # replaying the txn log over a fuzzy snapshot at start-up (after a kill)
            "2026-11-23T13:56:31.196+0000 [main] WARN org.apache.zookeeper.server.DataTree - "
            "Message:Digests are not matching. Value is Zxid. Value:4294968052"]
    for line in bad:
        assert any(p.search(line) for p in pats), line
    for line in good:
        assert not any(p.search(line) for p in pats), line
