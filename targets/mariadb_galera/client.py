"""Transactional clients for MariaDB Galera (PyMySQL): list-append, rw-register and bank.

One client is one connection to the node it is bound to: Galera is multi-primary, every node
takes reads and writes, so each client talks to its own node as Jepsen's Galera test does.

Outcome rules, decided where the failure happens (every call bounded by the op timeout):
- the connection cannot be opened, or the server answers an error (a MariaDB error number below
  2000) before or at COMMIT → ``fail``: 1213 is a deadlock or, with wsrep, a certification
  failure or a brute-force abort by a replicated write set; 1205 a lock wait timeout; 1047 a
  node outside the primary component ("WSREP has not yet prepared node for application use");
  the server has rolled the transaction back in every case;
- the connection is lost (client errors 2006/2013, the watchdog, a read timeout) after COMMIT was
  sent → ``info``: it may have committed; before COMMIT → ``fail`` (the server rolls an open
  transaction back when its connection goes).
PyMySQL's read/write timeouts bound each socket call, and a watchdog shuts the socket down at the
op timeout so a paused server never holds a worker longer.
"""

from __future__ import annotations

import abc
import math
from typing import Any, Callable

import pymysql
from pymysql.cursors import Cursor

from ..sql_txn import (FAIL, INFO, OK, Abort, SocketWatchdog, bank_seed_rows, bank_txn,
                       list_append_txn, rw_register_txn, short_error, sql_isolation)

# Keys are key_text() strings, short; a list's elements are decimal integers joined by commas
# (TEXT holds 64 KiB: ~3,000 appends of 20-digit values, far beyond a key's rolling window).
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS lists (k VARCHAR(64) PRIMARY KEY, v TEXT NOT NULL) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS registers (k VARCHAR(64) PRIMARY KEY, v BIGINT) ENGINE=InnoDB",
    "CREATE TABLE IF NOT EXISTS accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL) "
    "ENGINE=InnoDB",
)

# Client-side error numbers (CR_*) start at 2000: the server said nothing, the link broke.
_CLIENT_ERRORS_FROM = 2000


def _errno(e: pymysql.MySQLError) -> int | None:
    code = e.args[0] if e.args else None
    return code if isinstance(code, int) else None


class GaleraClient(abc.ABC):
    """Connection handling and outcome classification shared by every workload."""

    def __init__(self, host: tuple[str, int], *, node_name: str, isolation: str,
                 sync_wait: int = 0, dbname: str = "splitbrain", user: str = "splitbrain",
                 setup: Callable[[Cursor], None] | None = None) -> None:
        self.host = host
        self.node = node_name
        self.isolation = sql_isolation(isolation)
        self.sync_wait = sync_wait
        self.dbname = dbname
        self.user = user
        self._setup = setup
        self._conn: pymysql.connections.Connection | None = None

    def _connect(self, timeout: float) -> pymysql.connections.Connection:
        if self._conn is not None and self._conn.open:
            return self._conn
        host, port = self.host
        conn = pymysql.connect(host=host, port=port, user=self.user, password="",
                               database=self.dbname, autocommit=True,
                               connect_timeout=timeout, read_timeout=timeout,
                               write_timeout=timeout)
        try:
            with conn.cursor() as cur:
                # Server-side bounds too, so a blocked statement ends on the server and its
                # locks go (max_statement_time in seconds; innodb_lock_wait_timeout whole ones).
                cur.execute(f"SET SESSION TRANSACTION ISOLATION LEVEL {self.isolation}")
                cur.execute(f"SET @@SESSION.max_statement_time = {timeout:.3f}, "
                            "@@SESSION.innodb_lock_wait_timeout = "
                            f"{max(1, math.ceil(timeout))}, "
                            f"@@SESSION.wsrep_sync_wait = {int(self.sync_wait)}")
                if self._setup is not None:
                    self._setup(cur)
                    self._setup = None
        except pymysql.MySQLError:
            self._close(conn)
            raise
        self._conn = conn
        return conn

    @staticmethod
    def _close(conn: pymysql.connections.Connection | None) -> None:
        if conn is None:
            return
        try:
            conn.close()
        except pymysql.MySQLError:
            pass
        except Exception:  # close() on a half-closed socket may raise OSError subclasses
            pass

    def _drop(self) -> None:
        self._close(self._conn)
        self._conn = None

    def invoke(self, f: str, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        try:
            conn = self._connect(timeout)
        except pymysql.MySQLError as e:
            self._drop()
            return FAIL, None, f"connect: {short_error(e)}"
        commit_sent = False
        # conn._sock: PyMySQL keeps the socket there; asked only when the watchdog fires
        with SocketWatchdog(lambda: conn._sock.fileno(), timeout, (pymysql.MySQLError,)) as dog:
            try:
                with conn.cursor() as cur:
                    cur.execute("START TRANSACTION")
                    result = self.transact(cur, f, key, value)
                    commit_sent = True
                    cur.execute("COMMIT")
                return OK, result, None
            except Abort as e:
                self._rollback(conn)
                return FAIL, None, str(e)
            except pymysql.MySQLError as e:
                code = _errno(e)
                if code is not None and code < _CLIENT_ERRORS_FROM and not dog.fired:
                    # the server answered: the transaction is rolled back
                    self._rollback(conn)
                    return FAIL, None, f"{code}: {short_error(e)}"
                self._drop()
                why = "timeout" if dog.fired else short_error(e)
                return (INFO if commit_sent else FAIL), None, why
            except (OSError, AttributeError) as e:
                # the watchdog's shutdown can surface as a socket error or a closed _sock
                self._drop()
                why = "timeout" if dog.fired else short_error(e)
                return (INFO if commit_sent else FAIL), None, why

    def _rollback(self, conn: pymysql.connections.Connection) -> None:
        try:
            with conn.cursor() as cur:
                cur.execute("ROLLBACK")
        except (pymysql.MySQLError, OSError):
            self._drop()

    @abc.abstractmethod
    def transact(self, cur: Cursor, f: str, key: Any, value: Any) -> Any:
        """Run one op's statements inside the open transaction; return the completion value.
        Raise Abort to roll back on purpose (recorded as fail)."""

    def close(self) -> None:
        self._drop()


def _parse_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",")] if text else []


class ListAppendClient(GaleraClient):
    """``["append", k, v]`` appends to the row's text in one statement (CONCAT, so the append
    reads the current row under its lock, never a snapshot); ``["r", k, nil]`` reads it."""

    def transact(self, cur: Cursor, f: str, key: Any, value: Any) -> Any:
        def append(k: str, v: Any) -> None:
            cur.execute("INSERT INTO lists (k, v) VALUES (%s, %s) "
                        "ON DUPLICATE KEY UPDATE v = CONCAT(v, ',', VALUES(v))", (k, str(int(v))))

        def read(k: str) -> list:
            cur.execute("SELECT v FROM lists WHERE k = %s", (k,))
            row = cur.fetchone()
            return _parse_list(row[0]) if row else []
        return list_append_txn(f, value, append, read)


class RwRegisterClient(GaleraClient):
    """``["w", k, v]`` upserts the register; ``["r", k, nil]`` reads it (nil when never written)."""

    def transact(self, cur: Cursor, f: str, key: Any, value: Any) -> Any:
        def write(k: str, v: Any) -> None:
            cur.execute("INSERT INTO registers (k, v) VALUES (%s, %s) "
                        "ON DUPLICATE KEY UPDATE v = VALUES(v)", (k, v))

        def read(k: str) -> Any:
            cur.execute("SELECT v FROM registers WHERE k = %s", (k,))
            row = cur.fetchone()
            return row[0] if row else None
        return rw_register_txn(f, value, write, read)


class BankClient(GaleraClient):
    """Transfers between accounts, and reads of every balance, each in one transaction.

    The first connection seeds the accounts with one idempotent ``INSERT IGNORE``, so whichever
    client comes first, the rows appear together.  A transfer reads both balances and writes
    the new values (not ``balance = balance - n``): that read-then-write is what an isolation
    level that allows lost updates gets wrong."""

    def __init__(self, host: tuple[str, int], *, accounts: int = 5, total: int = 100,
                 negative_balances: bool = False, **kw: Any) -> None:
        def seed(cur: Cursor) -> None:
            rows = bank_seed_rows(total, accounts)
            cur.execute("INSERT IGNORE INTO accounts (id, balance) VALUES "
                        + ", ".join(["(%s, %s)"] * len(rows)), [x for r in rows for x in r])
        super().__init__(host, setup=seed, **kw)
        self.negative_balances = negative_balances

    def transact(self, cur: Cursor, f: str, key: Any, value: Any) -> Any:
        def query(sql: str, args: Any = None) -> list[tuple[int, int]]:
            cur.execute(sql, args)
            return [(int(i), int(b)) for i, b in cur.fetchall()]

        def read_some(ids: list[int]) -> list[tuple[int, int]]:
            return query("SELECT id, balance FROM accounts WHERE id IN ("
                         + ", ".join(["%s"] * len(ids)) + ")", ids)
        return bank_txn(f, value, negative_balances=self.negative_balances,
                        read_all=lambda: query("SELECT id, balance FROM accounts ORDER BY id"),
                        read_some=read_some,
                        set_balance=lambda i, b: cur.execute(
                            "UPDATE accounts SET balance = %s WHERE id = %s", (b, i)) and None)


CLIENTS: dict[str, type[GaleraClient]] = {
    "list-append": ListAppendClient,
    "rw-register": RwRegisterClient,
    "bank": BankClient,
}
