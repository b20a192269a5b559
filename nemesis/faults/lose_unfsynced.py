"""Lose unfsynced writes: a power loss, not just a process crash.

A ``kill -9`` leaves the page cache intact, so a database that acknowledges writes it never
fsynced survives it.  This fault puts the target's durable directory on splitbrain's lazy
filesystem (``nemesis/lazyfs``: unsynced data lives only in that filesystem's process) before the
target is set up; applying it kills the target on the chosen nodes (all of them by default: a
whole-cluster power loss, the case replication cannot mask), then the filesystem's process, undoes
the namespace changes nobody synced, and mounts again on what was durable.  Healing (power back
on) restarts the target on those nodes, as after a kill.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from core.capabilities import HasFiles, Killable
from core.options import Option

from ..errors import UnsupportedFault
from ..lazyfs.mount import LazyMount
from ..reach import Unreachable, run_on
from .base import ProcessFault


def _selector(v: Any) -> str | None:
    ok = isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
    return None if ok else "a node selector: all, one, minority, majority, primaries, or names"


class LoseUnfsynced(ProcessFault):
    name = "lose-unfsynced"
    ops = {"start-lose-unfsynced": "apply", "stop-lose-unfsynced": "heal"}
    OPTIONS = {"lose_unfsynced_nodes": Option("all", _selector)}
    journal_kinds = ("lazyfs",)
    heal_rank = 8          # before kill's restart (9); like it, last but for that
    window = ("start-lose-unfsynced", "stop-lose-unfsynced")
    healed_as = "powered on"
    standing = True

    def __init__(self, nem: Any) -> None:
        super().__init__(nem)
        self.mounts: dict[str, LazyMount] = {}
        self.jids: dict[str, int] = {}
        self.down: set[str] = set()     # nodes whose target is off since the loss

    # -- around the target's life ---------------------------------------------------------
    def _target(self) -> Any:
        t = self.nem.need_target("lose-unfsynced", HasFiles)
        if not isinstance(t, Killable):
            raise UnsupportedFault(f"lose-unfsynced: target {type(t).__name__} cannot be killed")
        return t

    def prepare(self) -> list[str]:
        t = self._target()
        done = []
        for node in self.nem.nodes:
            m = LazyMount(node, t.durable_dir(node))
            # Intent first: a controller killed mid-mount leaves an entry clean can undo.
            self.jids[node.name] = self.nem.journal.record(
                "lazyfs", node.name, mountpoint=m.mountpoint, pid=None)
            pid = m.mount()["pid"]
            self.nem.journal.update(self.jids[node.name], pid=pid)
            self.mounts[node.name] = m
            done.append(f"{node.name}: lazyfs on {m.mountpoint}")
        return done

    def settled(self) -> list[str]:
        # What the target wrote while being set up (configuration, an initialised data
        # directory) is what a real machine would have flushed long before the test.
        for m in self.mounts.values():
            m.checkpoint()
        return [f"lazyfs checkpoint on {', '.join(sorted(self.mounts))}"] if self.mounts else []

    def teardown(self) -> list[str]:
        done = []
        for name, m in list(self.mounts.items()):
            m.unmount()
            self.nem.journal.healed([self.jids.pop(name)])
            del self.mounts[name]
            done.append(f"{name}: lazyfs unmounted")
        return done

    # -- the fault ----------------------------------------------------------------------
    def apply(self, value: Any) -> dict[str, Any]:
        nem = self.nem
        nem.require("lose-unfsynced")
        t = self._target()
        if not self.mounts:
            raise UnsupportedFault("lose-unfsynced: no lazyfs mounts (the fault must be listed "
                                   "in nemesis.faults before the run starts)")
        chosen = nem.select(value if value is not None else nem.options["lose_unfsynced_nodes"])
        pause, kill = nem.fault("pause"), nem.fault("kill")
        lost: dict[str, Any] = {}
        for name in chosen:
            node = nem.by_name[name]
            t.kill(node)
            self.down.add(name)
            if pause is not None:
                pause.forget(name)
            if kill is not None:
                kill.killed.discard(name)   # restarted by this fault's heal, not kill's
            m = self.mounts[name]
            crash = m.crash()
            nem.journal.update(self.jids[name], pid=m.mount()["pid"])
            lost[name] = {"lazyfs_pid": crash["pid"], "undone": crash["recovered"]}
        return {"nodes": chosen, "lost": lost}

    def heal(self, value: Any = None) -> dict[str, Any]:
        """Power back on: every mount serves, then the target restarts where it was lost."""
        nem = self.nem
        t = nem.need_target("stop-lose-unfsynced")
        for name, m in self.mounts.items():
            if not m.running():
                nem.journal.update(self.jids[name], pid=m.mount()["pid"])
        chosen = sorted(self.down) if value is None else nem.select(value)
        pids = {}
        for name in chosen:
            node = nem.by_name[name]
            nem.reapply(node)
            t.start(node)
            pids[name] = [d.pid for d in t.daemons(node)]
            self.down.discard(name)
        return {"nodes": chosen, "pids": pids}

    def in_force(self) -> bool:
        return bool(self.down) or any(not m.running() for m in self.mounts.values())

    def describe(self) -> list[str]:
        return [f"power lost on {n}" for n in sorted(self.down)]

    @classmethod
    def schedule(cls, spec_name: str, node_names: Sequence[str], rng: random.Random,
                 options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        nodes = options.get("lose_unfsynced_nodes", cls.OPTIONS["lose_unfsynced_nodes"].default)
        return {"f": "start-lose-unfsynced", "value": nodes}, \
            {"f": "stop-lose-unfsynced", "value": None}

    # -- after a crash of the controller ----------------------------------------------------
    @classmethod
    def heal_entry(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
        """Stop the recorded filesystem process in order (it writes its pages back) and unmount."""
        mnt, pid = entry.get("mountpoint"), entry.get("pid")
        if not mnt:
            return f"{entry.get('node')}: nothing recorded to unmount"
        if ref.get("host_pids"):
            if pid and _is_lazyfs(int(pid)):
                _stop(int(pid))
            if _mounted_here(mnt):
                subprocess.run(["umount", "-l", mnt], capture_output=True, timeout=30)
        else:
            q = str(int(pid)) if pid else ""
            script = (f"[ -n '{q}' ] && grep -q lazyfs /proc/{q}/cmdline 2>/dev/null && "
                      f"kill -TERM {q}; sleep 2; umount -l -- \"$1\" 2>/dev/null; true")
            code, out = run_on(ref, ["sh", "-c", script, "sh", mnt], timeout=60)
            if code != 0:
                raise Unreachable(out)
        return f"{entry.get('node')}: lazyfs on {mnt} unmounted"

    @classmethod
    def heal_unreachable(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> None:
        if ref.get("host_pids") and ref.get("host_files"):
            cls.heal_entry(ref, entry)


def _is_lazyfs(pid: int) -> bool:
    try:
        return b"lazyfs" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _stop(pid: int, within: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + within
    while _is_lazyfs(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _is_lazyfs(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _mounted_here(path: str) -> bool:
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)
