"""Network partitions: a grudge (node -> nodes it drops) installed as iptables rules."""

from __future__ import annotations

import random
from typing import Any, Mapping, Sequence

from core.nodes import Node
from core.options import Option, a_bool

from .. import grudge as _grudge
from .. import iptables as ipt
from .base import Fault
from .chains import heal_chain_entry

CHAIN = ipt.PARTITION_CHAIN


class Partition(Fault):
    name = "partition"
    spec_names = tuple(_grudge.TOPOLOGIES)
    ops = {"start-partition": "apply", "stop-partition": "heal"}
    OPTIONS = {"one_way": Option(False, a_bool)}
    journal_kinds = ("iptables",)
    heal_rank = 2
    window = ("start-partition", "stop-partition")
    healed_as = "partition healed"

    def __init__(self, nem: Any) -> None:
        super().__init__(nem)
        self.grudge: dict[str, list[str]] = {}
        self.topology: str | None = None
        self.one_way = False

    def apply(self, value: Any) -> dict[str, Any]:
        nem = self.nem
        nem.require("partition")
        one_way = bool(nem.options["one_way"])
        if isinstance(value, str) or value is None:
            topology, explicit = value or "random-halves", None
        elif isinstance(value, Mapping):
            topology = value.get("topology")
            explicit = value.get("grudge")
            one_way = bool(value.get("one_way", one_way))
            if explicit is None and topology is None:
                raise ValueError("value needs a topology or a grudge")
        else:
            raise ValueError(f"value must be a topology name or a mapping, got {value!r}")
        names = nem.names()
        if explicit is not None:
            g = _grudge.validate_grudge(explicit, names)
            topology = topology or "grudge"
        else:
            g = _grudge.make_grudge(topology, names, nem.rng, nem.primaries()
                                    if topology == "isolate-primary" else ())
            if one_way:
                order = names[:]
                nem.rng.shuffle(order)
                g = _grudge.one_way(g, order)
        g = {n: list(g.get(n, [])) for n in names}
        self.grudge, self.topology, self.one_way = g, topology, one_way
        chains = nem.chains

        def apply(node: Node) -> None:
            if g[node.name]:
                chains.set(node, CHAIN, g[node.name])
            elif chains.has(node.name, CHAIN):
                chains.clear(node, CHAIN)
        # Journal entries are recorded here, in order, before any thread touches a node.
        for n in nem.nodes:
            if g[n.name]:
                chains.record(n.name, CHAIN)
        nem.parallel(apply, nem.nodes)
        return {"topology": topology, "one_way": one_way, "grudge": g,
                "sees": _grudge.components_seen(g)}

    def heal(self, value: Any = None) -> dict[str, Any]:
        nem = self.nem
        nodes = [nem.by_name[n] for n in nem.chains.nodes(CHAIN)]
        nem.parallel(lambda node: nem.chains.clear(node, CHAIN), nodes)
        healed = {"healed": self.topology, "nodes": [n.name for n in nodes]}
        self.grudge, self.topology, self.one_way = {}, None, False
        return healed

    def in_force(self) -> bool:
        return bool(self.grudge) or bool(self.nem.chains.nodes(CHAIN))

    def describe(self) -> list[str]:
        # Read once each: the console polls this while apply may be mid-way.
        grudge, topology, one_way = self.grudge, self.topology, self.one_way
        if not grudge:
            return []
        cut = sum(len(v) for v in grudge.values())
        return [f"partition {topology or 'grudge'}{' one-way' if one_way else ''} "
                f"({cut} directed links cut)"]

    def reapply(self, node: Node) -> list[str]:
        if not self.grudge:
            return []
        self.nem.chains.set(node, CHAIN, self.grudge.get(node.name, []))
        return [CHAIN]

    @classmethod
    def schedule(cls, spec_name: str, node_names: Sequence[str], rng: random.Random,
                 options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        from ..schedule import _topologies
        top = rng.choice(_topologies(spec_name, len(node_names), options))
        value: Any = top
        if options.get("one_way"):
            value = {"topology": top, "one_way": True}
        return {"f": "start-partition", "value": value}, {"f": "stop-partition", "value": None}

    @classmethod
    def heal_entry(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
        return heal_chain_entry(ref, entry)
