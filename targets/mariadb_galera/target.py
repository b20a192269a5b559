"""MariaDB Galera Cluster (Debian's ``mariadb-server`` + ``galera-4``, rsync state transfer).

One ``mariadbd`` per node with its own data directory, socket and pid file under the node's data
directory, bound to the node's address; every node lists every other in
``wsrep_cluster_address``.  The first node bootstraps the cluster (``--wsrep-new-cluster``), the
others join it and receive a state transfer (SST, by rsync) from a donor.

Restarts after a kill (``start``):
- some other node's server is running → the node simply rejoins (IST from a donor's gcache, or
  a full SST);
- no server is running anywhere (the whole cluster died) → bootstrap from the node holding the
  most recent state, as the Galera documentation's "crash recovery" procedure does: a node whose
  ``grastate.dat`` says ``safe_to_bootstrap: 1``, else the highest seqno — read from
  ``grastate.dat``, or after a crash (seqno -1 there) from ``mariadbd --wsrep-recover``.  That
  node is marked safe and started with ``--wsrep-new-cluster``, the others join it.

The server runs as ``mysql`` through ``setpriv`` (execs without forking, so the recorded pid is
mariadbd's; SST helpers it spawns stay in its process group).  Nothing outside the node's data
directory is read or changed (``--no-defaults``/``--defaults-file``).
"""

from __future__ import annotations

import re
import time
from typing import Any, Mapping, Sequence

import pymysql

from core.nodes import Node, NodeError
from core.options import Option, int_at_least, one_of

from ..base import KillsDaemons, LogPattern, Target, TargetError
from ..sql_txn import ISOLATION_LEVELS
from .client import CLIENTS, SCHEMA, GaleraClient

MARIADBD = "/usr/sbin/mariadbd"
PROVIDER = "/usr/lib/galera/libgalera_smm.so"
DB = "splitbrain"
USER = "splitbrain"
GCOMM_PORT, IST_PORT, SST_PORT = 4567, 4568, 4444
# The rsync daemon the joiner's SST script starts looks up each donor connection's address
# in DNS (rsync's "reverse lookup", on by default; the script's rsyncd.conf cannot be
# changed).  Measured on netns nodes, where the host's name server is unreachable: each of
# the SST's eight rsync connections waited 10.2 s (glibc: 5 s x 2 attempts), 80 s per joiner.
# glibc reads RES_OPTIONS from the environment; 1 s and one attempt is its floor.
RESOLVER_ENV = "RES_OPTIONS=timeout:1 attempts:1"


def grastate(text: str) -> tuple[str, int, bool]:
    """``(uuid, seqno, safe_to_bootstrap)`` from a ``grastate.dat``; seqno -1 when unknown."""
    fields = dict(re.findall(r"^\s*([a-z_]+):\s*(\S*)\s*$", text, flags=re.M))
    try:
        seqno = int(fields.get("seqno", "-1"))
    except ValueError:
        seqno = -1
    return fields.get("uuid", ""), seqno, fields.get("safe_to_bootstrap", "0") == "1"


def recovered_seqno(log: str) -> int:
    """The seqno ``mariadbd --wsrep-recover`` logs ("WSREP: Recovered position: uuid:seqno")."""
    m = re.findall(r"Recovered position:\s*[0-9a-f-]+:(-?\d+)", log)
    return int(m[-1]) if m else -1


def bootstrap_choice(states: Sequence[tuple[str, int, bool]]) -> int:
    """Index of the node to bootstrap from: the one marked safe, else the highest seqno (the
    first such on a tie, which is as good: equal seqnos hold equal state)."""
    for i, (_, _, safe) in enumerate(states):
        if safe:
            return i
    return max(range(len(states)), key=lambda i: (states[i][1], -i))


class GaleraTarget(KillsDaemons, Target):
    name = "mariadb-galera"
    description = "MariaDB Galera Cluster: multi-primary synchronous replication " \
                  "(Debian mariadb-server + galera-4, rsync SST)"
    packages = ("mariadb-server", "galera-4", "rsync")
    workloads = tuple(CLIENTS)
    log_patterns = (
        LogPattern("mariadb-assert", r"(?i)assertion failure|Assertion `.*' failed",
                   "an assertion failed"),
        LogPattern("mariadb-signal", r"mariadbd got signal (?:6|11)\b",
                   "mariadbd crashed (SIGABRT/SIGSEGV) by itself"),
        # Not invalid: the server giving up is no consistency violation, but the run must say
        # that a node went down without a fault (the kill fault's heal restarts it).  Measured:
        # a joiner whose rsync died logs "SST request callback failed. This is unrecoverable,
        # restart required." and ends with "/usr/sbin/mariadbd: Terminated."; other fatal
        # startup errors end with "[ERROR] Aborting".
        LogPattern("mariadb-gave-up", r"(?:\[ERROR\] Aborting|/mariadbd: Terminated\.)\s*$",
                   "mariadbd gave up and exited by itself (e.g. a joiner whose state "
                   "transfer failed)", invalid=False),
        LogPattern("innodb-corrupt", r"(?i)\[ERROR\] InnoDB: .*(?:corrupt|checksum mismatch|"
                   r"page \[page id: .*\] log sequence number .* is in the future)",
                   "InnoDB reported corruption"),
        # Fatal wsrep errors, not the routine ones a partition or a kill causes ("failed to
        # open gcomm backend connection" while peers are down, "SST … failed" on a killed donor).
        LogPattern("wsrep-inconsistency", r"\[ERROR\] WSREP: .*(?:[Ii]nconsisten|"
                   r"Failed to apply (?:trx|write set)|Failed to execute TOI action|"
                   r"Node consistency compromised)",
                   "Galera found the node's data inconsistent with the cluster"),
    )
    OPTIONS = {
        "port": Option(3306, int_at_least(1)),
        "isolation": Option("serializable", one_of(*ISOLATION_LEVELS)),
        # a bitmask: 1 = reads wait until the node has applied everything committed before
        # them, 2 = UPDATE/DELETE, 4 = INSERT/REPLACE, 8 = SHOW (MariaDB's wsrep_sync_wait)
        "wsrep_sync_wait": Option(0, lambda v: None if isinstance(v, int) and not
                                  isinstance(v, bool) and 0 <= v <= 15
                                  else "an integer 0-15 (a bitmask)"),
        "innodb_flush_log_at_trx_commit": Option(1, one_of(0, 1, 2)),
    }

    def consistency_models(self) -> list[str]:
        """What the isolation level promises cluster-wide, the default the checkers judge.

        - ``serializable``: snapshot isolation.  Galera honours SERIALIZABLE only between
          transactions on the same node (InnoDB's shared read locks are local); between nodes
          it certifies write sets only, first committer wins, which its documentation calls
          snapshot isolation.  Measured here: cross-node G2-item (write skew) at SERIALIZABLE
          with wsrep_sync_wait 0 and 1 (examples/galera-sync-wait-*.yaml).  Not strong: with
          ``wsrep_sync_wait`` 0 a node may read before applying a transaction another node
          already acknowledged (stale reads);
        - ``repeatable-read`` and ``read-committed``: read committed.  InnoDB's REPEATABLE READ
          is neither snapshot isolation nor Adya's repeatable read: it allows lost update,
          G2-item and G-single and violates monotonic atomic view (Jepsen, "MySQL 8.0.34",
          2023; MariaDB behaves the same, Kingsbury on discuss@lists.mariadb.org), and Galera
          adds lost updates and stale reads of its own even in a healthy cluster (Jepsen,
          "MariaDB Galera Cluster 12.1.2", 2026; MariaDB's "Known Limitations" page)."""
        if self.options["isolation"] == "serializable":
            return ["snapshot-isolation"]
        return ["read-committed"]

    # -- paths ---------------------------------------------------------------------------
    def _dir(self, node: Node) -> str:
        return self.data_path(node, "mariadb")

    def _datadir(self, node: Node) -> str:
        return f"{self._dir(node)}/data"

    def _run_dir(self, node: Node) -> str:
        # beside the durable directory, not in it: a socket and a pid file are no durable state
        return self.data_path(node, "mariadb-run")

    def _socket(self, node: Node) -> str:
        return f"{self._run_dir(node)}/mysqld.sock"

    def _cnf(self, node: Node) -> str:
        return f"{self._run_dir(node)}/my.cnf"

    def _log(self, node: Node) -> str:
        # mariadbd's error log is its stderr (no --log-error): the node's data directory is
        # root's, and the server, running as mysql, could not create a file there
        return self.data_path(node, "mariadbd.log")

    def durable_dir(self, node: Node) -> str:
        """Everything mariadbd keeps: InnoDB files and redo log, Galera's grastate and gcache."""
        return self._dir(node)

    def file_classes(self, node: Node) -> dict[str, list[str]]:
        return {"wal": ["data/ib_logfile*"], "data": ["data/ibdata*", f"data/{DB}/*.ibd"],
                "gcache": ["data/galera.cache"], "control": ["data/grastate.dat"]}

    def _as_mysql(self, argv: Sequence[str]) -> list[str]:
        return ["setpriv", "--reuid=mysql", "--regid=mysql", "--init-groups", "--", *argv]

    def _addr(self, node: Node) -> tuple[str, int]:
        return node.ip, self.options["port"]

    # -- lifecycle -----------------------------------------------------------------------
    def setup(self, nodes: Sequence[Node], *, health_timeout: float = 30.0) -> None:
        self.install_and_configure(nodes)
        first = self.nodes[0]
        self._start(first, bootstrap=True)
        self._wait_synced(first, max(60.0, health_timeout))
        self._create_schema(first)
        for n in self.nodes[1:]:
            self._start(n, bootstrap=False)

    def install(self, node: Node) -> None:
        self.ensure_installed(node, f"test -x {MARIADBD} && test -r {PROVIDER} && "
                                    "command -v rsync && command -v mariadb-install-db && "
                                    "command -v setpriv && id mysql",
                              f"{MARIADBD}, {PROVIDER} or rsync not found")

    def configure(self, node: Node) -> None:
        d, data, run = self._dir(node), self._datadir(node), self._run_dir(node)
        node.check(["rm", "-rf", data, run], timeout=30)
        node.check(["mkdir", "-p", data, run], timeout=10)
        node.check(["chown", "-R", "mysql:mysql", d, run], timeout=10)
        node.put_file(self._cnf(node), self._my_cnf(node).encode())
        node.check(self._as_mysql(["mariadb-install-db", "--no-defaults", f"--datadir={data}",
                                   "--auth-root-authentication-method=socket",
                                   "--skip-test-db", "--skip-name-resolve"]), timeout=180)

    def _my_cnf(self, node: Node) -> str:
        o = self.options
        members = ",".join(f"{n.ip}:{GCOMM_PORT}" for n in self.nodes)
        provider_opts = "; ".join([
            f"gmcast.listen_addr=tcp://{node.ip}:{GCOMM_PORT}",
            f"ist.recv_addr={node.ip}:{IST_PORT}",
            "gcache.size=64M",
            # A joiner that cannot reach a primary component waits instead of aborting after
            # the default 30 s: a node restarted during a partition rejoins when it heals.
            "pc.wait_prim_timeout=PT600S",
        ])
        return "\n".join([
            "[mariadbd]",
            f"datadir={self._datadir(node)}",
            f"socket={self._socket(node)}",
            f"pid-file={self._run_dir(node)}/mysqld.pid",
            f"bind-address={node.ip}",
            f"port={o['port']}",
            "skip-name-resolve",
            "performance_schema=OFF",
            "max_connections=300",
            # small: up to five servers share a 2-core test machine with other databases
            "innodb_buffer_pool_size=32M",
            "innodb_log_file_size=8M",
            f"innodb_flush_log_at_trx_commit={o['innodb_flush_log_at_trx_commit']}",
            "innodb_autoinc_lock_mode=2",
            "binlog_format=ROW",
            "default_storage_engine=InnoDB",
            "wsrep_on=ON",
            f"wsrep_provider={PROVIDER}",
            f"wsrep_provider_options=\"{provider_opts}\"",
            "wsrep_cluster_name=splitbrain",
            f"wsrep_cluster_address=gcomm://{members}",
            f"wsrep_node_address={node.ip}",
            f"wsrep_node_name={node.name}",
            f"wsrep_sst_receive_address={node.ip}:{SST_PORT}",
            "wsrep_sst_method=rsync",
            "wsrep_slave_threads=2",
            f"wsrep_sync_wait={o['wsrep_sync_wait']}",
            "",
        ])

    def start(self, node: Node) -> None:
        """Start the node's server again: rejoin the running cluster, or, when no server runs
        anywhere, bootstrap the cluster from the node with the most recent state first."""
        if self.daemons(node):
            return
        if not self.nodes:
            raise TargetError("mariadb-galera: start before setup (no cluster known)")
        if any(self.daemons(n) for n in self.nodes if n is not node):
            self._start(node, bootstrap=False)
            return
        down = [n for n in self.nodes if not self.daemons(n)]
        first = down[bootstrap_choice([self._last_state(n) for n in down])]
        self._mark_safe_to_bootstrap(first)
        self._start(first, bootstrap=True)
        if first is not node:
            self._start(node, bootstrap=False)

    def _start(self, node: Node, *, bootstrap: bool) -> None:
        # The fault environment (libfaketime) is applied after setpriv has dropped to mysql,
        # as for PostgreSQL: libfaketime initialised as root would leave state the mysql-owned
        # server cannot use.
        fault_env = [f"{k}={v}" for k, v in sorted(self.daemon_env(node).items())]
        argv = self._as_mysql(["env", RESOLVER_ENV, *fault_env, MARIADBD, f"--defaults-file={self._cnf(node)}",
                               *(["--wsrep-new-cluster"] if bootstrap else [])])
        self.track(node, node.start_daemon("mariadbd", argv,
                                            log_path=self._log(node)))

    # -- full-cluster recovery ------------------------------------------------------------
    def _last_state(self, node: Node) -> tuple[str, int, bool]:
        r = node.exec(["cat", f"{self._datadir(node)}/grastate.dat"], timeout=10)
        state = grastate(r.text() if r.ok else "")
        if state[1] >= 0 or state[2]:
            return state
        # seqno -1: the server crashed; InnoDB's redo log knows the last committed seqno
        log = f"{self._run_dir(node)}/wsrep-recover.log"
        node.exec(["rm", "-f", log], timeout=10)
        node.exec(self._as_mysql([MARIADBD, f"--defaults-file={self._cnf(node)}",
                                  "--wsrep-recover", f"--log-error={log}"]), timeout=120)
        r = node.exec(["cat", log], timeout=10)
        return state[0], recovered_seqno(r.text() if r.ok else ""), False

    def _mark_safe_to_bootstrap(self, node: Node) -> None:
        path = f"{self._datadir(node)}/grastate.dat"
        node.exec(["sed", "-i", "s/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/", path], timeout=10)

    # -- administration over the node's socket --------------------------------------------
    def _admin(self, node: Node, sql: str, timeout: float = 10.0) -> str:
        """Run SQL as root over the node's Unix socket (root logs in by unix_socket auth)."""
        r = node.exec(["mariadb", "--no-defaults", f"--socket={self._socket(node)}", "-u",
                       "root", "-N", "-B", "-e", sql], timeout=timeout)
        if not r.ok:
            raise TargetError(f"{node.name}: mariadb: "
                              f"{r.stderr.decode(errors='replace').strip()[-300:]}")
        return r.text()

    def _wait_synced(self, node: Node, within: float) -> None:
        deadline = time.monotonic() + within
        why = "not checked"
        while time.monotonic() < deadline:
            if not self.daemons(node):
                raise TargetError(f"{node.name}: mariadbd exited during startup "
                                  f"(see {self._log(node)})")
            try:
                out = self._admin(node, "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'", 5)
                if "Synced" in out:
                    return
                why = out.strip()
            except (TargetError, NodeError) as e:
                why = str(e)
            time.sleep(0.3)
        raise TargetError(f"{node.name}: Galera did not reach Synced within {within:g}s: {why}")

    def _create_schema(self, node: Node) -> None:
        # DDL and CREATE USER replicate to every node (total order isolation)
        tables = "; ".join(SCHEMA)
        self._admin(node, f"CREATE USER IF NOT EXISTS '{USER}'@'%'; "
                          f"GRANT ALL ON {DB}.* TO '{USER}'@'%'; "
                          f"CREATE DATABASE IF NOT EXISTS {DB}; USE {DB}; {tables}", 60)

    # -- health --------------------------------------------------------------------------
    def _status(self, node: Node, timeout: float) -> dict[str, str]:
        host, port = self._addr(node)
        conn = pymysql.connect(host=host, port=port, user=USER, password="", database=DB,
                               connect_timeout=timeout, read_timeout=timeout,
                               write_timeout=timeout)
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', "
                            "'wsrep_cluster_status', 'wsrep_local_state_comment')")
                return {str(k): str(v) for k, v in cur.fetchall()}
        finally:
            conn.close()

    def _serving(self, node: Node, timeout: float) -> tuple[bool, str]:
        try:
            s = self._status(node, timeout)
        except (pymysql.MySQLError, OSError) as e:
            text = str(e).strip().splitlines()
            return False, text[0] if text else type(e).__name__
        if s.get("wsrep_cluster_status") != "Primary":
            return False, f"in a {s.get('wsrep_cluster_status', '?')} component"
        if s.get("wsrep_local_state_comment") != "Synced" or s.get("wsrep_ready") != "ON":
            return False, f"state {s.get('wsrep_local_state_comment', '?')}"
        return True, ""

    def healthy(self, node: Node, timeout: float = 1.0) -> tuple[bool, str]:
        """The node is Synced, ready, and in the primary component."""
        if not self.daemons(node):
            return False, "mariadbd is not running"
        return self._serving(node, timeout)

    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """Galera is multi-primary: every Synced node in the primary component takes writes.
        For ``isolate-primary`` the primary is the *first* such node in node order — the node
        process 0's clients write to while the cluster is whole — so cutting it off leaves a
        majority that goes on committing, and its clients see a node outside the primary
        component (writes refused with 1047), not a dead one."""
        for n in nodes:
            if self.daemons(n) and self._serving(n, 0.5)[0]:
                return [n]
        return []

    # -- clients -------------------------------------------------------------------------
    def client(self, node: Node, workload_name: str, options: Mapping[str, Any]) -> GaleraClient:
        self.check_workload(workload_name)
        kw: dict[str, Any] = {"node_name": node.name, "isolation": self.options["isolation"],
                              "sync_wait": self.options["wsrep_sync_wait"], "dbname": DB,
                              "user": USER}
        if workload_name == "bank":
            o = options or {}
            kw.update(accounts=o.get("accounts", 5), total=o.get("total", 100),
                      negative_balances=o.get("negative_balances", False))
        return CLIENTS[workload_name](self._addr(node), **kw)

    def log_files(self, node: Node) -> list[str]:
        try:
            return sorted(set(super().log_files(node) + [self._log(node)]))
        except NodeError:
            return [self._log(node)]
