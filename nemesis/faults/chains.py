"""The iptables chains partition and packet loss share: journaled per (node, chain)
before a rule is installed, removed when healed."""

from __future__ import annotations

import threading
from typing import Any, Mapping, Sequence

from core.nodes import Node

from .. import iptables as ipt
from ..reach import run_on


class Chains:
    """One per Nemesis: which node has which splitbrain chain, and its journal entry."""

    def __init__(self, journal: Any, by_name: Mapping[str, Node]):
        self.journal = journal
        self.by_name = by_name
        self.entries: dict[tuple[str, str], int] = {}   # (node, chain) -> journal id
        self._lock = threading.Lock()

    def record(self, node: str, chain: str) -> None:
        """Journal the chain on ``node`` (once) before any rule goes in."""
        with self._lock:
            if (node, chain) not in self.entries:
                self.entries[(node, chain)] = self.journal.record("iptables", node, chain=chain)

    def has(self, node: str, chain: str) -> bool:
        return (node, chain) in self.entries

    def nodes(self, chain: str) -> list[str]:
        return [n for n, c in list(self.entries) if c == chain]

    def set(self, node: Node, chain: str, drop_names: Sequence[str],
            probability: float | None = None) -> None:
        self.record(node.name, chain)
        ips = [self.by_name[m].ip for m in drop_names]
        node.check(["sh", "-c", ipt.set_drops_script(chain, ips, probability)], timeout=30)

    def clear(self, node: Node, chain: str) -> None:
        node.check(["sh", "-c", ipt.remove_chain_script(chain)], timeout=30)
        jid = self.entries.pop((node.name, chain), None)
        if jid is not None:
            self.journal.healed([jid])


def heal_chain_entry(ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    chain = entry.get("chain") or ""
    code, out = run_on(ref, ["sh", "-c", ipt.remove_chain_script(chain)], timeout=30)
    if code != 0:
        raise RuntimeError(f"removing {chain} failed: {out}")
    return f"{entry.get('node')}: removed iptables chain {chain}"
