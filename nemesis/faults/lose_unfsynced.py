"""Lose unfsynced writes: a power loss, not just a process crash.

A ``kill -9`` leaves the page cache intact, so a database that acknowledges writes it never
fsynced survives it.  This fault puts the target's durable directory on splitbrain's lazy
filesystem (``nemesis/lazyfs``: unsynced data lives only in that filesystem's process) before the
target is set up; applying it kills the target on the chosen nodes (all of them by default: a
whole-cluster power loss, the case replication cannot mask), then the filesystem's process, undoes
the namespace changes nobody synced, and mounts again on what was durable.  Healing (power back
on) restarts the target on those nodes, as after a kill.

``lose_unfsynced_fsync: ignore`` makes the disk lie about flushes for the whole run (fsync and
fdatasync succeed and make nothing durable: a volatile write cache that acknowledges flushes), so
a power loss drops what the target did fsync too -- the filesystem-level stand-in for a database's
own "do not fsync" switch (etcd's --unsafe-no-fsync is absent from Debian's etcd 3.4).
"""

from __future__ import annotations

from typing import Any, Mapping

from core.capabilities import HasFiles, Killable
from core.options import Option, one_of

from ..errors import UnsupportedFault
from ..lazyfs.layer import JOURNAL_KIND, LAZYFS_PACKAGES, heal_mount_entry, layer
from ..select import a_selector
from .base import ProcessFault


class LoseUnfsynced(ProcessFault):
    name = "lose-unfsynced"
    ops = {"start-lose-unfsynced": "apply", "stop-lose-unfsynced": "heal"}
    nodes_option = "lose_unfsynced_nodes"
    OPTIONS = {"lose_unfsynced_nodes": Option("all", a_selector),
               "lose_unfsynced_fsync": Option("honour", one_of("honour", "ignore"))}
    journal_kinds = (JOURNAL_KIND,)
    heal_rank = 8          # before kill's restart (9); like it, last but for that
    window = ("start-lose-unfsynced", "stop-lose-unfsynced")
    healed_as = "powered on"
    standing = True
    node_packages = LAZYFS_PACKAGES
    needs_fuse = True

    def __init__(self, nem: Any) -> None:
        super().__init__(nem)
        self.down: set[str] = set()     # nodes whose target is off since the loss

    # -- around the target's life ---------------------------------------------------------
    def _target(self) -> Any:
        t = self.nem.need_target("lose-unfsynced", HasFiles)
        if not isinstance(t, Killable):
            raise UnsupportedFault(f"lose-unfsynced: target {type(t).__name__} cannot be killed")
        return t

    def prepare(self) -> list[str]:
        self._target()
        lay = layer(self.nem)
        done = lay.ensure("lose-unfsynced")
        if self._fsync() == "ignore":
            lay.keep(fsync_ignore=True)
            done.append(f"lazyfs ignores fsync on {', '.join(sorted(lay.mounts))} "
                        "(a disk that lies about flushes)")
        return done

    def _fsync(self) -> str:
        return self.nem.options["lose_unfsynced_fsync"]

    def settled(self) -> list[str]:
        return layer(self.nem).checkpoint()

    def teardown(self) -> list[str]:
        return layer(self.nem).teardown()

    # -- the fault ----------------------------------------------------------------------
    def apply(self, value: Any) -> dict[str, Any]:
        nem = self.nem
        nem.require("lose-unfsynced")
        t = self._target()
        lay = layer(nem)
        if not lay.mounts:
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
            crash = lay.mounts[name].crash()
            lay.remount(name)
            lost[name] = {"lazyfs_pid": crash["pid"], "undone": crash["recovered"]}
        return {"nodes": chosen, "fsync": self._fsync(), "lost": lost}

    def heal(self, value: Any = None) -> dict[str, Any]:
        """Power back on: every mount serves, then the target restarts where it was lost."""
        nem = self.nem
        t = nem.need_target("stop-lose-unfsynced")
        lay = layer(nem)
        for name, m in lay.mounts.items():
            if not m.running():
                lay.remount(name)
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
        return bool(self.down) or any(not m.running() for m in layer(self.nem).mounts.values())

    def describe(self) -> list[str]:
        return [f"power lost on {n}" for n in sorted(self.down)]

    # -- after a crash of the controller ----------------------------------------------------
    @classmethod
    def heal_entry(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
        return heal_mount_entry(ref, entry)

    @classmethod
    def heal_unreachable(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> None:
        if ref.get("host_pids") and ref.get("host_files"):
            heal_mount_entry(ref, entry)
