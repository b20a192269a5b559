"""What a target may optionally do, beyond its required core (``targets.base.Target``).

Like Jepsen's optional DB protocols (Kill, Pause, Primary, LogFiles), each is a
small protocol a target implements or not; a fault that needs one refuses a
target without it, with a reason, at spec validation.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Protocol, Sequence, runtime_checkable

from .nodes import Daemon, Node


@runtime_checkable
class Killable(Protocol):
    def kill(self, node: Node) -> None:
        """SIGKILL the daemons ``fault_daemons`` names and wait until they are gone."""

    def fault_daemons(self, node: Node) -> list[Daemon]:
        """The running daemons kill and pause hit: the database itself."""


@runtime_checkable
class Pausable(Protocol):
    def fault_daemons(self, node: Node) -> list[Daemon]:
        """The daemons whose process groups pause freezes."""


@runtime_checkable
class HasPrimaries(Protocol):
    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """The node(s) acting as primary/leader now; empty when unknown."""


@runtime_checkable
class ClockSkewable(Protocol):
    # Set by the run to the nemesis' per-node environment; every daemon start uses it.
    env_hook: Callable[[Node], Mapping[str, str]] | None


@runtime_checkable
class HasFiles(Protocol):
    def durable_dir(self, node: Node) -> str:
        """The directory holding all of the database's durable state on ``node`` (what disk
        faults act on: lazyfs mounts over it before setup).  Logs and sockets live elsewhere."""

    def file_classes(self, node: Node) -> dict[str, list[str]]:
        """File class (``wal``, ``snapshot``, ``data`` …) -> shell globs under ``durable_dir``
        naming those files, for file corruption."""


@runtime_checkable
class PromisesModels(Protocol):
    def consistency_models(self) -> list[str]:
        """The consistency models the target's configuration promises (e.g. snapshot-isolation
        for PostgreSQL's REPEATABLE READ): what transactional checkers judge by default."""


# fault kind -> the capability it needs
NEEDS: dict[str, Any] = {"kill": Killable, "pause": Pausable, "clock": ClockSkewable,
                         "lose-unfsynced": HasFiles, "fsync-error": HasFiles,
                         "slow-disk": HasFiles, "stop-and-go": Pausable,
                         "cpu-starve": Pausable, "corrupt-file": HasFiles}


def missing(target: Any, kind: str) -> str | None:
    """Why ``target`` cannot take fault ``kind`` for lack of a capability, or None."""
    cap = NEEDS.get(kind)
    if cap is None or isinstance(target, cap):
        return None
    return f"{type(target).__name__} does not implement {cap.__name__}"
