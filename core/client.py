"""The client contract: what a worker drives, what a workload's ops mean to a target.

One ``Client`` for the whole code base (targets implement it, workloads name
its ``f``s, the harness' workers call it).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

# The error a client records for a cas whose compare failed (part of the history format).
from checkers.op_errors import CAS_MISMATCH  # noqa: F401

OK, FAIL, INFO = "ok", "fail", "info"


class DefiniteFailure(Exception):
    """Raised by a client when the op certainly did not take effect (e.g.
    connection refused before anything was sent): the worker records ``fail``
    and keeps its process.  Any other exception is recorded as ``info``."""


@runtime_checkable
class Client(Protocol):
    """One client process's connection to one node.

    ``invoke`` returns ``(type, value, error)``: ``type`` is ``"ok"``,
    ``"fail"`` (certainly not applied) or ``"info"`` (unknown); ``value`` the
    completion's value (a read's result); ``error`` a short string or None.
    It must return within about ``timeout`` seconds.  ``node`` (optional
    attribute) names the node it talks to; the runner records it on ops.

    The rules: ``fail`` only when the op certainly did not take effect (refused
    before sending, a compare that failed); raising :class:`DefiniteFailure` says
    the same.  Any other exception, and any timeout after the request may have
    left, is ``info`` — the checkers then consider both outcomes — and the worker
    replaces the client (a fresh process, ``close`` called on the old one).  A
    read that fails is ``fail`` (it changed nothing).  ``close`` must not raise.
    """

    def invoke(self, f: str, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]: ...

    def close(self) -> None: ...
