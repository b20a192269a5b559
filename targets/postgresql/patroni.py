"""The ``patroni`` topology: Debian's patroni on every node manages PostgreSQL, with an etcd
cluster on the same nodes as its configuration store (DCS).

Patroni holds a leader key in etcd with a ``ttl``; the node holding it runs the primary, the
others stream from it.  When the leader's key expires (its patroni died, froze, or lost etcd),
another member whose WAL is within ``maximum_lag_on_failover`` promotes itself; a returning old
primary is rewound (``pg_rewind``) or re-cloned and follows.  With asynchronous replication
whatever the old primary acknowledged but had not shipped is lost at that moment — Patroni's
documented trade-off; ``synchronous_mode`` makes commits wait for a synchronous standby and
only lets that standby be promoted.

Faults: patroni is PostgreSQL's supervisor on the same host, so by default a kill or pause
hits both (a node crash: the leader key is left to expire and a failover follows).  With
``patroni_faults: false`` only PostgreSQL is hit, and the node's patroni restarts it in place
(crash recovery; no failover unless restarting takes longer than the ttl).  etcd is never hit
by kill or pause: it is the configuration store, not the database under test (partitions
still cut it).

Process layout: patroni starts the postmaster through a helper that calls setsid() and exits,
so the postmaster is not patroni's child and has its own process group; it is found through
``postmaster.pid`` in the data directory, and every backend through its parent pid.
"""

from __future__ import annotations

import json
import shlex
import urllib.error
import urllib.request
from typing import Any, Callable, Mapping, Sequence

import yaml

from core.nodes import Daemon, Node, NodeError

from ..etcd.target import EtcdTarget

REST_PORT = 8008
SCOPE = "splitbrain"
PATRONI_BIN = "patroni"
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PRIMARY_ROLES = ("master", "primary")
# Not measured: libfaketime would skew patroni's own leader-key timing with PostgreSQL's (etcd,
# a Go binary, not at all), and no run has shown what a skewed Patroni does.  Refused rather
# than applied unverified.
PATRONI_CLOCK_REFUSAL = ("clock faults are not supported on the patroni topology yet: they "
                         "would skew patroni's leader-key timing too, and that has not been "
                         "measured; use topology single or replicas for clock faults")
PATRONI_PACKAGES = ("patroni", *EtcdTarget.packages)


def rest_get(ip: str, path: str, timeout: float) -> tuple[int, Any]:
    """(HTTP status, decoded JSON body or None) of ``GET http://ip:8008/path``; status 0
    when nothing answered within ``timeout``."""
    url = f"http://{ip}:{REST_PORT}{path}"
    try:
        with urllib.request.urlopen(url, timeout=max(0.05, timeout)) as r:
            return r.status, _json(r.read())
    except urllib.error.HTTPError as e:
        # 503 from /primary is an answer ("not the leader"), with the same status body
        return e.code, _json(e.read())
    except (OSError, ValueError):
        return 0, None


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def find_primary(ips: Sequence[str], port: int, timeout: float,
                 clock: Callable[[], float]) -> tuple[str, int]:
    """The first node (in the order given) whose Patroni says it holds the leader key and
    runs the primary (``GET /primary`` → 200); OSError when none does within ``timeout``."""
    deadline = clock() + timeout
    for ip in ips:
        left = deadline - clock()
        if left <= 0.01:
            break
        status, _ = rest_get(ip, "/primary", min(0.5, left))
        if status == 200:
            return ip, port
    raise OSError("no Patroni REST API named itself primary (GET /primary)")


class PatroniCluster:
    """Patroni + etcd on a target's nodes; the PostgreSQL target delegates its lifecycle,
    health, faults and primaries here when ``topology: patroni``."""

    def __init__(self, pg: Any) -> None:
        # pg: the PostgresTarget (its options, paths, daemon table and env hook)
        self.pg = pg
        o = pg.options
        self.etcd = EtcdTarget({"client_port": o["etcd_client_port"],
                                "peer_port": o["etcd_peer_port"], "install": o["install"]})

    # -- paths -----------------------------------------------------------------------
    def _conf_dir(self, node: Node) -> str:
        return self.pg.data_path(node, "patroni")

    def _conf(self, node: Node) -> str:
        return f"{self._conf_dir(node)}/patroni.yml"

    def _log(self, node: Node) -> str:
        return self.pg.data_path(node, "patroni.log")

    # -- lifecycle -------------------------------------------------------------------
    def install(self, node: Node) -> None:
        self.etcd.install(node)
        self.pg.ensure_installed(node, f"command -v {shlex.quote(PATRONI_BIN)}",
                                 "patroni not found")

    def setup(self, nodes: Sequence[Node], health_timeout: float) -> None:
        self.etcd.setup(nodes)
        ok, why = self.etcd.wait_healthy(health_timeout)
        if not ok:
            raise self.pg.error(f"etcd (Patroni's DCS) did not become healthy: {why}")
        for n in nodes:
            self.configure(n)
        # The first node starts alone so it wins the initialize key and bootstraps; the others
        # then clone it (pg_basebackup) instead of racing for the bootstrap.
        first = nodes[0]
        self.start(first)
        self.pg.wait_until(lambda: rest_get(first.ip, "/primary", 1.0)[0] == 200,
                           health_timeout, f"{first.name}: Patroni did not bootstrap a primary")
        self.pg.create_schema(first)
        for n in nodes[1:]:
            self.start(n)

    def configure(self, node: Node) -> None:
        pg = self.pg
        d, conf_dir, sock = pg._dir(node), self._conf_dir(node), pg._socket_dir(node)
        # pgdata, not its parent: the durable directory may be a mount (disk faults)
        node.check(["rm", "-rf", pg._pgdata(node), conf_dir], timeout=30)
        # Patroni runs initdb or pg_basebackup into pgdata itself; it must exist empty, 0700.
        node.check(["mkdir", "-p", pg._pgdata(node), conf_dir, sock], timeout=10)
        node.check(["chmod", "700", pg._pgdata(node)], timeout=10)
        node.put_file(self._conf(node), yaml.safe_dump(self.config(node)).encode(), mode=0o600)
        node.check(["chown", "-R", "postgres:postgres", d, conf_dir, sock], timeout=10)

    def config(self, node: Node) -> dict[str, Any]:
        """Patroni's YAML configuration for one node (Patroni 3.0 names)."""
        o, pg = self.pg.options, self.pg
        port = o["port"]
        trust = ["local all all trust", "host all all 0.0.0.0/0 trust",
                 "host replication all 0.0.0.0/0 trust"]
        return {
            "scope": SCOPE,
            "name": node.name,
            "log": {"level": "INFO"},
            "restapi": {"listen": f"{node.ip}:{REST_PORT}",
                        "connect_address": f"{node.ip}:{REST_PORT}"},
            "etcd3": {"hosts": [f"{n.ip}:{o['etcd_client_port']}" for n in pg.nodes]},
            "bootstrap": {
                "dcs": {
                    "ttl": o["ttl"], "loop_wait": o["loop_wait"],
                    "retry_timeout": o["retry_timeout"],
                    "maximum_lag_on_failover": o["maximum_lag_on_failover"],
                    "synchronous_mode": o["synchronous_mode"],
                    "synchronous_mode_strict": o["synchronous_mode_strict"],
                    "postgresql": {
                        # pg_rewind needs wal_log_hints; a failed rewind re-clones the node
                        "use_pg_rewind": True, "use_slots": True,
                        "remove_data_directory_on_rewind_failure": True,
                        "remove_data_directory_on_diverged_timelines": True,
                        "parameters": {
                            "wal_level": "replica", "hot_standby": "on", "wal_log_hints": "on",
                            "max_connections": 300, "max_wal_senders": 10,
                            "max_replication_slots": 10, "wal_keep_size": "512MB",
                            "fsync": "on" if o["fsync"] else "off",
                            "full_page_writes": "on" if o["fsync"] else "off",
                            "synchronous_commit": o["synchronous_commit"],
                        },
                    },
                },
                "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}],
            },
            "postgresql": {
                "listen": f"{node.ip}:{port}",
                "connect_address": f"{node.ip}:{port}",
                "data_dir": pg._pgdata(node),
                "bin_dir": pg.BIN,
                # Patroni writes a password file; the default path is shared by every node on
                # one host (netns), so each node gets its own.
                "pgpass": f"{self._conf_dir(node)}/pgpass",
                "pg_hba": trust,
                # a replica's clone must not wait for a spread checkpoint (minutes)
                "basebackup": [{"checkpoint": "fast"}],
                "authentication": {"superuser": {"username": "postgres"},
                                   "replication": {"username": "postgres"},
                                   "rewind": {"username": "postgres"}},
                "parameters": {"unix_socket_directories": pg._socket_dir(node),
                               "shared_buffers": "32MB", "ssl": "off",
                               "log_line_prefix": "%m [%p] ", "log_min_messages": "warning"},
            },
            "tags": {"nofailover": False, "noloadbalance": False,
                     "clonefrom": False, "nosync": False},
        }

    def start(self, node: Node) -> None:
        """Start the node's etcd member and patroni if not running; patroni starts
        PostgreSQL (as a replica of whoever holds the leader key, or as the leader)."""
        self.etcd.start(node)
        if any(d.name == "patroni" for d in self.pg.daemons(node)):
            return
        env = [f"PATH={SAFE_PATH}", f"HOME={self._conf_dir(node)}"]
        # The fault environment after setpriv (see PostgresTarget.start); patroni passes it on
        # to the postmaster it starts.
        env += [f"{k}={v}" for k, v in sorted(self.pg.daemon_env(node).items())]
        argv = self.pg._as_postgres(["env", "-i", *env, PATRONI_BIN, self._conf(node)])
        self.pg.track(node, node.start_daemon("patroni", argv, log_path=self._log(node)))

    def stop_all(self) -> None:
        """Kill patroni first (it would restart PostgreSQL), then every PostgreSQL process
        (found by postmaster.pid: it is not patroni's child), then etcd."""
        try:
            for n in self.pg.nodes:
                for group in (lambda: self.pg.daemons(n), lambda: self.postgres_tree(n)):
                    try:
                        self.pg._kill_daemons(n, group())
                    except NodeError:
                        pass
        finally:
            self.etcd.stop_all()

    # -- processes -----------------------------------------------------------------------
    def postmaster(self, node: Node) -> Daemon | None:
        """The running postmaster of this node's data directory, if any."""
        try:
            first = node.get_file(f"{self.pg._pgdata(node)}/postmaster.pid").split(b"\n", 1)[0]
            pid = int(first)
        except (NodeError, ValueError):
            return None
        # A stale pid file may name a reused pid: only a postgres on this data dir counts.
        # Its group is the helper's that called setsid(), not its own pid.
        r = node.exec(["ps", "-ww", "-o", "pgid=,args=", "-p", str(pid)], timeout=10)
        pgid, _, args = r.text().strip().partition(" ")
        if not r.ok or not pgid.isdigit() or f"-D {self.pg._pgdata(node)} " not in args + " ":
            return None
        return Daemon(node=node.name, name="postgres", argv=args.split(), pid=pid,
                      pgid=int(pgid), log_path=self._log(node))

    def postgres_tree(self, node: Node) -> list[Daemon]:
        pm = self.postmaster(node)
        return [] if pm is None else self.pg.with_children(node, pm)

    def fault_daemons(self, node: Node) -> list[Daemon]:
        # patroni first: a kill or pause must stop the supervisor before what it supervises
        sup = [d for d in self.pg.daemons(node) if d.name == "patroni"]
        return (sup if self.pg.options["patroni_faults"] else []) + self.postgres_tree(node)

    # -- health and roles ----------------------------------------------------------------
    def status(self, node: Node, timeout: float) -> dict[str, Any] | None:
        status, body = rest_get(node.ip, "/patroni", timeout)
        return body if status in (200, 503) and isinstance(body, dict) else None

    def healthy(self, node: Node, timeout: float) -> tuple[bool, str]:
        if not any(d.name == "patroni" for d in self.pg.daemons(node)):
            return False, "patroni is not running"
        ok, why = self.etcd.healthy(node, timeout)
        if not ok:
            return False, f"etcd: {why}"
        st = self.status(node, timeout)
        if st is None:
            return False, "Patroni's REST API does not answer"
        if st.get("state") != "running":
            return False, f"postgres is {st.get('state', '?')}"
        if st.get("role") in PRIMARY_ROLES:
            # every other member streams from it
            streaming = [r for r in st.get("replication") or [] if r.get("state") == "streaming"]
            want = len(self.pg.nodes) - 1
            if len(streaming) < want:
                return False, f"primary has {len(streaming)} of {want} streaming replicas"
            return True, ""
        if st.get("role") != "replica":
            return False, f"role is {st.get('role')}"
        return True, ""

    def cluster_healthy(self, timeout: float) -> tuple[bool, str]:
        prim = self.primaries(self.pg.nodes, timeout)
        if len(prim) != 1:
            return False, f"{len(prim)} nodes claim to be primary"
        return True, ""

    def primaries(self, nodes: Sequence[Node], timeout: float = 0.5) -> list[Node]:
        """The nodes whose Patroni holds the leader key and runs the primary (GET /primary)."""
        return [n for n in nodes if rest_get(n.ip, "/primary", timeout)[0] == 200]

    def log_files(self, node: Node) -> list[str]:
        return self.etcd.log_files(node)

    def client_ips(self, node: Node) -> list[str]:
        """Where a client on ``node`` asks for the primary: its own node first, as an
        application beside it would, so a client cut off with an old primary keeps using it."""
        return [node.ip] + [n.ip for n in self.pg.nodes if n is not node]


def options_check(out: Mapping[str, Any]) -> str | None:
    """Patroni's own rule (docs, "Dynamic configuration"): loop_wait + 2 x retry_timeout
    must fit in the ttl, or a leader can lose its key between two of its own loops."""
    if out["loop_wait"] + 2 * out["retry_timeout"] > out["ttl"]:
        return (f"ttl {out['ttl']} is shorter than loop_wait + 2 x retry_timeout "
                f"({out['loop_wait']} + 2 x {out['retry_timeout']})")
    return None
