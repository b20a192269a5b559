"""One bounded RESP connection, split into "not sent" and "sent, outcome unknown".

redis-py (>= 6) retries connects and commands by default; a Jepsen-style client
must not, so every connection is built with zero retries and the caller's
deadline becomes the socket timeouts.
"""

from __future__ import annotations

import inspect
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry


class NotSent(Exception):
    """The command certainly never reached the server (no connection)."""


class Indefinite(Exception):
    """The command may have been executed: the reply was lost or late."""


class Refused(Exception):
    """The server answered with an error; ``message`` is redis' text."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _no_setinfo() -> dict[str, Any]:
    # No CLIENT SETINFO handshake: one round trip fewer inside the op's budget.
    # redis-py >= 7 spells it driver_info=None; older versions lib_name/lib_version.
    params = inspect.signature(redis.connection.AbstractConnection.__init__).parameters
    if "driver_info" in params:
        return {"driver_info": None}
    return {"lib_name": None, "lib_version": None}


_NO_SETINFO = _no_setinfo()


def _conn(host: str, port: int, timeout: float) -> redis.Connection:
    return redis.Connection(host=host, port=port, socket_timeout=timeout,
                            socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
                            retry_on_timeout=False, retry_on_error=[], socket_keepalive=True,
                            **_NO_SETINFO)


class Conn:
    """A lazily (re)connected connection to one redis or sentinel address."""

    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self._c: redis.Connection | None = None

    @property
    def addr(self) -> tuple[str, int]:
        return self.host, self.port

    def close(self) -> None:
        if self._c is not None:
            try:
                self._c.disconnect()
            except Exception:  # noqa: BLE001 - closing a broken socket may raise anything
                pass
            self._c = None

    def call(self, *args: Any, timeout: float) -> Any:
        """Send one command and read its reply within ``timeout`` seconds."""
        timeout = max(0.01, timeout)
        if self._c is None:
            self._c = _conn(self.host, self.port, timeout)
        c = self._c
        c.socket_timeout = timeout
        c.socket_connect_timeout = timeout
        if c._sock is None:
            try:
                c.connect()
            except (redis.ConnectionError, redis.TimeoutError, OSError) as e:
                self.close()
                raise NotSent(f"connect {self.host}:{self.port}: {_short(e)}") from None
        try:
            # The socket keeps the timeout it was connected with; this op's budget wins.
            if c._sock is not None:
                c._sock.settimeout(timeout)
            c.send_command(*args)
            reply = c.read_response(disconnect_on_error=True)
        except redis.ResponseError as e:
            raise Refused(str(e)) from None
        except (redis.TimeoutError, TimeoutError) as e:
            self.close()
            raise Indefinite(f"timeout after {timeout:.2f}s from {self.host}:{self.port}") from e
        except (redis.ConnectionError, OSError) as e:
            self.close()
            raise Indefinite(f"{self.host}:{self.port}: {_short(e)}") from None
        if isinstance(reply, redis.ResponseError):
            raise Refused(str(reply))
        return reply


def _short(e: BaseException) -> str:
    s = str(e).strip().splitlines()
    return s[0][:200] if s else type(e).__name__
