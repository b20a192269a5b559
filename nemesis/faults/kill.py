"""Kill: SIGKILL the target's faultable daemons; heal restarts them (with the
node's share of any partition or loss re-installed first)."""

from __future__ import annotations

from typing import Any

from core.capabilities import Killable
from core.nodes import NodeError
from core.options import Option, a_bool

from .base import ProcessFault


class Kill(ProcessFault):
    name = "kill"
    ops = {"kill": "apply", "start": "heal"}
    OPTIONS = {"restart_killed_on_heal": Option(True, a_bool)}
    heal_rank = 9          # last: a restarted daemon must find every other fault healed
    window = ("kill", "start")
    healed_as = "restarted"

    def __init__(self, nem: Any) -> None:
        super().__init__(nem)
        self.killed: set[str] = set()

    def apply(self, value: Any) -> dict[str, Any]:
        nem = self.nem
        nem.require("kill")
        t = nem.need_target("kill", Killable)
        chosen = nem.select(value)
        pids: dict[str, list[int]] = {}
        left: dict[str, list[int]] = {}
        pause = nem.fault("pause")
        for name in chosen:
            node = nem.by_name[name]
            pids[name] = [d.pid for d in t.fault_daemons(node)]
            t.kill(node)
            left[name] = [d.pid for d in t.fault_daemons(node)]
            self.killed.add(name)
            if pause is not None:  # SIGKILL ends a stopped process too
                pause.forget(name)
        res: dict[str, Any] = {"nodes": chosen, "pids": pids}
        if any(left.values()):
            res["still_running"] = left
        return res

    def _exited(self) -> dict[str, list[str]]:
        """Node -> names of its daemons that exited by themselves (a joiner whose state
        transfer failed …), for targets that can tell (``Target.exited``)."""
        probe = getattr(self.nem.target, "exited", None)
        out: dict[str, list[str]] = {}
        if probe is None:
            return out
        for node in self.nem.nodes:
            try:
                gone = probe(node)
            except NodeError:
                continue
            if gone:
                out[node.name] = sorted({d.name for d in gone})
        return out

    def heal(self, value: Any = None) -> dict[str, Any]:
        """Start the killed (or selected) nodes, and every node whose daemon exited by itself:
        as Jepsen's nemesis starts the database on all nodes, whatever stopped it.  A target
        supervising its own daemons would hide the crash; restarting here keeps the cluster
        whole for the rest of the run, and the result's ``exited`` records it."""
        nem = self.nem
        t = nem.need_target("start")
        exited = self._exited()
        chosen = sorted(self.killed) if value is None else nem.select(value)
        chosen = sorted(set(chosen) | set(exited))
        pids, reapplied = {}, {}
        for name in chosen:
            node = nem.by_name[name]
            # Rules first, so the daemon never serves a moment unpartitioned;
            # and again after, in case starting recreated the node's namespace.
            nem.reapply(node)
            t.start(node)
            reapplied[name] = nem.reapply(node)
            pids[name] = [d.pid for d in t.daemons(node)]
            self.killed.discard(name)
        res: dict[str, Any] = {"nodes": chosen, "pids": pids, "reapplied": reapplied}
        if exited:
            res["exited"] = exited
        return res

    def in_force(self) -> bool:
        # heal_all restarts killed daemons, and those that exited by themselves, only when
        # asked to and when there is a target.
        if not self.nem.options["restart_killed_on_heal"] or self.nem.target is None:
            return False
        return bool(self.killed) or bool(self._exited())

    def describe(self) -> list[str]:
        return [f"killed {n}" for n in sorted(list(self.killed))]


def exited_note(result: Any) -> str:
    """`` (n2's mariadbd had exited by itself)`` for a restart's result, else ``""``: the run's
    notes say which node went down without a fault."""
    exited = result.get("exited") if isinstance(result, dict) else None
    if not exited:
        return ""
    return " (" + "; ".join(f"{n}'s {', '.join(ds)} had exited by itself"
                            for n, ds in sorted(exited.items())) + ")"
