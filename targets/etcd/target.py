"""etcd (Debian's ``etcd-server``) as a target: a static ``--initial-cluster``
bootstrap, one member per node with its own data directory and log file."""

from __future__ import annotations

import shlex
from collections import Counter
from typing import Any, Mapping, Sequence

from core.options import Option, a_string, int_at_least, one_of
from core.nodes import Node

from ..base import KillsDaemons, LogPattern, OptionError, Target, TargetError
from .client import CLIENTS, READ_MODES, EtcdClient
from .gateway import Gateway, Indefinite, NotSent, ServerError

# libfaketime interposes libc's clock_gettime; Go binaries read the clock through the
# vDSO directly (runtime·walltime / nanotime), so a preload never sees those calls.
CLOCK_REFUSAL = ("etcd is a Go binary: Go reads the clock through the vDSO, not libc, so "
                 "libfaketime (LD_PRELOAD) has no effect on it — clock faults would be a "
                 "silent no-op; drop 'clock' from the nemesis faults for etcd")

SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class EtcdTarget(KillsDaemons, Target):
    name = "etcd"
    description = "etcd v3 (Debian etcd-server), JSON gateway client"
    packages = ("etcd-server", "etcd-client")
    workloads = tuple(CLIENTS)
    refused_faults = {"clock": CLOCK_REFUSAL}
    log_patterns = (
        LogPattern("go-panic", r"^panic: |\bpanic: ", "a Go panic"),
        LogPattern("go-fatal", r"^fatal error: ", "a Go runtime fatal error"),
        LogPattern("zap-fatal", r'"level":"(?:fatal|panic|dpanic)"', "etcd logged at fatal/panic level"),
        LogPattern("data-corruption", r"(?i)found data inconsistency|corrupt(?:ed|ion) ",
                   "etcd reported data corruption"),
        # raft logs "<id> became leader at term N" once per election, on the winner only.
        LogPattern("etcd-election", r"became leader at term \d+", "a leader was elected",
                   invalid=False),
    )
    OPTIONS = {
        "read_mode": Option("linearizable", one_of(*READ_MODES)),
        "client_port": Option(2379, int_at_least(1)),
        "peer_port": Option(2380, int_at_least(1)),
        "heartbeat_ms": Option(100, int_at_least(1)),
        "election_ms": Option(1000, int_at_least(1)),
        "snapshot_count": Option(10000, int_at_least(1)),
        "binary": Option("etcd", a_string),
    }

    def validate_options(self, options: dict[str, Any]) -> dict[str, Any]:
        out = super().validate_options(options)
        if out["election_ms"] < 5 * out["heartbeat_ms"]:
            raise OptionError("must be at least 5 x heartbeat_ms "
                              f"(etcd's rule), got {out['election_ms']} vs {out['heartbeat_ms']}",
                              option="election_ms")
        return out

    # -- paths -----------------------------------------------------------------
    def _dir(self, node: Node) -> str:
        return self.data_path(node, "etcd")

    def durable_dir(self, node: Node) -> str:
        """etcd's --data-dir: the WAL and the snapshots/bbolt database under member/."""
        return self._dir(node)

    def file_classes(self, node: Node) -> dict[str, list[str]]:
        return {"wal": ["member/wal/*.wal"], "snapshot": ["member/snap/*.snap"],
                "data": ["member/snap/db"]}

    def _log(self, node: Node) -> str:
        return self.data_path(node, "etcd.log")

    def _peer_url(self, node: Node) -> str:
        return f"http://{node.ip}:{self.options['peer_port']}"

    def _client_url(self, node: Node) -> str:
        return f"http://{node.ip}:{self.options['client_port']}"

    # -- lifecycle ---------------------------------------------------------------
    def install(self, node: Node) -> None:
        binary = self.options["binary"]
        self.ensure_installed(node, f"command -v {shlex.quote(binary)}",
                              f"{binary!r} not found")

    def configure(self, node: Node) -> None:
        node.check(["mkdir", "-p", self._dir(node)], timeout=10)

    def argv(self, node: Node) -> list[str]:
        cluster = ",".join(f"{n.name}={self._peer_url(n)}" for n in self.nodes)
        o = self.options
        # env -i: etcd reads every ETCD_* variable as a flag, and the controller's proxy
        # variables must not reach it either; env execs, so the pid is etcd's.
        env = [f"PATH={SAFE_PATH}", f"HOME={self._dir(node)}"]
        env += [f"{k}={v}" for k, v in self.daemon_env(node).items()]
        return ["env", "-i", *env, o["binary"],
                "--name", node.name,
                "--data-dir", self._dir(node),
                "--listen-client-urls", self._client_url(node),
                "--advertise-client-urls", self._client_url(node),
                "--listen-peer-urls", self._peer_url(node),
                "--initial-advertise-peer-urls", self._peer_url(node),
                "--initial-cluster", cluster,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", f"splitbrain-{cluster_token(self.nodes)}",
                "--heartbeat-interval", str(o["heartbeat_ms"]),
                "--election-timeout", str(o["election_ms"]),
                "--snapshot-count", str(o["snapshot_count"]),
                "--enable-v2=false",
                "--logger", "zap", "--log-outputs", "stderr"]

    def start(self, node: Node) -> None:
        if self.daemons(node):
            return
        if not self.nodes:
            raise TargetError("etcd: start before setup (no cluster membership known)")
        d = node.start_daemon("etcd", self.argv(node), log_path=self._log(node))
        self._daemons[node.name] = [d]

    # -- health ----------------------------------------------------------------
    def healthy(self, node: Node, timeout: float = 1.0) -> tuple[bool, str]:
        """A linearizable range served by this member: proves a leader, a quorum and
        that this member is caught up (ReadIndex)."""
        if not self.daemons(node):
            return False, "etcd is not running"
        gw = Gateway(node.ip, self.options["client_port"], connect_timeout=timeout)
        try:
            gw.range(b"/splitbrain/health", serializable=False, timeout=timeout)
            return True, ""
        except (NotSent, Indefinite, ServerError) as e:
            return False, str(e)
        finally:
            gw.close()

    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """The raft leader, as most reachable members report it."""
        member_of: dict[str, Node] = {}
        votes: Counter[str] = Counter()
        for n in nodes:
            gw = Gateway(n.ip, self.options["client_port"], connect_timeout=0.5)
            try:
                st = gw.status(timeout=1.0)
            except (NotSent, Indefinite, ServerError):
                continue
            finally:
                gw.close()
            mid = str((st.get("header") or {}).get("member_id", ""))
            if mid:
                member_of[mid] = n
            leader = str(st.get("leader", ""))
            if leader and leader != "0":
                votes[leader] += 1
        if not votes:
            return []
        leader, _ = votes.most_common(1)[0]
        return [member_of[leader]] if leader in member_of else []

    # -- clients ---------------------------------------------------------------
    def client(self, node: Node, workload_name: str, options: Mapping[str, Any]) -> EtcdClient:
        self.check_workload(workload_name)
        read_mode = (options or {}).get("read_mode") or self.options["read_mode"]
        if read_mode not in READ_MODES:
            raise OptionError(f"{read_mode!r} is not one of {', '.join(READ_MODES)}",
                              option="read_mode")
        return CLIENTS[workload_name](node.ip, self.options["client_port"], read_mode=read_mode,
                                      node_name=node.name)


def cluster_token(nodes: Sequence[Node]) -> str:
    """Distinct per test: two clusters on one machine must never join each other."""
    import hashlib
    h = hashlib.sha1(",".join(f"{n.name}@{n.ip}" for n in nodes).encode()).hexdigest()
    return h[:12]
