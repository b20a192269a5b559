"""NATS JetStream key-value (Debian's nats-server) as a splitbrain target.

Every node runs one nats-server with JetStream on; the servers route to each
other as one cluster, and the test's bucket is a KV bucket replicated on
``replicas`` of them (all, by default).
"""

from __future__ import annotations

import shlex
from collections import Counter
from typing import Any, Mapping, Sequence

import nats

from splitbrain import (Client, KillsDaemons, LogPattern, Node, Option, Target, TargetError,
                        a_string, one_of, positive_int)

from .client import CLIENTS
from .config import Ports, server_conf
from .loop import LoopThread
from .monitor import MonitorError, jsz, meta_leader, stream_view

READS = ("leader", "direct")
PRIMARIES = ("stream", "meta")

# libfaketime interposes libc's clock_gettime; Go binaries read the clock through the
# vDSO directly, so a preload never reaches nats-server.
CLOCK_REFUSAL = ("nats-server is a Go binary: Go reads the clock through the vDSO, not libc, "
                 "so libfaketime has no effect on it; drop 'clock' from the nemesis faults")


def _port(v: Any) -> str | None:
    return None if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 65536 \
        else "a TCP port (1-65535)"


def _bucket(v: Any) -> str | None:
    # nats-py's bucket rule (VALID_BUCKET_RE)
    ok = isinstance(v, str) and v and all(c.isalnum() or c in "_-" for c in v)
    return None if ok else "a bucket name of letters, digits, '_' and '-'"


class NatsTarget(KillsDaemons, Target):
    name = "nats"
    description = "NATS JetStream key-value (Debian nats-server), nats-py client"
    packages = ("nats-server",)
    workloads = tuple(CLIENTS)
    refused_faults = {"clock": CLOCK_REFUSAL}
    log_patterns = (
        LogPattern("go-panic", r"\bpanic: ", "a Go panic"),
        LogPattern("go-fatal", r"^fatal error: ", "a Go runtime fatal error"),
        LogPattern("nats-fatal", r"\[FTL\]", "nats-server logged a fatal error"),
        LogPattern("js-corruption", r"(?i)corrupt", "nats-server reported corrupt JetStream data"),
    )
    OPTIONS = {
        "replicas": Option(0, lambda v: None if isinstance(v, int) and not isinstance(v, bool)
                           and 0 <= v <= 5 else "0 (one per node) up to 5 (JetStream's limit)"),
        "bucket": Option("splitbrain", _bucket),
        # leader: gets are answered by the stream leader ($JS.API.STREAM.MSG.GET);
        # direct: by any replica (the stream's allow_direct), which may lag the leader
        "read": Option("leader", one_of(*READS)),
        # what partition-primaries/kill-primaries aim at: the bucket's stream leader or
        # the JetStream meta leader (which places streams and elects nothing for them)
        "primary": Option("stream", one_of(*PRIMARIES)),
        "client_port": Option(4222, _port),
        "cluster_port": Option(6222, _port),
        "monitor_port": Option(8222, _port),
        "max_file_store_mib": Option(1024, positive_int),
        "binary": Option("nats-server", a_string),
    }

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self._bucket_made = False

    # -- paths -----------------------------------------------------------------
    def _dir(self, node: Node) -> str:
        return self.data_path(node, "nats")

    def durable_dir(self, node: Node) -> str:
        """JetStream's store_dir: every stream's message blocks and raft logs."""
        return f"{self._dir(node)}/jetstream"

    def file_classes(self, node: Node) -> dict[str, list[str]]:
        # nats-server's file store: message blocks (*.blk) and their indexes under
        # <account>/streams/<stream>/msgs; the raft WAL under _js_/<group>/msgs.
        return {"data": ["*/streams/*/msgs/*.blk"], "index": ["*/streams/*/msgs/*.idx"],
                "wal": ["_js_/*/msgs/*.blk"]}

    def _conf(self, node: Node) -> str:
        return f"{self._dir(node)}/nats.conf"

    def _ports(self) -> Ports:
        o = self.options
        return Ports(o["client_port"], o["cluster_port"], o["monitor_port"])

    def replicas(self) -> int:
        return self.options["replicas"] or len(self.nodes)

    # -- lifecycle ---------------------------------------------------------------
    def install(self, node: Node) -> None:
        binary = self.options["binary"]
        self.ensure_installed(node, f"command -v {shlex.quote(binary)}", f"{binary!r} not found")

    def configure(self, node: Node) -> None:
        if self.replicas() > len(self.nodes):
            raise TargetError(f"nats: replicas {self.replicas()} > {len(self.nodes)} nodes")
        node.check(["mkdir", "-p", self.durable_dir(node)], timeout=10)
        conf = server_conf(server_name=node.name, ip=node.ip,
                           peer_ips=[n.ip for n in self.nodes], ports=self._ports(),
                           store_dir=self.durable_dir(node),
                           max_file_store_mib=self.options["max_file_store_mib"])
        node.put_file(self._conf(node), conf.encode())

    def start(self, node: Node) -> None:
        if self.daemons(node):
            return
        if not self.nodes:
            raise TargetError("nats: start before setup (no cluster routes known)")
        d = node.start_daemon("nats-server", [self.options["binary"], "-c", self._conf(node)],
                              env=self.daemon_env(node), log_path=self.data_path(node, "nats.log"))
        self.track(node, d)

    # -- health ----------------------------------------------------------------
    def healthy(self, node: Node, timeout: float = 1.0) -> tuple[bool, str]:
        """This server knows the JetStream meta leader and the bucket's stream leader;
        on the stream leader, every follower is current."""
        if not self.daemons(node):
            return False, "nats-server is not running"
        try:
            doc = jsz(node.ip, self.options["monitor_port"], timeout, streams=True)
        except MonitorError as e:
            return False, str(e)
        if not meta_leader(doc):
            return False, "no JetStream meta leader known"
        if not self._bucket_made:
            return True, ""   # initialize() creates the bucket once every meta view agrees
        view = stream_view(doc, f"KV_{self.options['bucket']}")
        if view is None:
            return False, f"bucket {self.options['bucket']} not known here"
        if not view.leader:
            return False, f"bucket {self.options['bucket']} has no leader"
        # only the leader tracks whether its followers are caught up
        if view.leader == node.name and view.current < view.replicas:
            return False, (f"bucket {self.options['bucket']}: {view.current} of "
                           f"{view.replicas} followers current")
        return True, ""

    def initialize(self, timeout: float) -> tuple[bool, str]:
        # Asked once every node sees a meta leader: the first moment a JetStream API call
        # can succeed.  Creating an identical bucket again is a no-op, so a retry is safe.
        try:
            self._create_bucket(max(timeout, 5.0))
        except Exception as e:  # noqa: BLE001 - asked again at the next health poll
            return False, f"creating bucket {self.options['bucket']}: {e}"
        self._bucket_made = True
        return True, ""

    def _create_bucket(self, timeout: float) -> None:
        node = self.nodes[0]
        url = f"nats://{node.ip}:{self.options['client_port']}"

        async def create() -> None:
            nc = await nats.connect(servers=[url], allow_reconnect=False, connect_timeout=timeout,
                                    max_reconnect_attempts=0)
            try:
                js = nc.jetstream(timeout=timeout)
                await js.create_key_value(bucket=self.options["bucket"], history=1,
                                          replicas=self.replicas(),
                                          direct=self.options["read"] == "direct")
            finally:
                await nc.close()

        loop = LoopThread("nats-bucket")
        try:
            loop.run(create(), timeout)
        finally:
            loop.close()

    # -- primaries ---------------------------------------------------------------
    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """The bucket's stream leader (or the meta leader), as most reachable servers see it."""
        votes: Counter[str] = Counter()
        for n in nodes:
            try:
                doc = jsz(n.ip, self.options["monitor_port"], 1.0,
                          streams=self.options["primary"] == "stream")
            except MonitorError:
                continue
            if self.options["primary"] == "meta":
                leader = meta_leader(doc)
            else:
                view = stream_view(doc, f"KV_{self.options['bucket']}")
                leader = view.leader if view else ""
            if leader:
                votes[leader] += 1
        if not votes:
            return []
        leader, _ = votes.most_common(1)[0]
        # server_name is the node's name (config.server_conf)
        return [n for n in nodes if n.name == leader]

    # -- clients ---------------------------------------------------------------
    def client(self, node: Node, workload_name: str, options: Mapping[str, Any]) -> Client:
        """A client for the workload (``options`` are the workload's; the client needs none)."""
        self.check_workload(workload_name)
        return CLIENTS[workload_name](node.ip, self.options["client_port"], self.options["bucket"],
                                      node_name=node.name)


