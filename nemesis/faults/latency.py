"""Latency: a netem delay on every chosen node's interface (``nemesis.netem``)."""

from __future__ import annotations

from typing import Any, Mapping

from core.nodes import Node
from core.options import Option, a_number

from .. import netem
from ..errors import UnsupportedFault
from ..reach import run_on
from .base import Fault


class Latency(Fault):
    name = "latency"
    ops = {"start-latency": "apply", "stop-latency": "heal"}
    OPTIONS = {"latency_ms": Option(100.0, a_number),
               "latency_jitter_ms": Option(0.0, a_number),
               "latency_dev": Option("eth0")}
    journal_kinds = ("latency",)
    heal_rank = 4
    window = ("start-latency", "stop-latency")
    healed_as = "latency removed"

    def __init__(self, nem: Any) -> None:
        super().__init__(nem)
        self.delays: dict[str, tuple[int, float, float]] = {}   # node -> (jid, delay, jitter)

    def apply(self, value: Any) -> dict[str, Any]:
        nem = self.nem
        nem.require("latency")
        v = value if isinstance(value, Mapping) else {}
        delay = float(v.get("delay_ms", value if isinstance(value, (int, float)) else
                            nem.options["latency_ms"]))
        jitter = float(v.get("jitter_ms", nem.options["latency_jitter_ms"]))
        dev = str(v.get("dev", nem.options["latency_dev"]))
        ok, why = netem.host_netem()
        if ok is False:
            raise UnsupportedFault(netem.unsupported_message(why))
        chosen = nem.select(v.get("nodes", "all"))
        for n in chosen:
            if n not in self.delays:
                self.delays[n] = (nem.journal.record("latency", n, dev=dev), delay, jitter)

        def apply(node: Node) -> None:
            try:
                netem.apply_latency(node, dev, delay, jitter)
            except UnsupportedFault:
                nem.journal.healed([self.delays.pop(node.name)[0]])
                raise
        nem.parallel(apply, [nem.by_name[n] for n in chosen])
        return {"nodes": chosen, "delay_ms": delay, "jitter_ms": jitter, "dev": dev}

    def heal(self, value: Any = None) -> dict[str, Any]:
        nem = self.nem
        names = sorted(self.delays)
        dev = str(nem.options["latency_dev"])
        nem.parallel(lambda node: netem.remove_latency(node, dev),
                     [nem.by_name[n] for n in names])
        nem.journal.healed([self.delays.pop(n)[0] for n in names])
        return {"nodes": names}

    def in_force(self) -> bool:
        return bool(self.delays)

    def describe(self) -> list[str]:
        return [f"latency {n} +{d:g}ms" for n, (_, d, _j) in sorted(list(self.delays.items()))]

    @classmethod
    def schedule(cls, spec_name: str, node_names: Any, rng: Any,
                 options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        d = {k: o.default for k, o in cls.OPTIONS.items()}
        return ({"f": "start-latency", "value": {
                    "delay_ms": options.get("latency_ms", d["latency_ms"]),
                    "jitter_ms": options.get("latency_jitter_ms", d["latency_jitter_ms"]),
                    "nodes": "all"}},
                {"f": "stop-latency", "value": None})

    @classmethod
    def heal_entry(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
        dev = entry.get("dev", "eth0")
        run_on(ref, ["tc", "qdisc", "del", "dev", dev, "root"], timeout=20)
        return f"{entry.get('node')}: removed netem qdisc on {dev}"
