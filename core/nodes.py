"""The node contract: what targets and faults may ask of a node.

Targets and nemeses are written once against :class:`Node` and
:class:`Provider`; the netns, docker and ssh providers implement them.
Commands are argv lists — quoting is the provider's job, never the caller's;
a shell is used only through :meth:`Node.sh`, where the caller asks for one.
"""

from __future__ import annotations

import abc
import signal as _signal
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence


class NodeError(RuntimeError):
    """A node operation failed; the message names the node and what was asked."""


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def text(self) -> str:
        return self.stdout.decode(errors="replace")


@dataclass
class Daemon:
    """A long-running process started on a node.

    ``pid`` is the real server's pid as seen from where the provider signals
    it; ``pgid`` the process group that holds it and its children, so a
    pause freezes everything the daemon started.
    """

    node: str
    name: str
    argv: list[str]
    pid: int
    pgid: int | None
    log_path: str
    env: dict[str, str] = field(default_factory=dict)


class Node(abc.ABC):
    name: str
    ip: str
    data_dir: str   # a directory on the node private to this test and node

    @abc.abstractmethod
    def exec(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
             timeout: float = 30.0, stdin: bytes | None = None, cwd: str | None = None) -> ExecResult:
        """Run argv on the node and wait; a timeout raises NodeError."""

    def sh(self, script: str, *, env: Mapping[str, str] | None = None,
           timeout: float = 30.0) -> ExecResult:
        """Run a shell script on the node, for when a shell is really wanted."""
        return self.exec(["sh", "-c", script], env=env, timeout=timeout)

    def check(self, argv: Sequence[str], **kw) -> ExecResult:
        """exec, raising NodeError with stderr when the exit code is not 0."""
        r = self.exec(argv, **kw)
        if r.exit_code != 0:
            raise NodeError(f"{self.name}: {' '.join(argv)!s} exited {r.exit_code}: "
                            f"{r.stderr.decode(errors='replace').strip()[-500:]}")
        return r

    @abc.abstractmethod
    def start_daemon(self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                     cwd: str | None = None, log_path: str | None = None) -> Daemon:
        """Start argv detached, stdout+stderr to its own log file; return its handle."""

    @abc.abstractmethod
    def signal(self, daemon: Daemon, sig: int = _signal.SIGTERM, *, group: bool = True) -> None:
        """Send sig to the daemon (its whole process group when ``group``)."""

    @abc.abstractmethod
    def is_running(self, daemon: Daemon) -> bool:
        """True while the daemon's process exists and is not a zombie."""

    @abc.abstractmethod
    def put_file(self, remote_path: str, data: bytes, mode: int = 0o644) -> None: ...

    @abc.abstractmethod
    def get_file(self, remote_path: str) -> bytes: ...

    @abc.abstractmethod
    def log_files(self) -> list[str]:
        """Paths (on the node) of every daemon log, for the report."""


class Provider(abc.ABC):
    """Creates N nodes for a test and destroys them, leaving nothing behind."""

    name: str
    # The options it takes (name -> default); a spec's nodes.options is checked against it.
    OPTIONS: Mapping[str, Any] = {}
    # Fault kinds its nodes cannot take -> why; a spec naming one is refused at validation,
    # before any node exists (a fault learning it mid-run has already cost the setup).
    refused_faults: Mapping[str, str] = {}

    @classmethod
    def supports(cls, fault_kind: str) -> tuple[bool, str]:
        """Whether a fault kind (``cpu-starve`` …) works on this provider's nodes, and why not."""
        why = cls.refused_faults.get(fault_kind)
        return (False, why) if why else (True, "")

    @abc.abstractmethod
    def create(self, count: int) -> list[Node]: ...

    @abc.abstractmethod
    def destroy(self) -> None:
        """Remove everything created (idempotent; safe after a partial create)."""


class ProviderUnavailable(NodeError):
    """The provider's engine or prerequisite is missing; the message says what to do."""
