"""nats-server's configuration file for one node of a JetStream cluster."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Ports:
    client: int
    cluster: int
    monitor: int


def cluster_name(peer_ips: Sequence[str]) -> str:
    """Distinct per test: two clusters on one machine must never route to each other."""
    return "splitbrain-" + hashlib.sha1(",".join(peer_ips).encode()).hexdigest()[:12]


def server_conf(*, server_name: str, ip: str, peer_ips: Sequence[str], ports: Ports,
                store_dir: str, max_file_store_mib: int) -> str:
    """The server's config (nats-server's own format; JSON strings are valid in it).

    JetStream clustering needs a unique ``server_name`` and a ``cluster.name``; the
    routes list every node, the server itself included (nats-server skips its own)."""
    q = json.dumps
    routes = ", ".join(q(f"nats-route://{p}:{ports.cluster}") for p in peer_ips)
    return (
        f"server_name: {q(server_name)}\n"
        f"listen: {q(f'{ip}:{ports.client}')}\n"
        f"http: {q(f'{ip}:{ports.monitor}')}\n"
        "jetstream {\n"
        f"  store_dir: {q(store_dir)}\n"
        # Small on purpose: a test bucket holds a few MiB, and nats-server reserves
        # the whole limit against the disk it finds at start.
        "  max_memory_store: 64MB\n"
        f"  max_file_store: {max_file_store_mib}MB\n"
        "}\n"
        "cluster {\n"
        f"  name: {q(cluster_name(peer_ips))}\n"
        f"  listen: {q(f'{ip}:{ports.cluster}')}\n"
        f"  routes: [{routes}]\n"
        "}\n"
    )
