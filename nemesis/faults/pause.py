"""Pause: SIGSTOP the target's faultable daemons (their whole process groups),
SIGCONT to heal."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Any, Iterable, Mapping

from core.capabilities import Pausable

from ..reach import Unreachable, run_on
from .base import ProcessFault


def stopped_in_groups(pgids: Iterable[int], pids: Iterable[int] = ()) -> list[int]:
    """Host pids in state T (stopped) that belong to one of ``pgids`` or are in ``pids``."""
    groups, wanted = {int(g) for g in pgids}, {int(p) for p in pids}
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        if fields[0] == b"T" and (int(fields[2]) in groups or int(entry.name) in wanted):
            out.append(int(entry.name))
    return out


# A wrapper such as su/runuser that waits for its child re-stops itself when
# it is continued and finds the child was stopped (util-linux su-common.c
# forwards job control that way), so one SIGCONT can leave the wrapper
# frozen.  Continuing is therefore repeated until nothing in the group is
# stopped, a bounded number of times.
CONT_ROUNDS = 25
CONT_GAP_S = 0.02


def continue_host_groups(pgids: list[int], pids: list[int]) -> list[int]:
    """SIGCONT groups and pids on the host until none is stopped; returns any still stopped."""
    stopped: list[int] = []
    for _ in range(CONT_ROUNDS):
        for g in pgids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(g), signal.SIGCONT)
        for p in set(pids) | set(stopped):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(p), signal.SIGCONT)
        time.sleep(CONT_GAP_S)
        stopped = stopped_in_groups(pgids, pids)
        if not stopped:
            break
    return stopped


def signal_group(ref: Mapping[str, Any], pids: list[int], pgids: list[int], sig: int) -> None:
    """Signal recorded groups and pids on the node ``ref`` names (from the host when it shares
    the host's process table)."""
    if ref.get("host_pids"):
        if sig == signal.SIGCONT:
            continue_host_groups(pgids, pids)
            return
        for g in pgids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(int(g), sig)
        for p in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(p), sig)
        return
    name = signal.Signals(sig).name[3:]
    targets = [f"-{int(g)}" for g in pgids] + [str(int(p)) for p in pids]
    if targets:
        # Without the node's process table at hand, repeat SIGCONT a few
        # times for the reason given above.
        rounds = 3 if sig == signal.SIGCONT else 1
        for i in range(rounds):
            run_on(ref, ["kill", f"-{name}", "--", *targets], timeout=20)
            if i + 1 < rounds:
                time.sleep(0.05)


def _recorded(entry: Mapping[str, Any]) -> tuple[list[int], list[int]]:
    return [int(p) for p in entry.get("pids", [])], [int(g) for g in entry.get("pgids", []) if g]


class Pause(ProcessFault):
    name = "pause"
    ops = {"pause": "apply", "resume": "heal"}
    journal_kinds = ("pause",)
    heal_rank = 0          # a paused server cannot be stopped cleanly by whoever comes next
    window = ("pause", "resume")
    healed_as = "resume"

    def __init__(self, nem: Any) -> None:
        super().__init__(nem)
        self.paused: dict[str, tuple[int, list[int], list[int]]] = {}  # node -> (jid, pids, pgids)

    def apply(self, value: Any) -> dict[str, Any]:
        nem = self.nem
        nem.require("pause")
        t = nem.need_target("pause", Pausable)
        chosen = nem.select(value)
        out_pids, out_groups = {}, {}
        for name in chosen:
            node = nem.by_name[name]
            daemons = t.fault_daemons(node)
            pids = [d.pid for d in daemons]
            pgids = [d.pgid for d in daemons if d.pgid]
            if name in self.paused:
                jid = self.paused[name][0]
                nem.journal.update(jid, pids=pids, pgids=pgids)
            else:
                jid = nem.journal.record("pause", name, pids=pids, pgids=pgids)
            self.paused[name] = (jid, pids, pgids)
            for d in daemons:
                node.signal(d, signal.SIGSTOP, group=True)
            out_pids[name], out_groups[name] = pids, pgids
        return {"nodes": chosen, "pids": out_pids, "pgids": out_groups}

    def heal(self, value: Any = None) -> dict[str, Any]:
        nem = self.nem
        t = nem.need_target("resume", Pausable)
        chosen = sorted(self.paused) if value is None else nem.select(value)
        out = {}
        for name in chosen:
            node = nem.by_name[name]
            entry = self.paused.get(name)
            daemons = t.fault_daemons(node)
            for d in daemons:
                node.signal(d, signal.SIGCONT, group=True)
            ref = nem.journal.data["nodes"].get(name, {})
            pgids = sorted({d.pgid for d in daemons if d.pgid} | set(entry[2] if entry else []))
            pids = sorted({d.pid for d in daemons} | set(entry[1] if entry else []))
            try:
                # Also the groups recorded at pause time, and again until no
                # wrapper has re-stopped itself (see continue_host_groups).
                signal_group(ref, pids, pgids, signal.SIGCONT)
            except Unreachable:
                pass
            if entry is not None:
                nem.journal.healed([entry[0]])
                del self.paused[name]
            out[name] = [d.pid for d in daemons]
        return {"nodes": chosen, "pids": out}

    def forget(self, name: str) -> None:
        """The node's daemons are gone (killed): nothing of this pause is left to undo."""
        if name in self.paused:
            self.nem.journal.healed([self.paused.pop(name)[0]])

    def in_force(self) -> bool:
        return bool(self.paused)

    def describe(self) -> list[str]:
        return [f"paused {n}" for n in sorted(list(self.paused))]

    @classmethod
    def heal_entry(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
        pids, pgids = _recorded(entry)
        signal_group(ref, pids, pgids, signal.SIGCONT)
        return f"{entry.get('node')}: resumed process groups {pgids or pids}"

    @classmethod
    def heal_unreachable(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> None:
        if ref.get("host_pids"):
            # A deleted namespace does not stop its processes; resume them anyway.
            pids, pgids = _recorded(entry)
            signal_group(ref, pids, pgids, signal.SIGCONT)
