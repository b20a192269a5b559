"""The little the nemesis needs from any target (``targets.base.Target`` satisfies it).

Kill, pause and primaries are optional capabilities (``core.capabilities``):
the faults that need one check for it and refuse a target without it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from core.nodes import Daemon, Node


@runtime_checkable
class NemesisTarget(Protocol):
    def start(self, node: Node) -> None:
        """Start the target's daemons on the node (again, after a kill)."""

    def daemons(self, node: Node) -> list[Daemon]:
        """The running daemons on the node."""

    def supports(self, fault: str) -> tuple[bool, str]:
        """Whether the fault works for this target, and the reason when not."""
