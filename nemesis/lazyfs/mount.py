"""One lazy filesystem on one node, driven through the node contract (netns, docker, ssh alike).

The FUSE program (``fs.py`` beside this file) is copied to the node and run there by Debian's
``/usr/bin/python3`` with ``python3-pyfuse3``, as the node's own daemon: on a docker or ssh node
it runs where the database runs.  ``MOUNTPOINT`` is what the target uses as its data directory;
the durable bytes live in ``MOUNTPOINT.durable`` beside it.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import time
from pathlib import Path
from typing import Any

FS_SOURCE = Path(__file__).with_name("fs.py")
SYSTEM_PYTHON = "/usr/bin/python3"
META = ".splitbrain-lazyfs"
MOUNT_WAIT_S = 15.0


def mount_ns_argv(node: Any) -> list[str]:
    """The prefix that runs a command in the mount namespace the node's processes share.

    A netns node runs each command through `ip netns exec`, which gives it a private copy of the
    mount table: a FUSE mount made there would be seen by nothing else.  Its filesystem is
    therefore mounted, checked and unmounted in the controller's own mount namespace (a netns
    node shares the controller's host), from which every later command's copy is taken.  docker
    exec and ssh commands share their node's namespace already."""
    if node.reach_ref().get("kind") == "netns":
        return ["nsenter", f"--mount=/proc/{os.getpid()}/ns/mnt", "--"]
    return []


class LazyFsError(RuntimeError):
    """The lazy filesystem could not be mounted, crashed or unmounted; says which node and why."""


class LazyMount:
    """Mount, crash (lose what was not synced), remount, unmount; nothing else on the node."""

    def __init__(self, node: Any, mountpoint: str) -> None:
        self.node = node
        self.mountpoint = mountpoint.rstrip("/")
        self.backing = self.mountpoint + ".durable"
        self.program = f"{node.data_dir.rstrip('/')}/.splitbrain/lazyfs.py"
        self.log_path = f"{node.data_dir.rstrip('/')}/lazyfs-{Path(self.mountpoint).name}.log"
        self.daemon: Any = None

    # -- state on the node --------------------------------------------------------------------
    def mounted(self) -> bool:
        # findmnt reads the mount table: a FUSE mount whose process died still shows there,
        # while stat() on it fails (ENOTCONN), so `mountpoint` would miss it.
        r = self.node.exec([*mount_ns_argv(self.node), "findmnt", "-n", "-o", "FSTYPE",
                            "--mountpoint", self.mountpoint], timeout=10)
        return r.ok and b"fuse" in r.stdout

    def running(self) -> bool:
        return self.daemon is not None and self.node.is_running(self.daemon)

    # -- lifecycle ----------------------------------------------------------------------------
    def mount(self) -> dict[str, Any]:
        """Start the filesystem (after undoing a crashed instance's journal); returns its pid."""
        if self.running() and self.mounted():
            return {"pid": self.daemon.pid}
        if self.mounted():
            self._lazy_unmount()  # a dead instance's mount: nothing serves it any more
        self.node.put_file(self.program, FS_SOURCE.read_bytes(), mode=0o755)
        self.node.check(["mkdir", "-p", self.mountpoint, self.backing], timeout=10)
        self.daemon = self.node.start_daemon(
            "lazyfs", [*mount_ns_argv(self.node), SYSTEM_PYTHON, self.program, self.backing,
                       self.mountpoint],
            log_path=self.log_path)
        deadline = time.monotonic() + MOUNT_WAIT_S
        while not self.mounted():
            if not self.node.is_running(self.daemon) or time.monotonic() > deadline:
                raise LazyFsError(f"{self.node.name}: lazyfs did not mount {self.mountpoint}: "
                                  f"{self._log_tail()}")
            time.sleep(0.05)
        return {"pid": self.daemon.pid}

    def crash(self) -> dict[str, Any]:
        """A power loss of the page cache: the process holding the unsynced pages dies at once,
        its mount goes, and the journal of unsynced namespace changes is undone."""
        pid = self.daemon.pid if self.daemon is not None else None
        if self.daemon is not None:
            self.node.signal(self.daemon, signal.SIGKILL, group=True)
            self._wait_gone(5.0)
        if self.mounted():
            self._lazy_unmount()
        r = self.node.check([SYSTEM_PYTHON, self.program, self.backing, "--recover"], timeout=60)
        self.daemon = None
        return {"pid": pid, "recovered": r.stderr.decode(errors="replace").strip()}

    def unmount(self) -> None:
        """An orderly stop: everything reaches the backing directory, then the mount goes."""
        if self.daemon is not None and self.node.is_running(self.daemon):
            self.node.signal(self.daemon, signal.SIGTERM, group=False)
            self._wait_gone(20.0)
        if self.mounted():
            self._lazy_unmount()
        self.daemon = None

    def checkpoint(self, within: float = 30.0) -> None:
        """Make everything written so far durable (SIGUSR1), and wait until it is."""
        path = f"{self.backing}/{META}/checkpoint"

        def count() -> int:
            r = self.node.exec(["cat", path], timeout=10)
            return int(r.stdout.strip() or 0) if r.ok else 0

        before = count()
        self.node.signal(self.daemon, signal.SIGUSR1, group=False)
        deadline = time.monotonic() + within
        while count() <= before:
            if time.monotonic() > deadline or not self.running():
                raise LazyFsError(f"{self.node.name}: lazyfs checkpoint of {self.mountpoint} "
                                  f"did not finish within {within:g}s: {self._log_tail()}")
            time.sleep(0.05)

    def control(self, **settings: Any) -> None:
        """Make the disk slow or failing (see fs.py): written whole, read at the next call."""
        self.node.put_file(f"{self.backing}/{META}/control.json",
                           json.dumps(settings).encode(), mode=0o644)

    # -- helpers ------------------------------------------------------------------------------
    def _wait_gone(self, within: float) -> None:
        deadline = time.monotonic() + within
        while self.node.is_running(self.daemon) and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.node.is_running(self.daemon):
            self.node.signal(self.daemon, signal.SIGKILL, group=True)

    def _lazy_unmount(self) -> None:
        r = self.node.exec([*mount_ns_argv(self.node), "umount", "-l", self.mountpoint],
                           timeout=15)
        if not r.ok and self.mounted():
            raise LazyFsError(f"{self.node.name}: cannot unmount {self.mountpoint}: "
                              f"{r.stderr.decode(errors='replace').strip()}")

    def _log_tail(self) -> str:
        r = self.node.exec(["sh", "-c", f"tail -n 5 {shlex.quote(self.log_path)} 2>/dev/null"],
                           timeout=10)
        return r.stdout.decode(errors="replace").strip().replace("\n", " | ") or "no log"
