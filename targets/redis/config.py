"""redis.conf and sentinel.conf for one node.  Both files live in the node's data
directory and stay writable: sentinel rewrites its own file and the servers'
(CONFIG REWRITE) as it reconfigures the group, and a restarted daemon must come
back as the sentinels last decided, not as this module first wrote."""

from __future__ import annotations

from typing import Any, Mapping


def redis_conf(ip: str, data_dir: str, options: Mapping[str, Any],
               replica_of: tuple[str, int] | None) -> str:
    o = options
    lines = [
        "bind 0.0.0.0",
        f"port {o['port']}",
        "protected-mode no",
        "daemonize no",
        'logfile ""',
        f"dir {data_dir}",
        # Announce the node's own address: sentinel hands it to clients after a failover.
        f"replica-announce-ip {ip}",
        f"replica-announce-port {o['port']}",
        "replica-read-only yes",
        f"appendonly {'yes' if o['appendfsync'] != 'off' else 'no'}",
        'save ""',
        f"min-replicas-to-write {o['min_replicas_to_write']}",
        "min-replicas-max-lag 10",
        "repl-timeout 5",
        "repl-ping-replica-period 1",
    ]
    if o["appendfsync"] != "off":
        lines.append(f"appendfsync {o['appendfsync']}")
    if replica_of is not None:
        lines.append(f"replicaof {replica_of[0]} {replica_of[1]}")
    return "\n".join(lines) + "\n"


def sentinel_conf(ip: str, data_dir: str, options: Mapping[str, Any],
                  primary: tuple[str, int]) -> str:
    o = options
    name = o["master_name"]
    return "\n".join([
        "bind 0.0.0.0",
        f"port {o['sentinel_port']}",
        "protected-mode no",
        "daemonize no",
        'logfile ""',
        f"dir {data_dir}",
        f"sentinel announce-ip {ip}",
        f"sentinel announce-port {o['sentinel_port']}",
        "sentinel resolve-hostnames no",
        f"sentinel monitor {name} {primary[0]} {primary[1]} {o['quorum']}",
        f"sentinel down-after-milliseconds {name} {o['down_after_ms']}",
        f"sentinel failover-timeout {name} {o['failover_timeout_ms']}",
        f"sentinel parallel-syncs {name} 1",
    ]) + "\n"
