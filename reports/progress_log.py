"""Plain progress lines for logs: what a CI log shows while a run goes on.

With a terminal the live panel shows progress; without one (``--no-live``,
or stdout not a terminal) a run used to print nothing for a minute or more
until the verdict.  This prints one line when each phase begins, one per
fault applied or healed, and the op counts every 10 s, so a log shows where
a run is and where it hung.  Lines go to stderr, beside the harness'
other messages, and keep stdout for the verdict table and the run path.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Callable, TextIO

from .faults import describe_detail

EVERY_S = 10.0
# What starting each harness phase means, in the words of the reader:
# when "setup" begins the nodes are up, when "main" begins the target is healthy.
PHASE_LINES = {
    "provision": "starting nodes",
    "setup": "nodes up; starting the target, waiting until it is healthy",
    "main": "target healthy; main phase",
    "heal": "main phase over; healing every fault",
    "recovery": "recovery: waiting for the target to be healthy again",
    "final": "final phase",
    "teardown": "teardown: collecting logs, removing nodes",
    "check": "checking the history",
    "done": "done",
}
_TICKING = frozenset({"main", "heal", "recovery", "final"})
# Ops that undo a fault; every other nemesis op applies one.
_HEALS = frozenset({"heal", "stop-partition", "stop-clock", "stop-loss", "stop-latency",
                    "start", "resume"})


class ProgressLog:
    """Progress lines while ``enabled``; a silent no-op otherwise."""

    def __init__(self, enabled: bool, *, out: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic, every_s: float = EVERY_S):
        self.enabled = enabled
        self.out = out
        self.clock = clock
        self.every_s = every_s
        self.t0 = clock()
        self._stats: Callable[[], dict] | None = None
        self._phase = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        if not self.enabled:
            return
        out = self.out if self.out is not None else sys.stderr
        with self._lock:
            print(f"splitbrain: [{self.clock() - self.t0:7.1f} s] {text}", file=out, flush=True)

    def phase(self, name: str, detail: str = "") -> None:
        self._phase = name
        text = PHASE_LINES.get(name, name)
        self.line(f"{text}{' (' + detail + ')' if detail else ''}")
        if name not in _TICKING and self._thread is not None:
            self.stop()

    def fault(self, f: str, value: Any, result: Any = None, error: BaseException | None = None) -> None:
        """A nemesis op finished: what it applied or healed (as the report describes it)."""
        what = "healed" if f in _HEALS else "fault applied"
        if error is not None:
            self.line(f"{what.replace('applied', 'FAILED')}: {f} {describe_detail(value)}: "
                      f"{type(error).__name__}: {error}".replace("  ", " "))
            return
        if f == "heal":  # the final heal of everything lists what it undid
            done = result.get("healed") if isinstance(result, dict) else None
            self.line("healed: everything" + (f" ({'; '.join(map(str, done))})" if done
                                              else " (nothing was in force)"))
            return
        detail = describe_detail(result if result is not None else value)
        self.line(f"{what}: {f}" + (f" {detail}" if detail else ""))

    def follow(self, stats: Callable[[], dict]) -> None:
        """Print op counts from ``stats()`` every ``every_s`` until a non-running phase."""
        self._stats = stats
        if not self.enabled or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, name="progress-log", daemon=True)
        self._thread.start()

    def counts_line(self) -> str | None:
        if self._stats is None:
            return None
        try:
            s = self._stats()
        except Exception as e:  # noqa: BLE001 - a progress line must never end a run
            return f"ops: unavailable ({type(e).__name__})"
        done = int(s.get("ok", 0)) + int(s.get("fail", 0)) + int(s.get("info", 0))
        text = (f"ops: {done:,} done ({s.get('ok', 0):,} ok, {s.get('fail', 0):,} fail, "
                f"{s.get('info', 0):,} info), {s.get('outstanding', 0)} in flight, "
                f"{float(s.get('ops_per_s') or 0):,.0f}/s")
        active = s.get("active_faults")
        if active:
            text += f"; faults in force: {'; '.join(map(str, active)) if isinstance(active, list) else active}"
        return text

    def _tick(self) -> None:
        while not self._stop.wait(self.every_s):
            text = self.counts_line()
            if text:
                self.line(f"{self._phase}: {text}")

    def stop(self) -> None:
        self._stop.set()
        t, self._thread = self._thread, None
        if t is not None and t is not threading.current_thread():
            t.join(timeout=2)
