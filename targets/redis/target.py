"""redis (Debian's ``redis-server`` + ``redis-sentinel``): one primary, replicas
on the other nodes, and a sentinel on every node that fails the primary over
when a quorum of sentinels sees it down."""

from __future__ import annotations

import shlex
from collections import Counter
from typing import Any, Mapping, Sequence

from core.options import Option, int_at_least, one_of, validate_options
from core.nodes import Daemon, Node

from ..base import KillsDaemons, LogPattern, Target, TargetError
from .client import CLIENTS, RedisClient, ask_sentinel
from .config import redis_conf, sentinel_conf
from .conn import Conn, Indefinite, NotSent, Refused

# Seen on this machine, and a known libfaketime issue: jemalloc (which Debian's
# redis-server links) calls clock_gettime while libfaketime is still initialising.
CLOCK_REFUSAL = ("Debian's redis-server links jemalloc and hangs at startup under "
                 "libfaketime (\"Unexpected recursive calls to clock_gettime()\", a known "
                 "libfaketime/jemalloc interaction), so clock faults cannot be applied to "
                 "redis; drop 'clock' from the nemesis faults for redis")

APPENDFSYNC = ("always", "everysec", "no", "off")


def _plain_name(v: Any) -> str | None:
    return None if isinstance(v, str) and v.isidentifier() else \
        "a plain name (letters, digits, underscore)"


class RedisTarget(KillsDaemons, Target):
    name = "redis"
    description = "redis 7 primary/replicas with Sentinel failover (Debian redis-server)"
    packages = ("redis-server", "redis-sentinel")
    workloads = tuple(CLIENTS)
    refused_faults = {"clock": CLOCK_REFUSAL}
    log_patterns = (
        LogPattern("redis-bug-report", r"=== REDIS BUG REPORT START|Guru Meditation",
                   "redis crashed with a bug report"),
        LogPattern("redis-aof-corrupt", r"Bad file format reading the append only file|"
                   r"AOF .*(?:is not valid|corrupted)", "the append-only file was unreadable"),
        LogPattern("redis-fatal-load", r"Fatal error loading the DB",
                   "redis could not load its data on start"),
        LogPattern("libfaketime-recursion", r"Unexpected recursive calls to clock_gettime",
                   "libfaketime hung redis (clock faults are refused for redis)"),
        # Only the sentinel that led the failover logs +failover-end: one line per failover.
        LogPattern("sentinel-failover", r"\+failover-end master ",
                   "the sentinels failed the primary over", invalid=False),
    )
    OPTIONS = {
        "port": Option(6379, int_at_least(1)),
        "sentinel_port": Option(26379, int_at_least(1)),
        "master_name": Option("splitbrain", _plain_name),
        "quorum": Option(2, int_at_least(1)),
        "down_after_ms": Option(2000, int_at_least(100)),
        "failover_timeout_ms": Option(6000, int_at_least(100)),
        # WAIT n timeout after every write; 0 = do not wait (plain async replication).
        "wait_replicas": Option(0, int_at_least(0)),
        "wait_timeout_ms": Option(1000, int_at_least(0)),
        "min_replicas_to_write": Option(0, int_at_least(0)),
        "appendfsync": Option("everysec", one_of(*APPENDFSYNC)),
        # kill and pause hit redis-server only: the sentinels are the failure
        # detector under test, and a node's crash in Jepsen's sense is the
        # store's crash.  true: the node's sentinel dies and freezes with it.
        "sentinel_faults": Option(False),
    }

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self._started: set[str] = set()

    # -- paths -----------------------------------------------------------------
    def _dir(self, node: Node) -> str:
        return self.data_path(node, "redis")

    def durable_dir(self, node: Node) -> str:
        """redis' ``dir``: the append-only file, RDB snapshots and both configs (sentinel
        rewrites its own with what it learned)."""
        return self._dir(node)

    def file_classes(self, node: Node) -> dict[str, list[str]]:
        return {"wal": ["appendonlydir/*.aof", "appendonly.aof"], "snapshot": ["dump.rdb"],
                "config": ["sentinel.conf"]}

    def _conf(self, node: Node) -> str:
        return f"{self._dir(node)}/redis.conf"

    def _sconf(self, node: Node) -> str:
        return f"{self._dir(node)}/sentinel.conf"

    def _redis_addr(self, node: Node) -> tuple[str, int]:
        return node.ip, self.options["port"]

    def _sentinel_addr(self, node: Node) -> tuple[str, int]:
        return node.ip, self.options["sentinel_port"]

    # -- lifecycle ---------------------------------------------------------------
    def setup(self, nodes: Sequence[Node], *, health_timeout: float = 30.0) -> None:
        if len(nodes) < 3:
            raise TargetError(f"redis with sentinels needs at least 3 nodes (got {len(nodes)})")
        if self.options["quorum"] > len(nodes):
            raise TargetError(f"target.options.quorum {self.options['quorum']} exceeds the "
                              f"{len(nodes)} sentinels")
        super().setup(nodes, health_timeout=health_timeout)

    def install(self, node: Node) -> None:
        bins = ("redis-server", "redis-sentinel")
        self.ensure_installed(node, " && ".join(f"command -v {shlex.quote(b)}" for b in bins),
                              f"{' or '.join(bins)} not found")

    def configure(self, node: Node) -> None:
        node.check(["mkdir", "-p", self._dir(node)], timeout=10)
        first = self._redis_addr(self.nodes[0])
        replica_of = None if node is self.nodes[0] else first
        node.put_file(self._conf(node), redis_conf(node.ip, self._dir(node), self.options,
                                                   replica_of).encode())
        node.put_file(self._sconf(node), sentinel_conf(node.ip, self._dir(node), self.options,
                                                       first).encode())

    def start(self, node: Node) -> None:
        if not self.nodes:
            raise TargetError("redis: start before setup (no group membership known)")
        running = {d.name for d in self.daemons(node)}
        if {"redis-server", "redis-sentinel"} <= running:
            return
        env = self.daemon_env(node)
        if "redis-server" not in running:
            argv = ["redis-server", self._conf(node)]
            if node.name in self._started:
                # A restart rejoins as the sentinels decide: the primary they name now,
                # never the one this node was first configured to follow.
                cur = self.current_primary(exclude=node)
                if cur is not None and cur != self._redis_addr(node):
                    argv += ["--replicaof", cur[0], str(cur[1])]
            self.track(node, node.start_daemon("redis-server", argv, env=env,
                                                log_path=self.data_path(node, "redis.log")))
        if "redis-sentinel" not in running:
            self.track(node, node.start_daemon(
                "redis-sentinel", ["redis-sentinel", self._sconf(node)], env=env,
                log_path=self.data_path(node, "sentinel.log")))
        self._started.add(node.name)
        # Forget handles of daemons that died, so daemons() stays the live set.
        self._daemons[node.name] = self.daemons(node)

    def fault_daemons(self, node: Node) -> list[Daemon]:
        if self.options["sentinel_faults"]:
            return self.daemons(node)
        return [d for d in self.daemons(node) if d.name == "redis-server"]

    # -- sentinel views ----------------------------------------------------------
    def sentinel_views(self, nodes: Sequence[Node] | None = None,
                       timeout: float = 0.5) -> dict[str, tuple[str, int] | None]:
        """node name -> the primary its sentinel names (None when it does not answer)."""
        out: dict[str, tuple[str, int] | None] = {}
        for n in (self.nodes if nodes is None else nodes):
            c = Conn(*self._sentinel_addr(n))
            try:
                out[n.name] = ask_sentinel(c, self.options["master_name"], timeout)
            except (NotSent, Indefinite, Refused):
                out[n.name] = None
            finally:
                c.close()
        return out

    def current_primary(self, exclude: Node | None = None) -> tuple[str, int] | None:
        """The primary most answering sentinels name (ties: none)."""
        others = [n for n in self.nodes if n is not exclude]
        votes = Counter(v for v in self.sentinel_views(others).values() if v is not None)
        if not votes:
            return None
        top = votes.most_common(2)
        if len(top) > 1 and top[0][1] == top[1][1]:
            return None
        return top[0][0]

    # -- health ----------------------------------------------------------------
    def _role(self, node: Node, timeout: float) -> list[Any]:
        c = Conn(*self._redis_addr(node))
        try:
            return c.call("ROLE", timeout=timeout)
        finally:
            c.close()

    def healthy(self, node: Node, timeout: float = 1.0) -> tuple[bool, str]:
        """Both daemons up; the node's sentinel names a primary and knows the other
        sentinels; the node is that primary, or a replica linked to it."""
        names = {d.name for d in self.daemons(node)}
        for d in ("redis-server", "redis-sentinel"):
            if d not in names:
                return False, f"{d} is not running"
        s = Conn(*self._sentinel_addr(node))
        try:
            m = s.call("SENTINEL", "master", self.options["master_name"], timeout=timeout)
        except (NotSent, Indefinite, Refused) as e:
            return False, f"sentinel: {e}"
        finally:
            s.close()
        info = _pairs(m)
        flags = info.get("flags", "")
        if "down" in flags:
            return False, f"sentinel sees the primary as {flags}"
        others = int(info.get("num-other-sentinels", "0"))
        if others < len(self.nodes) - 1:
            return False, f"sentinel knows {others} of {len(self.nodes) - 1} other sentinels"
        # A replica the sentinels never saw in the primary's INFO is never reconfigured
        # after a failover, so it must be known before the group counts as healthy.
        replicas = int(info.get("num-slaves", "0"))
        if replicas < len(self.nodes) - 1:
            return False, f"sentinel knows {replicas} of {len(self.nodes) - 1} replicas"
        primary = (info.get("ip", ""), int(info.get("port", "0")))
        try:
            role = self._role(node, timeout)
        except (NotSent, Indefinite, Refused) as e:
            return False, f"redis-server: {e}"
        kind = _s(role[0]) if role else "?"
        if primary == self._redis_addr(node):
            return (True, "") if kind == "master" else (False, f"sentinel names it primary, it is {kind}")
        if kind != "slave":
            return False, f"is {kind}, but the sentinel names {primary[0]} primary"
        mhost, mport, state = _s(role[1]), int(role[2]), _s(role[3])
        if (mhost, mport) != primary:
            return False, f"replicates {mhost}:{mport}, the sentinel names {primary[0]}:{primary[1]}"
        if state != "connected":
            return False, f"replication link {state}"
        return True, ""

    def cluster_healthy(self, timeout: float = 1.0) -> tuple[bool, str]:
        ok, why = super().cluster_healthy(timeout)
        if not ok:
            return ok, why
        views = set(self.sentinel_views(timeout=timeout).values())
        if len(views) != 1 or None in views:
            return False, f"sentinels disagree on the primary: {sorted(map(str, views))}"
        return True, ""

    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """The node most reachable sentinels name primary; else the node(s) whose
        redis-server says it is a master."""
        votes = Counter(v for v in self.sentinel_views(nodes).values() if v is not None)
        by_addr = {self._redis_addr(n): n for n in nodes}
        if votes:
            addr, _ = votes.most_common(1)[0]
            if addr in by_addr:
                return [by_addr[addr]]
        out = []
        for n in nodes:
            try:
                role = self._role(n, 0.5)
            except (NotSent, Indefinite, Refused):
                continue
            if role and _s(role[0]) == "master":
                out.append(n)
        return out

    # -- clients ---------------------------------------------------------------
    def client(self, node: Node, workload_name: str, options: Mapping[str, Any]) -> RedisClient:
        self.check_workload(workload_name)
        o = dict(self.options)
        for k in ("wait_replicas", "wait_timeout_ms"):
            if k in (options or {}):
                o[k] = validate_options(f"target {self.name}", {k: self.OPTIONS[k]},
                                        {k: options[k]})[k]
        # The node's own sentinel first: a client partitioned with an old primary
        # follows that side's view, as an application next to it would.
        order = [node] + [n for n in self.nodes if n is not node]
        return CLIENTS[workload_name]([self._sentinel_addr(n) for n in order], o["master_name"],
                                      node_name=node.name, wait_replicas=o["wait_replicas"],
                                      wait_timeout_ms=o["wait_timeout_ms"])


def _s(b: Any) -> str:
    return b.decode() if isinstance(b, (bytes, bytearray)) else str(b)


def _pairs(reply: Any) -> dict[str, str]:
    """A flat [k1, v1, k2, v2, …] reply as a dict of strings."""
    if isinstance(reply, dict):
        return {_s(k): _s(v) for k, v in reply.items()}
    items = list(reply or [])
    return {_s(items[i]): _s(items[i + 1]) for i in range(0, len(items) - 1, 2)}
