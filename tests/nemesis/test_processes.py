"""Acceptance: kill, restart (still partitioned, data kept), pause/resume of whole process groups."""

from __future__ import annotations

import pytest

from nemesis import Nemesis, NemesisError
from nemesis import iptables as ipt

from nemesis_support import PeerTarget, node_procs, probe
from test_partitions import tcp_mismatches

# The server runs as a child of a shell that stays around, like a database
# started from a wrapper script: a kill or pause of one pid would miss it.
SHELL_WRAPPER = ["sh", "-c", '"$@"; echo server exited', "sh"]
RUNUSER_WRAPPER = ["runuser", "-u", "nobody", "--"]


def server_procs(node) -> list[tuple[int, str, str]]:
    return node_procs(node, f"{node.data_dir}/peer.py")


def request(src, dst, timeout=1.0) -> str:
    return probe(src, [src, dst], "request", timeout)[dst.name]


@pytest.fixture()
def shell_target(netns_cluster):
    store, nodes = netns_cluster
    for n in nodes:
        n.exec(["rm", "-f", f"{n.data_dir}/boots"])
    t = PeerTarget(nodes, wrapper=SHELL_WRAPPER, udp=False)
    for n in nodes:
        t.start(n)
    yield nodes, t
    t.stop_all()


@pytest.fixture()
def runuser_target(netns_cluster):
    store, nodes = netns_cluster
    t = PeerTarget(nodes, wrapper=RUNUSER_WRAPPER, udp=False)
    for n in nodes:
        t.start(n)
    yield nodes, t
    t.stop_all()


def test_kill_leaves_no_process_and_restart_keeps_data_and_partition(shell_target, tmp_path):
    nodes, target = shell_target
    n1, n3 = nodes[0], nodes[2]
    assert len(server_procs(n3)) == 2  # the wrapper shell and the server
    assert request(n1, n3) == "pong 1"
    nem = Nemesis(nodes, target, tmp_path / "journal.json", {"seed": 3})
    try:
        g = nem.apply("start-partition", {"grudge": {"n3": ["n4", "n5"], "n4": ["n3"],
                                                     "n5": ["n3"]}})["grudge"]
        killed = nem.apply("kill", "n3")
        assert killed["nodes"] == ["n3"] and killed["pids"]["n3"]
        assert "still_running" not in killed
        assert server_procs(n3) == [], "kill must leave no process of the target"
        assert request(n1, n3).startswith("error"), "nothing listens after the kill"
        assert "killed n3" in nem.active()
        # A container restart recreates the namespace without our rules; start
        # must put the node's share of the grudge back before serving.
        n3.check(["sh", "-c", ipt.remove_all_script()])
        started = nem.apply("start", None)
        assert started["nodes"] == ["n3"]
        assert started["reapplied"]["n3"] == [ipt.PARTITION_CHAIN]
        assert len(server_procs(n3)) == 2
        assert request(n1, n3) == "pong 2", "restart keeps the node's data (boot count)"
        assert tcp_mismatches(nodes, g) == [], "restarted node is still partitioned"
    finally:
        nem.heal_all()
    assert tcp_mismatches(nodes, {}) == []


def test_pause_freezes_whole_group_behind_runuser_and_resume_restores(runuser_target, tmp_path):
    nodes, target = runuser_target
    n1, n4 = nodes[0], nodes[3]
    procs = server_procs(n4)
    assert len(procs) == 2, procs  # runuser and the python server it forked
    assert request(n1, n4).startswith("pong")
    nem = Nemesis(nodes, target, tmp_path / "journal.json", {})
    try:
        paused = nem.apply("pause", "n4")
        assert paused["nodes"] == ["n4"] and paused["pgids"]["n4"]
        states = {pid: st for pid, st, _ in server_procs(n4)}
        assert set(states.values()) == {"T"}, states
        assert request(n1, n4) == "timeout"
        assert "paused n4" in nem.active()
        resumed = nem.apply("resume", None)
        assert resumed["nodes"] == ["n4"]
        assert all(st != "T" for _, st, _ in server_procs(n4))
        assert request(n1, n4).startswith("pong")
    finally:
        nem.heal_all()


def test_heal_all_resumes_and_restarts(shell_target, tmp_path):
    nodes, target = shell_target
    nem = Nemesis(nodes, target, tmp_path / "journal.json", {"seed": 9})
    try:
        paused = nem.apply("pause", "minority")["nodes"]
        assert len(paused) == 2
        killed = nem.apply("kill", "primaries")["nodes"]
        assert killed == ["n2"]
        assert sorted(a.split()[1] for a in nem.active()) == sorted(set(paused) | {"n2"})
    finally:
        done = nem.heal_all()
    assert nem.active() == []
    assert any(d.startswith("restarted") for d in done), done
    for n in nodes:
        procs = server_procs(n)
        assert len(procs) == 2 and all(st != "T" for _, st, _ in procs), (n.name, procs)
        assert request(nodes[0] if n is not nodes[0] else nodes[1], n).startswith("pong")
    assert not (tmp_path / "journal.json").exists()


def test_selectors(shell_target, tmp_path):
    nodes, target = shell_target
    nem = Nemesis(nodes, target, tmp_path / "journal.json", {"seed": 2})
    try:
        assert len(nem.apply("pause", "majority")["nodes"]) == 3
        nem.apply("resume", None)
        assert nem.apply("pause", "all")["nodes"] == [n.name for n in nodes]
        nem.apply("resume", None)
        with pytest.raises(NemesisError, match="unknown node selector"):
            nem.apply("pause", "most")
        with pytest.raises(NemesisError, match="unknown node"):
            nem.apply("kill", ["n9"])
    finally:
        nem.heal_all()
