"""Steps the Patroni target tests share on every provider: kill the primary and wait for
Patroni to promote another node; retry a transaction until the client has found it."""

from __future__ import annotations

from typing import Any

from cluster_support import until


def fail_over(t: Any, nodes: list) -> Any:
    """Kill the first node (the bootstrap primary, patroni with it); the node Patroni promotes."""
    assert t.primaries(nodes) == [nodes[0]], [n.name for n in t.primaries(nodes)]
    t.kill(nodes[0])
    assert t.fault_daemons(nodes[0]) == []
    new = until(lambda: [n for n in t.primaries(nodes) if n is not nodes[0]], 60)
    assert len(new) == 1, "no failover within 60 s"
    return new[0]


def first_ok(client: Any, txn: list, within: float = 30) -> tuple:
    """The first ``ok`` of ``txn`` within ``within`` seconds: the client's connection died
    with the old primary, and it finds the new one through Patroni's REST API."""
    got = until(lambda: (lambda r: r if r[0] == "ok" else None)(
        client.invoke("txn", None, txn, 5.0)), within)
    assert got, f"no ok for {txn} within {within:g} s"
    return got
