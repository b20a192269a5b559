"""A failing disk and a slow disk, on the lazyfs layer under the target's durable directory
(``nemesis/lazyfs``): the filesystem itself returns EIO from fsync, or makes fsync and writes
wait, so it works for every target that names its durable directory — Go daemons such as etcd
included, which an LD_PRELOAD shim could not reach.  Each records what it measured: one probe
write + fsync under the mount, timed, with its error."""

from __future__ import annotations

import abc
from typing import Any, Mapping

from core.capabilities import HasFiles
from core.options import Option, a_number

from ..lazyfs.layer import JOURNAL_KIND, LAZYFS_PACKAGES, heal_mount_entry, layer
from ..select import a_selector
from .base import Fault


def _non_negative(v: Any) -> str | None:
    return a_number(v) or (None if v >= 0 else "a number of seconds >= 0")


class _DiskFault(Fault):
    """Shared by the faults that set lazyfs's control file on some nodes."""

    journal_kinds = (JOURNAL_KIND,)
    standing = True
    node_packages = LAZYFS_PACKAGES
    needs_fuse = True

    def __init__(self, nem: Any) -> None:
        super().__init__(nem)
        self.on: list[str] = []

    @abc.abstractmethod
    def settings(self) -> dict[str, Any]:
        """What this fault writes to lazyfs's control file on its nodes."""

    def prepare(self) -> list[str]:
        self.nem.need_target(self.name, HasFiles)
        return layer(self.nem).ensure(self.name)

    def settled(self) -> list[str]:
        return layer(self.nem).checkpoint()

    def teardown(self) -> list[str]:
        return layer(self.nem).teardown()

    def apply(self, value: Any) -> dict[str, Any]:
        lay = layer(self.nem)
        if not lay.mounts:
            raise ValueError(f"{self.name}: no lazyfs mounts (list it in nemesis.faults before "
                             "the run starts)")
        chosen = self.nem.select(value if value is not None else
                                 self.nem.options[self.nodes_option])
        settings = self.settings()
        lay.control(chosen, **settings)
        self.on = sorted(set(self.on) | set(chosen))
        return {"nodes": chosen, **settings,
                "measured": {n: lay.probe(n) for n in chosen}}

    def heal(self, value: Any = None) -> dict[str, Any]:
        lay = layer(self.nem)
        chosen = list(self.on) if value is None else self.nem.select(value)
        lay.control([n for n in chosen if n in lay.mounts])
        self.on = [n for n in self.on if n not in chosen]
        return {"nodes": chosen, "measured": {n: lay.probe(n) for n in chosen
                                              if n in lay.mounts}}

    def in_force(self) -> bool:
        return bool(self.on)

    @classmethod
    def heal_entry(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
        return heal_mount_entry(ref, entry)


class FsyncError(_DiskFault):
    name = "fsync-error"
    ops = {"start-fsync-error": "apply", "stop-fsync-error": "heal"}
    OPTIONS = {"fsync_error_nodes": Option("one", a_selector)}
    nodes_option = "fsync_error_nodes"
    window = ("start-fsync-error", "stop-fsync-error")
    healed_as = "fsync works again"
    heal_rank = 1

    def settings(self) -> dict[str, Any]:
        return {"fsync_error": True}

    def describe(self) -> list[str]:
        return [f"fsync fails on {n}" for n in self.on]


class SlowDisk(_DiskFault):
    name = "slow-disk"
    ops = {"start-slow-disk": "apply", "stop-slow-disk": "heal"}
    OPTIONS = {"slow_disk_nodes": Option("one", a_selector),
               "slow_disk_fsync_s": Option(0.2, _non_negative),
               "slow_disk_write_s": Option(0.0, _non_negative)}
    nodes_option = "slow_disk_nodes"
    window = ("start-slow-disk", "stop-slow-disk")
    healed_as = "disk fast again"
    heal_rank = 1

    def settings(self) -> dict[str, Any]:
        o = self.nem.options
        return {"fsync_delay_s": float(o["slow_disk_fsync_s"]),
                "write_delay_s": float(o["slow_disk_write_s"])}

    def describe(self) -> list[str]:
        return [f"slow disk on {n}" for n in self.on]
