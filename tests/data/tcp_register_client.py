"""The splitbrain client of tcp_register_server.py (the register workload).

Written for splitbrain (Apache-2.0); it imports only the public ``splitbrain`` API.
"""

from __future__ import annotations

import socket
from typing import Any

from splitbrain import CAS_MISMATCH, FAIL, INFO, OK, DefiniteFailure


class RegisterClient:
    """read / write / cas for the register workload; a request that may have been
    sent and got no reply is info, a refused connection is a definite failure."""

    def __init__(self, host: str, port: int) -> None:
        self.node: str | None = None   # the process target names the node
        self._addr = (host, port)
        self._sock: socket.socket | None = None
        self._file: Any = None

    def _connect(self, timeout: float) -> None:
        if self._sock is None:
            try:
                self._sock = socket.create_connection(self._addr, timeout=timeout)
            except OSError as e:
                raise DefiniteFailure(f"connect: {e}") from None
            self._file = self._sock.makefile("rwb")
        self._sock.settimeout(timeout)

    def invoke(self, f: str, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        self._connect(timeout)
        line = {"read": f"r {key}", "write": f"w {key} {value}",
                "cas": f"c {key} {value[0]} {value[1]}" if f == "cas" else ""}[f]
        try:
            self._file.write(line.encode() + b"\n")
            self._file.flush()
            reply = self._file.readline().decode().split()
        except OSError as e:
            self.close()
            return INFO, value, f"{type(e).__name__}: {e}"
        if not reply:
            self.close()
            return INFO, value, "connection closed"
        if f == "read":
            return OK, (int(reply[1]) if reply[0] == "v" else None), None
        return (OK, value, None) if reply[0] == "ok" else (FAIL, value, CAS_MISMATCH)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        self._sock = self._file = None
