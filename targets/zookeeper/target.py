"""ZooKeeper (Debian's ``zookeeperd``, Java) as a target: a static ensemble, one
member per node with its own ``myid``, ``zoo.cfg`` and data directory, run as
``java … QuorumPeerMain zoo.cfg`` so the nemesis can put it under libfaketime."""

from __future__ import annotations

import shlex
from typing import Any, Mapping, Sequence

from core.options import Option, a_string, int_at_least, one_of
from core.nodes import Node

from ..base import KillsDaemons, LogPattern, OptionError, Target, TargetError
from .client import CLIENTS, READS, ZkClient
from .config import DEFAULT_JARS, java_argv, zoo_cfg
from .fourletter import FourLetterError, mode


def _jar_list(v: Any) -> str | None:
    return None if v is None or (isinstance(v, list) and all(isinstance(j, str) for j in v)) \
        else "a list of jar paths"


class ZookeeperTarget(KillsDaemons, Target):
    name = "zookeeper"
    description = "ZooKeeper 3.8 ensemble (Debian zookeeperd), kazoo client"
    packages = ("zookeeperd", "libslf4j-java")
    workloads = tuple(CLIENTS)
    # Clock faults are supported: libfaketime interposes the libc clock calls the JVM
    # makes (System.currentTimeMillis / nanoTime go through clock_gettime in libc).
    refused_faults: Mapping[str, str] = {}
    # Not patterns, though ERROR-level: "Unexpected exception in LearnerHandler" (a leader
    # losing a follower to a partition) and "Severe unrecoverable error, from thread :
    # SyncThread" — in 3.8.0 a follower whose leader connection closes mid-flush hits a
    # NullPointerException in SendAckRequestProcessor.flush; the server shuts its request
    # pipeline down and rejoins (seen in runs here), so it is an availability blip, not
    # lost data.  Both are left to the report's log view.
    log_patterns = (
        LogPattern("jvm-oom", r"java\.lang\.OutOfMemoryError", "the JVM ran out of memory"),
        LogPattern("zk-exit", r"exiting abnormally", "the ZooKeeper process exited on an error"),
        LogPattern("zk-load-failure", r"Unable to load database on disk",
                   "ZooKeeper could not load its data directory"),
        # A member restarted after SIGKILL replays its txn log over a fuzzy snapshot in
        # the [main] thread and logs digest mismatches for txns the snapshot already
        # holds (seen here, with the set intact); only a mismatch while serving counts.
        LogPattern("zk-digest-mismatch", r"^(?!.*\[main\]).*Digests are not matching",
                   "a member's data tree diverged from the leader's while serving"),
        LogPattern("jvm-crash", r"A fatal error has been detected by the Java Runtime",
                   "the JVM crashed"),
        # Logged by the member that won: one line per election.
        LogPattern("zk-election", r"LEADING - LEADER ELECTION TOOK", "a leader was elected",
                   invalid=False),
    )
    OPTIONS = {
        "reads": Option("sync", one_of(*READS)),
        "client_port": Option(2181, int_at_least(1)),
        "peer_port": Option(2888, int_at_least(1)),
        "election_port": Option(3888, int_at_least(1)),
        "tick_ms": Option(500, int_at_least(1)),
        "init_limit": Option(20, int_at_least(1)),
        "sync_limit": Option(5, int_at_least(1)),
        "session_timeout_ms": Option(6000, int_at_least(1)),
        "heap_mb": Option(192, int_at_least(1)),
        "java": Option("java", a_string),
        "classpath": Option(None, _jar_list),
    }

    def validate_options(self, options: dict[str, Any]) -> dict[str, Any]:
        out = super().validate_options(options)
        lo, hi = 2 * out["tick_ms"], max(out["session_timeout_ms"], 20 * out["tick_ms"])
        if not lo <= out["session_timeout_ms"] <= hi:
            raise OptionError(f"must be between 2 and 20 "
                              f"tick_ms ({lo}..{hi}), got {out['session_timeout_ms']}",
                              option="session_timeout_ms")
        return out

    # -- paths -----------------------------------------------------------------
    def _dir(self, node: Node) -> str:
        return self.data_path(node, "zookeeper")

    def _cfg(self, node: Node) -> str:
        return f"{self._dir(node)}/zoo.cfg"

    def _log(self, node: Node) -> str:
        return self.data_path(node, "zookeeper.log")

    def _sid(self, node: Node) -> int:
        return self.nodes.index(node) + 1

    # -- lifecycle ---------------------------------------------------------------
    def setup(self, nodes: Sequence[Node], *, health_timeout: float = 30.0) -> None:
        if len(nodes) < 3:
            raise TargetError(f"a ZooKeeper ensemble needs at least 3 nodes (got {len(nodes)})")
        super().setup(nodes, health_timeout=health_timeout)

    def install(self, node: Node) -> None:
        jars = list(self.options["classpath"] or DEFAULT_JARS)
        java = self.options["java"]
        probe = f"command -v {shlex.quote(java)} >/dev/null && " + \
            " && ".join(f"test -r {shlex.quote(j)}" for j in jars)
        # openjdk's postinst links its man pages with update-alternatives and fails on
        # slim images that dropped /usr/share/man/man1.
        self.ensure_installed(node, probe, f"java or one of {', '.join(jars)} is missing",
                              pre_install=["mkdir", "-p", "/usr/share/man/man1"], timeout=900)

    def configure(self, node: Node) -> None:
        d = self._dir(node)
        node.check(["mkdir", "-p", d], timeout=10)
        node.put_file(f"{d}/myid", f"{self._sid(node)}\n".encode())
        members = [(self._sid(n), n.ip) for n in self.nodes]
        node.put_file(self._cfg(node), zoo_cfg(d, members, self.options).encode())

    def start(self, node: Node) -> None:
        if self.daemons(node):
            return
        if not self.nodes:
            raise TargetError("zookeeper: start before setup (no ensemble known)")
        argv = java_argv(self._cfg(node), self._dir(node), self.options)
        d = node.start_daemon("zookeeper", argv, env=self.daemon_env(node), cwd=self._dir(node),
                              log_path=self._log(node))
        self._daemons[node.name] = [d]

    def daemon_env(self, node: Node) -> dict[str, str]:
        env = super().daemon_env(node)
        # Measured here with libfaketime 0.9.10: with FAKETIME_DONT_FAKE_MONOTONIC=1 the
        # JVM's internal timed waits (VM Thread, periodic tasks) spin — an idle 3-member
        # ensemble burnt 5-6 CPU-s per 10 s instead of 0.1-0.2 and was not healthy within
        # 120 s on this 2-core machine.  Without it the JVM runs normally, so for
        # ZooKeeper the offset moves CLOCK_MONOTONIC (System.nanoTime) as well as the
        # wall clock: a bump is seen by ZooKeeper's timeouts too (docs/targets.md).
        if "LD_PRELOAD" in env and "faketime" in env["LD_PRELOAD"]:
            env.pop("FAKETIME_DONT_FAKE_MONOTONIC", None)
        return env

    # -- health ----------------------------------------------------------------
    def healthy(self, node: Node, timeout: float = 1.0) -> tuple[bool, str]:
        """The member answers ``srvr`` as leader or follower (it is in a quorum)."""
        if not self.daemons(node):
            return False, "zookeeper is not running"
        try:
            m = mode(node.ip, self.options["client_port"], timeout)
        except FourLetterError as e:
            return False, str(e)
        if m in ("leader", "follower", "observer"):
            return True, ""
        return False, m

    def cluster_healthy(self, timeout: float = 1.0) -> tuple[bool, str]:
        ok, why = super().cluster_healthy(timeout)
        if not ok:
            return ok, why
        leaders = self.primaries(self.nodes)
        if len(leaders) != 1:
            return False, f"{len(leaders)} members report themselves leader"
        return True, ""

    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """Members answering ``srvr`` with ``Mode: leader``."""
        out = []
        for n in nodes:
            try:
                if mode(n.ip, self.options["client_port"], 1.0) == "leader":
                    out.append(n)
            except FourLetterError:
                continue
        return out

    def modes(self, nodes: Sequence[Node] | None = None) -> dict[str, str]:
        """node name -> its mode, or the error, for reports and tests."""
        out: dict[str, str] = {}
        for n in (self.nodes if nodes is None else nodes):
            try:
                out[n.name] = mode(n.ip, self.options["client_port"], 1.0)
            except FourLetterError as e:
                out[n.name] = f"error: {e}"
        return out

    # -- clients ---------------------------------------------------------------
    def client(self, node: Node, workload_name: str, options: Mapping[str, Any]) -> ZkClient:
        self.check_workload(workload_name)
        reads = (options or {}).get("reads") or self.options["reads"]
        if reads not in READS:
            raise OptionError(f"{reads!r} is not one of {', '.join(READS)}", option="reads")
        return CLIENTS[workload_name](node.ip, self.options["client_port"], reads=reads,
                                      session_timeout=self.options["session_timeout_ms"] / 1000,
                                      node_name=node.name)


