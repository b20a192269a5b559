"""Transactional clients for PostgreSQL (psycopg 3): list-append, rw-register and bank.

One client is one connection, opened lazily to the node it is bound to (or, for writes in the
``replicas`` topology, to the current primary), as a Jepsen client is.

Outcome rules, decided where the failure happens (every call bounded by the op timeout):
- the connection cannot be opened, or the server refuses the transaction before COMMIT was sent
  (serialization failure 40001, deadlock 40P01, read-only standby 25006, any SQL error) → ``fail``:
  PostgreSQL rolls back a transaction whose COMMIT it never received;
- the connection breaks or the call times out after COMMIT was sent → ``info``: it may have
  committed;
- the connection breaks before COMMIT was sent → ``fail`` (the server aborts an open transaction
  when its connection goes).
A watchdog shuts the socket down at the op timeout, so a paused server or a dropped network
never holds a worker past it (libpq has no per-call timeout of its own).
"""

from __future__ import annotations

import abc
import time
from typing import Any, Callable, Sequence

import psycopg
from psycopg import errors as pgerr

from ..sql_txn import (FAIL, INFO, ISOLATION_LEVELS, OK, Abort, SocketWatchdog, bank_seed_rows,
                       bank_txn, list_append_txn, rw_register_txn, short_error as _short,
                       sql_isolation)
# a write on a standby (25006); SERIALIZABLE on a hot standby (0A000)
STANDBY_REFUSALS = ("25006", "0A000")

ISOLATION = {level: sql_isolation(level) for level in ISOLATION_LEVELS}

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS lists (k text PRIMARY KEY, v bigint[] NOT NULL)",
    "CREATE TABLE IF NOT EXISTS registers (k text PRIMARY KEY, v bigint)",
    "CREATE TABLE IF NOT EXISTS accounts (id integer PRIMARY KEY, balance bigint NOT NULL)",
)


class PgClient(abc.ABC):
    """Connection handling and outcome classification shared by every workload."""

    def __init__(self, hosts: Sequence[tuple[str, int]], *, node_name: str, isolation: str,
                 dbname: str = "splitbrain", user: str = "postgres",
                 read_host: tuple[str, int] | None = None,
                 setup: Callable[[psycopg.Cursor], None] | None = None,
                 locate: Callable[[float], tuple[str, int]] | None = None) -> None:
        self.hosts = list(hosts)
        self.node = node_name
        self.isolation = ISOLATION[isolation]
        self.dbname = dbname
        self.user = user
        # read-only transactions go here (a replica) when set; everything else to hosts[0]
        self.read_host = read_host
        self._setup = setup
        # asked for the primary's address (within the timeout, OSError if none) on every new
        # connection, when the primary can move (Patroni); hosts[0] otherwise
        self._locate = locate
        self._conn: psycopg.Connection | None = None
        self._read_conn: psycopg.Connection | None = None

    # -- connections -----------------------------------------------------------------
    def _connect(self, timeout: float, read_only: bool = False) -> psycopg.Connection:
        if read_only and self.read_host is not None:
            if self._read_conn is None or self._read_conn.closed:
                self._read_conn = self._open(self.read_host, timeout)
            return self._read_conn
        if self._conn is not None and not self._conn.closed:
            return self._conn
        addr = self.hosts[0]
        if self._locate is not None:
            # half the op's budget at most to find it, the rest to connect
            t0 = time.monotonic()
            try:
                addr = self._locate(timeout / 2)
            except OSError as e:
                raise psycopg.OperationalError(f"no primary: {e}") from None
            timeout = max(0.1, timeout - (time.monotonic() - t0))
        self._conn = self._open(addr, timeout)
        if self._setup is not None:
            try:
                with self._conn.cursor() as cur:
                    self._setup(cur)
            except psycopg.Error:
                self._drop()
                raise
            self._setup = None
        return self._conn

    def _open(self, addr: tuple[str, int], timeout: float) -> psycopg.Connection:
        host, port = addr
        ms = max(100, int(timeout * 1000))
        return psycopg.connect(
            host=host, port=port, dbname=self.dbname, user=self.user,
            # autocommit: psycopg must not open transactions of its own; each op sends its
            # BEGIN ISOLATION LEVEL … and COMMIT explicitly, so we know when COMMIT was sent
            connect_timeout=max(1, int(timeout + 0.999)), autocommit=True,
            # unacknowledged data (a dropped network) closes the connection within the timeout
            tcp_user_timeout=ms, keepalives=1, keepalives_idle=1, keepalives_interval=1,
            keepalives_count=2,
            options=f"-c statement_timeout={ms} -c lock_timeout={ms} "
                    f"-c idle_in_transaction_session_timeout={4 * ms}")

    def _drop(self, conn: psycopg.Connection | None = None) -> None:
        for c in ([conn] if conn is not None else [self._conn, self._read_conn]):
            if c is None:
                continue
            try:
                c.close()
            except psycopg.Error:
                pass
            if c is self._conn:
                self._conn = None
            if c is self._read_conn:
                self._read_conn = None

    def read_only(self, f: str, value: Any) -> bool:
        """Whether the op only reads (and so may go to a replica)."""
        return f == "txn" and all(m[0] == "r" for m in value)

    def invoke(self, f: str, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        on_replica = self.read_host is not None and self.read_only(f, value)
        try:
            conn = self._connect(timeout, on_replica)
        except psycopg.Error as e:
            return FAIL, None, f"connect: {_short(e)}"
        # A hot standby refuses SERIALIZABLE ("cannot use serializable mode in a hot standby");
        # REPEATABLE READ is the strongest level it offers.
        level = "REPEATABLE READ" if on_replica and self.isolation == "SERIALIZABLE" \
            else self.isolation
        commit_sent = False
        with SocketWatchdog(conn.fileno, timeout, (psycopg.Error,)) as dog:
            try:
                with conn.cursor() as cur:
                    cur.execute(f"BEGIN ISOLATION LEVEL {level}")
                    result = self.transact(cur, f, key, value)
                    commit_sent = True
                    cur.execute("COMMIT")
                return OK, result, None
            except (pgerr.SerializationFailure, pgerr.DeadlockDetected) as e:
                self._rollback(conn)
                return FAIL, None, f"{e.sqlstate}: {_short(e)}"
            except Abort as e:
                self._rollback(conn)
                return FAIL, None, str(e)
            except (psycopg.OperationalError, psycopg.InterfaceError) as e:
                self._drop(conn)
                why = "timeout" if dog.fired else _short(e)
                return (INFO if commit_sent else FAIL), None, why
            except psycopg.Error as e:
                # the server answered with an error: this transaction is rolled back
                if conn.closed or conn.broken:
                    self._drop(conn)
                    return (INFO if commit_sent else FAIL), None, _short(e)
                self._rollback(conn)
                if e.sqlstate in STANDBY_REFUSALS and self._locate is not None:
                    # our primary was demoted (or is still promoting): ask again next op
                    self._drop(conn)
                return FAIL, None, f"{e.sqlstate or ''}: {_short(e)}"

    def _rollback(self, conn: psycopg.Connection) -> None:
        try:
            if not conn.closed:
                conn.execute("ROLLBACK")
        except psycopg.Error:
            self._drop(conn)

    @abc.abstractmethod
    def transact(self, cur: psycopg.Cursor, f: str, key: Any, value: Any) -> Any:
        """Run one op's statements inside the open transaction; return the completion value.
        Raise Abort to roll back on purpose (recorded as fail)."""

    def close(self) -> None:
        self._drop()


class ListAppendClient(PgClient):
    """``["append", k, v]`` appends to the row's array in one statement; ``["r", k, nil]`` reads it."""

    def transact(self, cur: psycopg.Cursor, f: str, key: Any, value: Any) -> Any:
        def append(k: str, v: Any) -> None:
            cur.execute("INSERT INTO lists (k, v) VALUES (%s, ARRAY[%s]::bigint[]) "
                        "ON CONFLICT (k) DO UPDATE SET v = lists.v || EXCLUDED.v", (k, v))

        def read(k: str) -> list:
            row = cur.execute("SELECT v FROM lists WHERE k = %s", (k,)).fetchone()
            return list(row[0]) if row else []
        return list_append_txn(f, value, append, read)


class RwRegisterClient(PgClient):
    """``["w", k, v]`` upserts the register; ``["r", k, nil]`` reads it (nil when never written)."""

    def transact(self, cur: psycopg.Cursor, f: str, key: Any, value: Any) -> Any:
        def write(k: str, v: Any) -> None:
            cur.execute("INSERT INTO registers (k, v) VALUES (%s, %s) "
                        "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v", (k, v))

        def read(k: str) -> Any:
            row = cur.execute("SELECT v FROM registers WHERE k = %s", (k,)).fetchone()
            return row[0] if row else None
        return rw_register_txn(f, value, write, read)


class BankClient(PgClient):
    """Transfers between accounts, and reads of every balance, each in one transaction.

    The first connection seeds the accounts (``total`` spread evenly over ``accounts``) in one
    idempotent statement, so whichever client comes first, the rows appear together."""

    def __init__(self, hosts: Sequence[tuple[str, int]], *, accounts: int = 5, total: int = 100,
                 negative_balances: bool = False, **kw: Any) -> None:
        def seed(cur: psycopg.Cursor) -> None:
            rows = bank_seed_rows(total, accounts)
            cur.execute("INSERT INTO accounts (id, balance) SELECT * FROM unnest(%s::int[], "
                        "%s::bigint[]) ON CONFLICT (id) DO NOTHING",
                        ([r[0] for r in rows], [r[1] for r in rows]))
        super().__init__(hosts, setup=seed, **kw)
        self.negative_balances = negative_balances

    def read_only(self, f: str, value: Any) -> bool:
        return f == "read"

    def transact(self, cur: psycopg.Cursor, f: str, key: Any, value: Any) -> Any:
        return bank_txn(
            f, value, negative_balances=self.negative_balances,
            read_all=lambda: cur.execute("SELECT id, balance FROM accounts ORDER BY id").fetchall(),
            read_some=lambda ids: cur.execute("SELECT id, balance FROM accounts WHERE id = ANY(%s)",
                                              (ids,)).fetchall(),
            set_balance=lambda i, b: cur.execute("UPDATE accounts SET balance = %s WHERE id = %s",
                                                 (b, i)) and None)


CLIENTS: dict[str, type[PgClient]] = {
    "list-append": ListAppendClient,
    "rw-register": RwRegisterClient,
    "bank": BankClient,
}
