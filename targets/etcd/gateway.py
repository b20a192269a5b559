"""A minimal client for etcd v3's JSON gateway (grpc-gateway over HTTP/1.1).

Why the gateway and not a Python package: the python ``etcd3`` client is
unmaintained (last release 2020) and pins old grpc/protobuf; the gateway is
part of every etcd v3 server, documented (etcd.io "gRPC gateway": POST
``/v3/kv/range``, ``/v3/kv/put``, ``/v3/kv/txn``, keys and values base64 in
proto3 JSON), and the standard library's ``http.client`` gives us exact
control of timeouts and of *when* a request may have reached the server —
which decides whether a failed write is ``fail`` (certainly not applied) or
``info`` (unknown).

``http.client`` never consults ``http_proxy`` variables, so a proxy set in
the controller's environment cannot intercept traffic to the nodes.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from typing import Any


def b64(s: str | bytes) -> str:
    if isinstance(s, str):
        s = s.encode()
    return base64.b64encode(s).decode()


def unb64(s: str) -> bytes:
    return base64.b64decode(s)


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key with ``prefix`` (etcd's range_end rule)."""
    p = bytearray(prefix)
    while p:
        if p[-1] < 0xFF:
            p[-1] += 1
            return bytes(p)
        p.pop()
    return b"\x00"


class NotSent(Exception):
    """The request certainly did not reach the server (refused, or connect timed out)."""


class Indefinite(Exception):
    """The request may have reached the server; its effect is unknown."""


class ServerError(Exception):
    """The server answered with an error."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Gateway:
    """One keep-alive HTTP connection to one etcd member.

    Not thread-safe: each worker owns its own.  After any transport error the
    connection is dropped and the next call reconnects.
    """

    def __init__(self, host: str, port: int = 2379, connect_timeout: float = 1.0):
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
            self._conn = None

    def _connect(self, deadline: float) -> http.client.HTTPConnection:
        if self._conn is not None and self._conn.sock is not None:
            return self._conn
        self.close()
        t = max(0.01, min(self.connect_timeout, deadline - time.monotonic()))
        conn = http.client.HTTPConnection(self.host, self.port, timeout=t)
        try:
            conn.connect()
        except ConnectionRefusedError:
            raise NotSent("connection refused") from None
        except (socket.timeout, TimeoutError):
            raise NotSent("connect timeout") from None
        except OSError as e:
            raise NotSent(f"connect error: {e.strerror or e}") from None
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._conn = conn
        return conn

    def call(self, path: str, body: dict[str, Any], timeout: float) -> dict[str, Any]:
        """POST a JSON body; the whole call (connect + request + response) is bounded."""
        deadline = time.monotonic() + timeout
        conn = self._connect(deadline)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NotSent("timeout before sending")
        conn.sock.settimeout(remaining)
        data = json.dumps(body).encode()
        try:
            conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        except (OSError, http.client.HTTPException) as e:
            # A write error on a kept-alive socket: the server may have seen a prefix only,
            # which it cannot act on, but be conservative.
            self.close()
            raise Indefinite(f"send error: {e}") from None
        try:
            conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
            resp = conn.getresponse()
            raw = resp.read()
        except (socket.timeout, TimeoutError):
            self.close()
            raise Indefinite("timeout") from None
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise Indefinite(f"connection lost: {type(e).__name__}: {e}") from None
        try:
            doc = json.loads(raw) if raw else {}
        except ValueError:
            doc = {"error": raw[:200].decode(errors="replace")}
        if resp.status != 200 or (isinstance(doc, dict) and ("error" in doc and "header" not in doc)):
            msg = doc.get("message") or doc.get("error") or f"HTTP {resp.status}"
            raise ServerError(resp.status, str(msg))
        return doc

    def get(self, path: str, timeout: float) -> tuple[int, bytes]:
        deadline = time.monotonic() + timeout
        conn = self._connect(deadline)
        try:
            conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise Indefinite(f"{type(e).__name__}: {e}") from None

    # -- KV ------------------------------------------------------------------
    def range(self, key: bytes, *, serializable: bool, timeout: float,
              range_end: bytes | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"key": b64(key)}
        if range_end is not None:
            body["range_end"] = b64(range_end)
        if serializable:
            body["serializable"] = True
        return self.call("/v3/kv/range", body, timeout)

    def put(self, key: bytes, value: bytes, timeout: float) -> dict[str, Any]:
        return self.call("/v3/kv/put", {"key": b64(key), "value": b64(value)}, timeout)

    def txn(self, compare: list[dict], success: list[dict], timeout: float,
            failure: list[dict] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"compare": compare, "success": success}
        if failure:
            body["failure"] = failure
        return self.call("/v3/kv/txn", body, timeout)

    def status(self, timeout: float) -> dict[str, Any]:
        return self.call("/v3/maintenance/status", {}, timeout)
