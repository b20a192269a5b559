"""What every SQL target's transactional client shares, whatever its driver: the outcome names,
the watchdog that bounds a blocked call, the key encoding, and the workloads' logic
(list-append, rw-register, bank) written once over a target's own statements.

A target supplies the statements (one small function per micro-op, in its SQL dialect); the
micro-op order, the completion values and the bank's overdraw rule live here, so PostgreSQL and
MariaDB clients record exactly the same history shapes.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any, Callable, Sequence

OK, FAIL, INFO = "ok", "fail", "info"

ISOLATION_LEVELS = ("read-committed", "repeatable-read", "serializable")


def sql_isolation(level: str) -> str:
    """``repeatable-read`` -> ``REPEATABLE READ`` (PostgreSQL and MariaDB spell them alike)."""
    return level.replace("-", " ").upper()


class Abort(Exception):
    """The transaction itself decided not to commit (e.g. a transfer that would overdraw)."""


def short_error(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]


def key_text(k: Any) -> str:
    # Keys are stored as text so integer and string keys never collide by accident:
    # the JSON spelling keeps 1 and "1" apart.
    return f"i:{k}" if isinstance(k, int) and not isinstance(k, bool) else f"s:{k}"


class SocketWatchdog:
    """Shuts a connection's socket down if a call outlives its timeout.

    Neither libpq nor PyMySQL bounds a whole call (a paused server keeps the TCP connection
    alive), so this is what keeps a worker within op_timeout.  ``fileno`` is asked only when
    the timer fires, and ``swallow`` are the driver's errors for an already closed socket."""

    def __init__(self, fileno: Callable[[], int], timeout: float,
                 swallow: tuple[type[BaseException], ...] = ()) -> None:
        self.fired = False
        self._fileno = fileno
        self._swallow = (OSError, ValueError, AttributeError, *swallow)
        self._timer = threading.Timer(timeout, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        try:
            # shutdown() on a duplicate acts on the shared socket and wakes the blocked reader
            s = socket.socket(fileno=os.dup(self._fileno()))
            try:
                s.shutdown(socket.SHUT_RDWR)
            finally:
                s.close()
        except self._swallow:
            pass

    def __enter__(self) -> "SocketWatchdog":
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


# -- the workloads, over a target's statements ------------------------------------------------

def _micro_op_txn(workload: str, write_kind: str, f: str, value: Sequence[Sequence[Any]],
                  write: Callable[[str, Any], None], read: Callable[[str], Any]) -> list:
    if f != "txn":
        raise ValueError(f"{workload} client: unknown f {f!r}")
    out = []
    for kind, k, v in value:
        if kind == write_kind:
            write(key_text(k), v)
            out.append([kind, k, v])
        elif kind == "r":
            out.append(["r", k, read(key_text(k))])
        else:
            raise ValueError(f"{workload} client: unknown micro-op {kind!r}")
    return out


def list_append_txn(f: str, value: Sequence[Sequence[Any]], append: Callable[[str, Any], None],
                    read: Callable[[str], list]) -> list:
    """``["append", k, v]`` appends in one statement; ``["r", k, nil]`` reads the list."""
    return _micro_op_txn("list-append", "append", f, value, append, read)


def rw_register_txn(f: str, value: Sequence[Sequence[Any]], write: Callable[[str, Any], None],
                    read: Callable[[str], Any]) -> list:
    """``["w", k, v]`` upserts the register; ``["r", k, nil]`` reads it (nil when never written)."""
    return _micro_op_txn("rw-register", "w", f, value, write, read)


def bank_seed_rows(total: int, accounts: int) -> list[tuple[int, int]]:
    """``total`` spread as evenly as it goes over ``accounts`` rows ``(id, balance)``."""
    each, extra = divmod(total, accounts)
    return [(i, each + (1 if i < extra else 0)) for i in range(accounts)]


def bank_txn(f: str, value: Any, *, read_all: Callable[[], list[tuple[int, int]]],
             read_some: Callable[[list[int]], list[tuple[int, int]]],
             set_balance: Callable[[int, int], None], negative_balances: bool) -> Any:
    """A read of every balance, or a transfer that reads both balances, refuses to overdraw
    (unless allowed) and writes both."""
    if f == "read":
        return {str(i): b for i, b in read_all()}
    if f == "transfer":
        src, dst, amount = value["from"], value["to"], value["amount"]
        bal = dict(read_some([src, dst]))
        if src not in bal or dst not in bal:
            raise Abort(f"no account {src if src not in bal else dst}")
        if bal[src] - amount < 0 and not negative_balances:
            raise Abort("insufficient funds")
        set_balance(src, bal[src] - amount)
        set_balance(dst, bal[dst] + amount)
        return value
    raise ValueError(f"bank client: unknown f {f!r}")
