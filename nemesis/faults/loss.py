"""Packet loss: each chosen node drops a fraction of the traffic from the others
(iptables ``statistic`` rules)."""

from __future__ import annotations

import random
from typing import Any, Mapping, Sequence

from core.nodes import Node
from core.options import Option, probability

from .. import iptables as ipt
from ..errors import UnsupportedFault
from .base import Fault
from .chains import heal_chain_entry

CHAIN = ipt.LOSS_CHAIN


class PacketLoss(Fault):
    name = "loss"
    spec_names = ("packet-loss",)        # the targets' name for it
    ops = {"start-loss": "apply", "stop-loss": "heal"}
    OPTIONS = {"loss_probability": Option(0.2, probability)}
    journal_kinds = ("iptables",)
    heal_rank = 3
    window = ("start-loss", "stop-loss")
    healed_as = "loss healed"

    def __init__(self, nem: Any) -> None:
        super().__init__(nem)
        self.state: dict[str, Any] | None = None   # {"probability", "nodes", "drops"}

    def apply(self, value: Any) -> dict[str, Any]:
        nem = self.nem
        if nem.target is not None:
            for name in ("loss", "packet-loss"):
                ok, why = nem.target.supports(name)
                if not ok:
                    raise UnsupportedFault(f"loss: not supported by this target: {why}")
        p = nem.options["loss_probability"]
        sel: Any = "all"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            p = value
        elif isinstance(value, Mapping):
            p = value.get("probability", p)
            sel = value.get("nodes", sel)
        elif value is not None:
            raise ValueError(f"value must be a probability or a mapping, got {value!r}")
        p = float(p)
        if not 0.0 < p <= 1.0:
            raise ValueError(f"probability must be in (0, 1], got {p}")
        chosen = nem.select(sel)
        if len(chosen) < 2:
            raise ValueError("loss needs at least two nodes to drop traffic between")
        drops = {n: [m for m in chosen if m != n] for n in chosen}
        if self.state:
            for n in set(self.state["drops"]) - set(drops):
                nem.chains.clear(nem.by_name[n], CHAIN)
        self.state = {"probability": p, "nodes": chosen, "drops": drops}
        for n in chosen:
            nem.chains.record(n, CHAIN)
        nem.parallel(lambda node: nem.chains.set(node, CHAIN, drops[node.name], p),
                     [nem.by_name[n] for n in chosen])
        return {"probability": p, "nodes": chosen, "drops": drops}

    def heal(self, value: Any = None) -> dict[str, Any]:
        nem = self.nem
        nodes = [nem.by_name[n] for n in nem.chains.nodes(CHAIN)]
        nem.parallel(lambda node: nem.chains.clear(node, CHAIN), nodes)
        self.state = None
        return {"nodes": [n.name for n in nodes]}

    def in_force(self) -> bool:
        return bool(self.state) or bool(self.nem.chains.nodes(CHAIN))

    def describe(self) -> list[str]:
        s = self.state
        return [f"loss {s['probability']:.0%} among {','.join(s['nodes'])}"] if s else []

    def reapply(self, node: Node) -> list[str]:
        if not self.state:
            return []
        self.nem.chains.set(node, CHAIN, self.state["drops"].get(node.name, []),
                            self.state["probability"])
        return [CHAIN]

    @classmethod
    def schedule(cls, spec_name: str, node_names: Sequence[str], rng: random.Random,
                 options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        p = options.get("loss_probability", cls.OPTIONS["loss_probability"].default)
        return ({"f": "start-loss", "value": {"probability": p, "nodes": "all"}},
                {"f": "stop-loss", "value": None})

    @classmethod
    def heal_entry(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
        return heal_chain_entry(ref, entry)
