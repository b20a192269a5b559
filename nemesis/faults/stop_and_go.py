"""Stop-and-go: a duty cycle of SIGSTOP/SIGCONT on the target's faultable daemons — a node that
still answers, late and in bursts (a gray failure), where ``pause`` is a node that does not
answer at all.  Works on any kernel and provider.  Each application is journaled like a pause
(``splitbrain clean`` continues the processes), and healing records the stop and go times that
really happened, from when the signals landed (on docker and ssh nodes a signal is a round trip,
which the cycle allows for)."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from core.capabilities import Pausable
from core.options import Option, int_at_least

from .base import ProcessFault
from .pause import Pause, signal_group


class StopAndGo(ProcessFault):
    name = "stop-and-go"
    ops = {"start-stop-and-go": "apply", "stop-stop-and-go": "heal"}
    OPTIONS = {"stop_go_stopped_ms": Option(200, int_at_least(1)),
               "stop_go_period_ms": Option(250, int_at_least(2))}
    journal_kinds = ("pause",)     # a crash leaves stopped processes: clean continues them
    heal_rank = 0
    window = ("start-stop-and-go", "stop-stop-and-go")
    healed_as = "running steadily"

    def __init__(self, nem: Any) -> None:
        super().__init__(nem)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.nodes: list[str] = []
        self.jids: list[int] = []
        self.stopped_s: list[float] = []
        self.going_s: list[float] = []

    def apply(self, value: Any) -> dict[str, Any]:
        nem = self.nem
        nem.require("stop-and-go")
        t = nem.need_target("stop-and-go", Pausable)
        if self._thread is not None:
            self.heal(None)
        o = nem.options
        stopped, period = o["stop_go_stopped_ms"] / 1000, o["stop_go_period_ms"] / 1000
        if stopped >= period:
            raise ValueError(f"stop_go_stopped_ms ({o['stop_go_stopped_ms']}) must be below "
                             f"stop_go_period_ms ({o['stop_go_period_ms']})")
        chosen = nem.select(value)
        daemons = {n: t.fault_daemons(nem.by_name[n]) for n in chosen}
        self.jids = [nem.journal.record("pause", n, pids=[d.pid for d in ds],
                                        pgids=[d.pgid for d in ds if d.pgid])
                     for n, ds in daemons.items()]
        self.nodes, self.stopped_s, self.going_s = chosen, [], []
        self._stop.clear()
        self._thread = threading.Thread(target=self._cycle, args=(daemons, stopped, period),
                                        name="stop-and-go", daemon=True)
        self._thread.start()
        return {"nodes": chosen, "stopped_ms": o["stop_go_stopped_ms"],
                "period_ms": o["stop_go_period_ms"],
                "pids": {n: [d.pid for d in ds] for n, ds in daemons.items()}}

    def _send(self, daemons: dict[str, list[Any]], sig: int) -> float:
        """Signal every daemon; returns when, on average, the signals landed: midway through
        each call, since on a docker or ssh node a signal is a round trip of ~0.1 s."""
        landed = []
        for name, ds in daemons.items():
            node = self.nem.by_name[name]
            for d in ds:
                t = time.monotonic()
                try:
                    node.signal(d, sig, group=True)
                except Exception:  # noqa: BLE001 - a daemon that died is not stopped any more
                    continue
                landed.append((t + time.monotonic()) / 2)
        return sum(landed) / len(landed) if landed else time.monotonic()

    def _cycle(self, daemons: dict[str, list[Any]], stopped: float, period: float) -> None:
        # Each wait is shortened by how long the next batch of signals takes to land (measured
        # on the last one), so the duty cycle the daemons see is the one asked for, not the asked
        # one stretched by two round trips per period.
        lead = {signal.SIGSTOP: 0.0, signal.SIGCONT: 0.0}

        def send(sig: int) -> float:
            began = time.monotonic()
            at = self._send(daemons, sig)
            lead[sig] = at - began
            return at

        went: float | None = None      # when the last SIGCONT landed
        while not self._stop.is_set():
            stop_at = send(signal.SIGSTOP)
            if went is not None:
                self.going_s.append(stop_at - went)
            cut = self._stop.wait(max(0.0, stop_at + stopped - lead[signal.SIGCONT]
                                      - time.monotonic()))
            went = send(signal.SIGCONT)
            if cut:
                break      # healed mid-stop: not a whole stop to measure
            self.stopped_s.append(went - stop_at)
            if self._stop.wait(max(0.0, went + period - stopped - lead[signal.SIGSTOP]
                                   - time.monotonic())):
                break

    def heal(self, value: Any = None) -> dict[str, Any]:
        nem = self.nem
        if self._thread is not None:
            self._stop.set()
            self._thread.join(10)
            self._thread = None
        # Whatever the cycle's last step was, everything runs now (and any wrapper that
        # re-stopped itself is continued again, as pause's heal does).
        for jid in self.jids:
            entry = next((e for e in nem.journal.active("pause") if e["id"] == jid), None)
            if entry is not None:
                ref = nem.journal.data["nodes"].get(entry["node"], {})
                signal_group(ref, entry.get("pids", []), entry.get("pgids", []), signal.SIGCONT)
        nem.journal.healed(self.jids)
        measured = _stats(self.stopped_s, self.going_s)
        out = {"nodes": self.nodes, "measured": measured}
        self.nodes, self.jids = [], []
        return out

    def in_force(self) -> bool:
        return self._thread is not None or bool(self.jids)

    def describe(self) -> list[str]:
        return [f"stop-and-go {n}" for n in self.nodes]

    heal_entry = Pause.heal_entry
    heal_unreachable = Pause.heal_unreachable


def _stats(stopped: list[float], going: list[float]) -> dict[str, Any]:
    def ms(xs: list[float], f: Any) -> float | None:
        return round(f(xs) * 1000, 1) if xs else None
    return {"cycles": len(stopped),
            "stopped_ms_mean": ms(stopped, lambda x: sum(x) / len(x)),
            "stopped_ms_max": ms(stopped, max),
            "going_ms_mean": ms(going, lambda x: sum(x) / len(x)),
            "going_ms_min": ms(going, min)}
