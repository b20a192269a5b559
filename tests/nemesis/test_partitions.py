"""Acceptance: partitions and packet loss on five real nodes, checked with real packets."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from nemesis import TOPOLOGIES, Nemesis
from nemesis import iptables as ipt
from nemesis.grudge import can_reach

from nemesis_support import PeerTarget, probe


@pytest.fixture(scope="module")
def peers(netns_cluster):
    store, nodes = netns_cluster
    t = PeerTarget(nodes)
    for n in nodes:
        t.start(n)
    yield store, nodes, t
    t.stop_all()


def chains(node) -> list[str]:
    return node.check(["sh", "-c", ipt.list_chains_script()]).text().split()


def tcp_mismatches(nodes, grudge) -> list[str]:
    with ThreadPoolExecutor(len(nodes)) as ex:
        results = dict(zip([n.name for n in nodes], ex.map(lambda n: probe(n, nodes), nodes)))
    bad = []
    for a in results:
        for b, got in results[a].items():
            # A TCP connect needs the SYN accepted by b and the SYN-ACK by a.
            want = can_reach(grudge, a, b) and can_reach(grudge, b, a)
            if want and got != "ok":
                bad.append(f"{a}->{b}: expected connect, got {got}")
            if not want and got != "timeout":
                bad.append(f"{a}->{b}: expected timeout, got {got}")
    return bad


def udp_received(nodes, per_pair: int = 3) -> dict[tuple[str, str], int]:
    """Send datagrams between every ordered pair; count what each receiver logged."""
    token = uuid.uuid4().hex[:10]
    with ThreadPoolExecutor(len(nodes)) as ex:
        list(ex.map(lambda n: probe(n, nodes, "udp", 0.5, f"{token}:{per_pair}"), nodes))
    time.sleep(0.3)
    by_ip = {n.ip: n.name for n in nodes}
    counts: dict[tuple[str, str], int] = {}
    for dst in nodes:
        for line in dst.get_file(f"{dst.data_dir}/udp.log").decode().splitlines():
            src, _, payload = line.partition(" ")
            if payload.startswith(token):
                key = (by_ip[src], dst.name)
                counts[key] = counts.get(key, 0) + 1
    return counts


@pytest.mark.parametrize("topology", list(TOPOLOGIES))
def test_each_topology_cuts_exactly_the_grudge(peers, tmp_path, topology):
    store, nodes, target = peers
    nem = Nemesis(nodes, target, tmp_path / "journal.json", {"seed": 11})
    try:
        applied = nem.apply("start-partition", topology)
        g = applied["grudge"]
        assert set(g) == {n.name for n in nodes}
        assert any(g.values()), "a partition must cut something"
        if topology == "isolate-primary":
            assert g["n2"] == ["n1", "n3", "n4", "n5"]
        assert nem.active() and nem.active()[0].startswith(f"partition {topology}")
        assert tcp_mismatches(nodes, g) == []
        healed = nem.apply("stop-partition", None)
        assert healed["healed"] == topology
        assert tcp_mismatches(nodes, {}) == []
        assert nem.active() == []
    finally:
        nem.heal_all()
    for n in nodes:
        assert chains(n) == []
    assert not (tmp_path / "journal.json").exists()


def test_one_way_partition_drops_one_direction_only(peers, tmp_path):
    store, nodes, target = peers
    nem = Nemesis(nodes, target, tmp_path / "journal.json", {"seed": 5})
    try:
        g = nem.apply("start-partition", {"topology": "halves", "one_way": True})["grudge"]
        cut = [(a, b) for a in g for b in g[a]]
        assert cut, "halves one-way must cut something"
        assert all((b, a) not in cut for a, b in cut), "one-way means never both directions"
        counts = udp_received(nodes)
        for src in g:
            for dst in g:
                if src == dst:
                    continue
                got = counts.get((src, dst), 0)
                if can_reach(g, src, dst):
                    assert got >= 1, f"{src}->{dst} should flow, received {got}"
                else:
                    assert got == 0, f"{src}->{dst} should be dropped, received {got}"
    finally:
        nem.heal_all()
    counts = udp_received(nodes)
    assert all(counts.get((a.name, b.name), 0) >= 1 for a in nodes for b in nodes if a != b)


def test_explicit_grudge_and_heal_all(peers, tmp_path):
    store, nodes, target = peers
    nem = Nemesis(nodes, target, tmp_path / "journal.json", {})
    try:
        applied = nem.apply("start-partition", {"grudge": {"n1": ["n2"], "n3": ["n4", "n5"]}})
        assert applied["grudge"]["n1"] == ["n2"] and applied["grudge"]["n2"] == []
        counts = udp_received(nodes)
        assert counts.get(("n2", "n1"), 0) == 0 and counts.get(("n1", "n2"), 0) >= 1
        assert counts.get(("n4", "n3"), 0) == 0 and counts.get(("n3", "n4"), 0) >= 1
        assert tcp_mismatches(nodes, applied["grudge"]) == []
        done = nem.heal_all()
        assert any("partition" in d for d in done)
        assert tcp_mismatches(nodes, {}) == []
    finally:
        nem.heal_all()


def test_packet_loss_drops_about_p_and_heals(peers, tmp_path):
    store, nodes, target = peers
    nem = Nemesis(nodes, target, tmp_path / "journal.json", {})
    n1, n2 = nodes[0], nodes[1]
    try:
        applied = nem.apply("start-loss", {"probability": 0.5, "nodes": ["n1", "n2"]})
        assert applied["drops"] == {"n1": ["n2"], "n2": ["n1"]}
        assert any(a.startswith("loss 50%") for a in nem.active())
        token = uuid.uuid4().hex[:8]
        probe(n1, [n1, n2], "udp", 0.5, f"{token}:200")
        time.sleep(0.3)
        got = sum(1 for line in n2.get_file(f"{n2.data_dir}/udp.log").decode().splitlines()
                  if line.split(" ", 1)[1].startswith(token))
        # Binomial(200, 0.5): sd ~7; these bounds are > 8 sd away from the mean.
        assert 40 <= got <= 160, got
        nem.apply("stop-loss", None)
        token = uuid.uuid4().hex[:8]
        probe(n1, [n1, n2], "udp", 0.5, f"{token}:200")
        time.sleep(0.3)
        got = sum(1 for line in n2.get_file(f"{n2.data_dir}/udp.log").decode().splitlines()
                  if line.split(" ", 1)[1].startswith(token))
        assert got >= 196, got
    finally:
        nem.heal_all()
    assert all(chains(n) == [] for n in nodes)


def test_partition_rules_stay_out_of_other_chains(peers, tmp_path):
    """Only SPLITBRAIN* chains and one jump from INPUT are added; healing restores the rest."""
    store, nodes, target = peers
    n1 = nodes[0]
    n1.check(["iptables", "-w", "-A", "INPUT", "-p", "tcp", "--dport", "9", "-j", "ACCEPT"])
    try:
        before = n1.check(["iptables", "-w", "-S"]).text()
        nem = Nemesis(nodes, target, tmp_path / "journal.json", {"seed": 1})
        try:
            nem.apply("start-partition", "halves")
            nem.apply("start-partition", "bridge")  # replacing, not stacking
            rules = n1.check(["iptables", "-w", "-S", "INPUT"]).text().splitlines()
            assert sum("SPLITBRAIN" in r for r in rules) <= 1
            assert "-A INPUT -p tcp -m tcp --dport 9 -j ACCEPT" in rules
        finally:
            nem.heal_all()
        assert n1.check(["iptables", "-w", "-S"]).text() == before
    finally:
        n1.check(["iptables", "-w", "-D", "INPUT", "-p", "tcp", "--dport", "9", "-j", "ACCEPT"])


def test_latency_applied_or_refused_clearly(peers, tmp_path):
    from nemesis import UnsupportedFault, validate_nemesis_spec
    from nemesis.netem import host_netem
    store, nodes, target = peers
    ok, why = host_netem()
    nem = Nemesis(nodes, target, tmp_path / "journal.json", {})
    try:
        if ok is False:
            with pytest.raises(UnsupportedFault, match="not supported on this kernel"):
                nem.apply("start-latency", {"delay_ms": 50, "nodes": ["n1"]})
            assert nem.active() == [] and nem.journal.active() == []
            errs = validate_nemesis_spec({"faults": ["latency"]}, None)
            assert len(errs) == 1 and "not supported on this kernel" in errs[0]
        else:
            def connect_time() -> float:
                t = time.monotonic()
                assert probe(nodes[1], nodes[:2])["n1"] == "ok"
                return time.monotonic() - t
            base = min(connect_time() for _ in range(3))
            nem.apply("start-latency", {"delay_ms": 300, "nodes": ["n1"]})
            assert min(connect_time() for _ in range(3)) - base > 0.2
            nem.apply("stop-latency", None)
            assert min(connect_time() for _ in range(3)) - base < 0.15
    finally:
        nem.heal_all()
