"""PostgreSQL 15 (Debian's ``postgresql-15``): one primary, or a primary with streaming replicas.

Topologies:
- ``single``: PostgreSQL on the first node only; every client talks to it, wherever the client's
  node is (Jepsen's single-node PostgreSQL test: partitions cut clients off, kills crash it);
- ``replicas``: the first node is the primary, the others stream from it (``pg_basebackup -R``);
  writes go to the primary; with ``read_from: local`` read-only transactions go to the client's own
  node, so a lagging replica's reads are what the checker judges.  No automatic failover: a killed
  primary restarts as the primary after crash recovery.

The server runs as the ``postgres`` user (it refuses root) through ``setpriv``, which execs without
forking, so the recorded pid is the postmaster's and the process group holds every backend.
Settings are passed as ``-c`` flags: nothing on the node outside the data directory is changed.
"""

from __future__ import annotations

import shlex
import time
from typing import Any, Mapping, Sequence

import psycopg

from core.nodes import Daemon, Node, NodeError
from core.options import Option, a_bool, int_at_least, one_of

from ..base import KillsDaemons, LogPattern, OptionError, Target, TargetError
from .client import CLIENTS, ISOLATION, SCHEMA, PgClient
from .patroni import PATRONI_CLOCK_REFUSAL, PATRONI_PACKAGES, PatroniCluster, find_primary, options_check

BIN = "/usr/lib/postgresql/15/bin"
TOPOLOGIES = ("single", "replicas", "patroni")
SYNC_COMMIT = ("on", "off", "local", "remote_write", "remote_apply")
DB = "splitbrain"


class PostgresTarget(KillsDaemons, Target):
    name = "postgresql"
    description = "PostgreSQL 15: single server or primary + streaming replicas (Debian postgresql-15)"
    packages = ("postgresql-15",)
    workloads = tuple(CLIENTS)
    log_patterns = (
        LogPattern("postgres-panic", r"\bPANIC:", "PostgreSQL panicked"),
        LogPattern("postgres-assert", r"TRAP: FailedAssertion", "an assertion failed"),
        # Only at ERROR and above: "LOG: invalid record length … got 0" is how every crash
        # recovery finds the end of the WAL, not corruption.
        LogPattern("postgres-corrupt", r"(?:ERROR|FATAL|PANIC):\s+(?:invalid page in block|"
                   r"could not locate a valid checkpoint record|invalid record length|"
                   r"incorrect resource manager data checksum|invalid memory alloc request)",
                   "data or WAL corruption reported"),
    )
    OPTIONS = {
        "port": Option(5432, int_at_least(1)),
        "topology": Option("single", one_of(*TOPOLOGIES)),
        "isolation": Option("serializable", one_of(*ISOLATION)),
        "synchronous_commit": Option("on", one_of(*SYNC_COMMIT)),
        # e.g. "ANY 1 (*)": commits wait for a standby; "" = asynchronous replication
        "synchronous_standby_names": Option("", lambda v: None if isinstance(v, str)
                                            else "a string such as 'ANY 1 (*)'"),
        "read_from": Option("primary", one_of("primary", "local")),
        "fsync": Option(True, a_bool),
        # topology patroni (targets/postgresql/patroni.py): Patroni's dynamic configuration
        "synchronous_mode": Option(False, a_bool),
        "synchronous_mode_strict": Option(False, a_bool),
        "ttl": Option(10, int_at_least(2)),
        "loop_wait": Option(1, int_at_least(1)),
        "retry_timeout": Option(4, int_at_least(1)),
        "maximum_lag_on_failover": Option(1048576, int_at_least(0)),
        # kill and pause hit patroni with PostgreSQL (a node crash); false: PostgreSQL only,
        # and the node's patroni restarts it
        "patroni_faults": Option(True, a_bool),
        "etcd_client_port": Option(2379, int_at_least(1)),
        "etcd_peer_port": Option(2380, int_at_least(1)),
    }
    BIN = BIN

    def validate_options(self, options: dict[str, Any]) -> dict[str, Any]:
        out = super().validate_options(options)
        if out["topology"] == "single" and out["read_from"] != "primary":
            raise OptionError("read_from: local needs topology: replicas", option="read_from")
        if out["topology"] == "single" and out["synchronous_standby_names"]:
            raise OptionError("synchronous_standby_names needs topology: replicas",
                              option="synchronous_standby_names")
        if out["topology"] == "patroni":
            why = options_check(out)
            if why:
                raise OptionError(why, option="ttl")
            if out["synchronous_standby_names"] or out["read_from"] != "primary":
                raise OptionError("topology patroni sets synchronous_standby_names itself "
                                  "(use synchronous_mode) and reads from the primary",
                                  option="topology")
        elif out["synchronous_mode"] or out["synchronous_mode_strict"]:
            raise OptionError("synchronous_mode needs topology: patroni",
                              option="synchronous_mode")
        return out

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self._patroni = PatroniCluster(self) if self.options["topology"] == "patroni" else None
        if self._patroni is not None:
            # what the docker provider builds the node image from, and install: true installs
            self.packages = (*self.packages, *PATRONI_PACKAGES)

    def supports(self, fault: str) -> tuple[bool, str]:
        if self._patroni is not None and fault.split("-")[0] == "clock":
            return False, PATRONI_CLOCK_REFUSAL
        return super().supports(fault)

    def consistency_models(self) -> list[str]:
        """What the isolation level promises, the default the transactional checkers judge:
        SERIALIZABLE on one primary is strict serializable (reads from standbys are not: they
        run at REPEATABLE READ on a lagging snapshot); PostgreSQL's REPEATABLE READ is snapshot
        isolation; READ COMMITTED is read committed."""
        level = self.options["isolation"]
        if level == "serializable":
            local = self.options["read_from"] == "local"
            return ["snapshot-isolation"] if local else ["strict-serializable"]
        return ["snapshot-isolation"] if level == "repeatable-read" else ["read-committed"]

    # -- paths ---------------------------------------------------------------------------
    def _dir(self, node: Node) -> str:
        return self.data_path(node, "postgresql")

    def _pgdata(self, node: Node) -> str:
        return f"{self._dir(node)}/pgdata"

    def _socket_dir(self, node: Node) -> str:
        # beside the durable directory, not in it: a Unix socket is no durable state
        return self.data_path(node, "postgresql-run")

    def durable_dir(self, node: Node) -> str:
        """Everything PostgreSQL keeps: the data directory with its WAL (pg_wal)."""
        return self._dir(node)

    def file_classes(self, node: Node) -> dict[str, list[str]]:
        return {"wal": ["pgdata/pg_wal/0*"], "data": ["pgdata/base/*/*"],
                "control": ["pgdata/global/pg_control"]}

    def _as_postgres(self, argv: Sequence[str]) -> list[str]:
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *argv]

    def _servers(self) -> list[Node]:
        return self.nodes[:1] if self.options["topology"] == "single" else self.nodes

    def _addr(self, node: Node) -> tuple[str, int]:
        return node.ip, self.options["port"]

    # -- lifecycle -----------------------------------------------------------------------
    def setup(self, nodes: Sequence[Node], *, health_timeout: float = 30.0) -> None:
        self.nodes = list(nodes)
        if self.options["topology"] != "single" and len(nodes) < 2:
            raise TargetError(f"postgresql topology {self.options['topology']} needs at least "
                              "2 nodes")
        for n in self._servers():
            self.install(n)
        if self._patroni is not None:
            self._patroni.setup(self.nodes, health_timeout)
            return
        primary = self.nodes[0]
        self.configure(primary)
        self.start(primary)
        self._wait_serving(primary, health_timeout)
        self._create_schema(primary)
        for n in self._servers()[1:]:
            self.configure(n)
            self.start(n)

    def install(self, node: Node) -> None:
        self.ensure_installed(node, f"test -x {shlex.quote(BIN + '/postgres')} && "
                                    "command -v setpriv && id postgres",
                              f"{BIN}/postgres not found")
        if self._patroni is not None:
            self._patroni.install(node)

    def configure(self, node: Node) -> None:
        if self._patroni is not None:
            self._patroni.configure(node)
            return
        d, pgdata = self._dir(node), self._pgdata(node)
        node.check(["rm", "-rf", pgdata], timeout=30)
        node.check(["mkdir", "-p", pgdata, self._socket_dir(node)], timeout=10)
        node.check(["chown", "-R", "postgres:postgres", d, self._socket_dir(node)], timeout=10)
        node.check(["chmod", "700", pgdata], timeout=10)
        if node is self.nodes[0]:
            node.check(self._as_postgres([f"{BIN}/initdb", "-D", pgdata, "-U", "postgres",
                                          "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                       timeout=120)
            # Test traffic only reaches these nodes' own addresses: trust is enough.
            hba = ("local all all trust\n"
                   "host all all 0.0.0.0/0 trust\n"
                   "host replication all 0.0.0.0/0 trust\n")
            node.put_file(f"{pgdata}/pg_hba.conf", hba.encode(), mode=0o600)
            node.check(["chown", "postgres:postgres", f"{pgdata}/pg_hba.conf"], timeout=10)
        else:
            host, port = self._addr(self.nodes[0])
            node.check(self._as_postgres([f"{BIN}/pg_basebackup", "-h", host, "-p", str(port),
                                          "-U", "postgres", "-D", pgdata, "-R",
                                          "--wal-method=stream", "--checkpoint=fast"]),
                       timeout=300)

    def _settings(self, node: Node) -> list[str]:
        o = self.options
        s = {
            "listen_addresses": node.ip,
            "port": str(o["port"]),
            "unix_socket_directories": self._socket_dir(node),
            "shared_buffers": "32MB",
            "max_connections": "300",
            "wal_level": "replica",
            "max_wal_senders": "10",
            "wal_keep_size": "512MB",
            "hot_standby": "on",
            "synchronous_commit": o["synchronous_commit"],
            "synchronous_standby_names": o["synchronous_standby_names"],
            "fsync": "on" if o["fsync"] else "off",
            "full_page_writes": "on" if o["fsync"] else "off",
            "ssl": "off",
            "log_line_prefix": "%m [%p] ",
            "log_min_messages": "warning",
        }
        out = []
        for k, v in s.items():
            out += ["-c", f"{k}={v}"]
        return out

    def start(self, node: Node) -> None:
        if self._patroni is not None:
            self._patroni.start(node)
            return
        if node not in self._servers() or self.daemons(node):
            return
        # The fault environment (libfaketime) is applied after setpriv has dropped to postgres:
        # preloaded into setpriv, libfaketime would create its shared memory as root, export
        # its name, and the postgres-owned server would be refused it ("sem_open failed").
        fault_env = [f"{k}={v}" for k, v in sorted(self.daemon_env(node).items())]
        argv = self._as_postgres(["env", *fault_env, f"{BIN}/postgres", "-D", self._pgdata(node),
                                  *self._settings(node)])
        self.track(node, node.start_daemon("postgres", argv,
                                            log_path=self.data_path(node, "postgresql.log")))

    # -- faults: the whole process tree ------------------------------------------------------
    def fault_daemons(self, node: Node) -> list[Daemon]:
        """The postmaster and every process it forked, each as its own group.

        Every backend calls setsid() (InitPostmasterChild), so a signal to the postmaster's
        process group misses them: a "paused" server would go on answering on its open
        connections, and a "killed" one would leave backends finishing their transactions.
        Listing the postmaster first means pause stops it before its children (it forks no
        more), and kill takes every process, as a crash does."""
        if self._patroni is not None:
            return self._patroni.fault_daemons(node)
        out: list[Daemon] = []
        for d in self.daemons(node):
            out += self.with_children(node, d)
        return out

    def with_children(self, node: Node, postmaster: Daemon) -> list[Daemon]:
        """The postmaster, then each process it forked as its own group (see fault_daemons)."""
        out = [postmaster]
        r = node.exec(["ps", "-o", "pid=", "--ppid", str(int(postmaster.pid))], timeout=10)
        for tok in r.stdout.split():
            pid = int(tok)
            out.append(Daemon(node=node.name, name="postgres-child", argv=[], pid=pid,
                              pgid=pid, log_path=postmaster.log_path))
        return out

    def stop_all(self) -> None:
        if self._patroni is not None:
            self._patroni.stop_all()
        super().stop_all()

    def _connect(self, node: Node, timeout: float, db: str = "postgres") -> psycopg.Connection:
        host, port = self._addr(node)
        return psycopg.connect(host=host, port=port, user="postgres", dbname=db,
                               connect_timeout=max(1, int(timeout + 0.999)), autocommit=True,
                               options=f"-c statement_timeout={int(timeout * 1000)}")

    def _wait_serving(self, node: Node, within: float) -> None:
        self.wait_until(lambda: self.healthy(node, timeout=1.0), within,
                        f"{node.name}: PostgreSQL did not start within {within:g}s")

    @staticmethod
    def wait_until(probe: Any, within: float, what: str) -> None:
        """Poll ``probe()`` (truthy, or an (ok, why) pair) until it holds; TargetError naming
        ``what`` and the last reason when ``within`` seconds pass."""
        deadline = time.monotonic() + within
        while True:
            got = probe()
            ok, why = got if isinstance(got, tuple) else (bool(got), "")
            if ok:
                return
            if time.monotonic() > deadline:
                raise TargetError(f"{what}: {why}" if why else what)
            time.sleep(0.2)

    @staticmethod
    def error(message: str) -> TargetError:
        return TargetError(message)

    def create_schema(self, node: Node) -> None:
        self._create_schema(node)

    def _create_schema(self, node: Node) -> None:
        # No standby exists yet: with synchronous_standby_names set, a commit that waited for
        # one would wait forever, so these commits are local.
        with self._connect(node, 10) as c:
            c.execute("SET synchronous_commit TO local")
            if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB,)).fetchone():
                c.execute(f"CREATE DATABASE {DB}")
        with self._connect(node, 10, DB) as c:
            c.execute("SET synchronous_commit TO local")
            for stmt in SCHEMA:
                c.execute(stmt)

    # -- health --------------------------------------------------------------------------
    def _in_recovery(self, node: Node, timeout: float) -> bool:
        with self._connect(node, timeout) as c:
            return bool(c.execute("SELECT pg_is_in_recovery()").fetchone()[0])

    def healthy(self, node: Node, timeout: float = 1.0) -> tuple[bool, str]:
        if self._patroni is not None:
            return self._patroni.healthy(node, timeout)
        if node not in self._servers():
            return True, ""  # a client-only node in the single topology
        if not self.daemons(node):
            return False, "postgres is not running"
        try:
            standby = self._in_recovery(node, timeout)
        except psycopg.Error as e:
            return False, str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if (node is self.nodes[0]) == standby:
            return False, "is a standby" if standby else "is not a standby"
        return True, ""

    def cluster_healthy(self, timeout: float = 1.0) -> tuple[bool, str]:
        ok, why = super().cluster_healthy(timeout)
        if ok and self._patroni is not None:
            return self._patroni.cluster_healthy(timeout)
        return ok, why

    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        if self._patroni is not None:
            return self._patroni.primaries(nodes)
        out = []
        for n in nodes:
            if n not in self._servers():
                continue
            try:
                if not self._in_recovery(n, 0.5):
                    out.append(n)
            except psycopg.Error:
                continue
        return out

    # -- clients -------------------------------------------------------------------------
    def client(self, node: Node, workload_name: str, options: Mapping[str, Any]) -> PgClient:
        self.check_workload(workload_name)
        primary = self._addr(self.nodes[0])
        kw: dict[str, Any] = {"node_name": node.name, "isolation": self.options["isolation"],
                              "dbname": DB}
        if workload_name == "bank":
            o = options or {}
            kw.update(accounts=o.get("accounts", 5), total=o.get("total", 100),
                      negative_balances=o.get("negative_balances", False))
        hosts = [primary]
        if self.options["read_from"] == "local" and node in self._servers():
            kw["read_host"] = self._addr(node)
        if self._patroni is not None:
            ips, port = self._patroni.client_ips(node), self.options["port"]
            kw["locate"] = lambda timeout: find_primary(ips, port, timeout, time.monotonic)
        return CLIENTS[workload_name](hosts, **kw)

    def log_files(self, node: Node) -> list[str]:
        try:
            own = super().log_files(node)
            return sorted(set(own + self._patroni.log_files(node))) if self._patroni else own
        except NodeError:
            return []
