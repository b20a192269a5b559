"""Kill: SIGKILL the target's faultable daemons; heal restarts them (with the
node's share of any partition or loss re-installed first)."""

from __future__ import annotations

from typing import Any

from core.capabilities import Killable
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

    def heal(self, value: Any = None) -> dict[str, Any]:
        nem = self.nem
        t = nem.need_target("start")
        chosen = sorted(self.killed) if value is None else nem.select(value)
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
        return {"nodes": chosen, "pids": pids, "reapplied": reapplied}

    def in_force(self) -> bool:
        # heal_all restarts killed daemons only when asked to and when there is a target.
        return bool(self.killed) and bool(self.nem.options["restart_killed_on_heal"]) \
            and self.nem.target is not None

    def describe(self) -> list[str]:
        return [f"killed {n}" for n in sorted(list(self.killed))]
