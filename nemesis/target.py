"""The little the nemesis needs from a target (``targets.base.Target`` satisfies it)."""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

from core.nodes import Daemon, Node


@runtime_checkable
class NemesisTarget(Protocol):
    def kill(self, node: Node) -> None:
        """SIGKILL the target's faultable daemons on the node (``fault_daemons``)."""

    def start(self, node: Node) -> None:
        """Start the target's daemons on the node again."""

    def daemons(self, node: Node) -> list[Daemon]:
        """The running daemons on the node."""

    def fault_daemons(self, node: Node) -> list[Daemon]:
        """The running daemons kill and pause act on (their process groups are what
        pause freezes)."""

    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """The node(s) acting as primary/leader now; empty when unknown."""

    def supports(self, fault: str) -> tuple[bool, str]:
        """Whether the fault works for this target, and the reason when not."""
