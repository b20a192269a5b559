"""ZooKeeper's four-letter words (``srvr``, ``mntr``) over a bounded TCP socket."""

from __future__ import annotations

import socket
import time


class FourLetterError(Exception):
    pass


def four_letter(host: str, port: int, word: str, timeout: float = 1.0) -> str:
    """Send ``word`` and read until the server closes; FourLetterError on any failure."""
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(word.encode())
            chunks = []
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise FourLetterError(f"{word} to {host}:{port}: timeout after {timeout}s")
                s.settimeout(left)
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
    except OSError as e:
        raise FourLetterError(f"{word} to {host}:{port}: {e}") from None
    return b"".join(chunks).decode(errors="replace")


def mode(host: str, port: int, timeout: float = 1.0) -> str:
    """``leader``, ``follower``, ``observer``, or ``not serving`` (no quorum)."""
    text = four_letter(host, port, "srvr", timeout)
    for line in text.splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    if "not currently serving" in text:
        return "not serving"
    if "is not executed because it is not in the whitelist" in text:
        raise FourLetterError(f"srvr refused by {host}:{port}: not in 4lw.commands.whitelist")
    raise FourLetterError(f"srvr from {host}:{port}: unexpected answer {text[:120]!r}")
