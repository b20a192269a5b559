"""The lazyfs mounts of one run, shared by every fault that acts on the disk (lose-unfsynced,
fsync-error, slow-disk): mounted once under each node's durable directory before the target is
set up, checkpointed once it is healthy, unmounted once after it stops.  Each mount is journaled
(kind ``lazyfs``) before it is made, so ``splitbrain clean`` unmounts it after a killed
controller."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from core.capabilities import HasFiles

from ..reach import Unreachable, run_on
from .mount import SYSTEM_PYTHON, LazyMount

JOURNAL_KIND = "lazyfs"
# What a node runs lazyfs with: Debian's python3 and its FUSE binding (mount.py's SYSTEM_PYTHON).
LAZYFS_PACKAGES = ("python3-pyfuse3",)

# Times one write + fsync of a probe file under the mount: what a disk fault really did.
PROBE = r"""
import os, sys, time
p = os.path.join(sys.argv[1], ".splitbrain-probe")
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
t = time.monotonic()
try:
    os.write(fd, b"probe"); os.fsync(fd); err = ""
except OSError as e:
    err = os.strerror(e.errno)
print(round(time.monotonic() - t, 6), err)
os.close(fd); os.unlink(p)
"""


# Mean seconds of a 4 KiB write and of a 4 KiB write + fsync in a directory: run on the mount and
# beside it, the cost of the FUSE layer itself (a database's ops pay it on every WAL append).
OVERHEAD = r"""
import os, sys, time
p = os.path.join(sys.argv[1], ".splitbrain-overhead")
n = int(sys.argv[2]); buf = b"x" * 4096
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
t = time.monotonic()
for _ in range(n):
    os.write(fd, buf)
w = (time.monotonic() - t) / n
t = time.monotonic()
for _ in range(n):
    os.write(fd, buf); os.fsync(fd)
print(w, (time.monotonic() - t) / n)
os.close(fd); os.unlink(p)
"""
OVERHEAD_ROUNDS = 50


class LazyLayer:
    def __init__(self, nem: Any) -> None:
        self.nem = nem
        self.mounts: dict[str, LazyMount] = {}
        self.jids: dict[str, int] = {}
        self.overhead_note: str | None = None
        # Settings every control write keeps (a disk that lies about flushes for the whole run),
        # whatever the window faults (fsync-error, slow-disk) set and clear on top of them.
        self.standing: dict[str, Any] = {}

    def ensure(self, what: str) -> list[str]:
        """Mount on every node (once per run); ``what`` names the fault asking."""
        if self.mounts:
            return []
        t = self.nem.need_target(what, HasFiles)
        done = []
        for node in self.nem.nodes:
            m = LazyMount(node, t.durable_dir(node))
            # Intent first: a controller killed mid-mount leaves an entry clean can undo.
            self.jids[node.name] = self.nem.journal.record(
                JOURNAL_KIND, node.name, mountpoint=m.mountpoint, pid=None)
            self.nem.journal.update(self.jids[node.name], pid=m.mount()["pid"])
            self.mounts[node.name] = m
            done.append(f"{node.name}: lazyfs on {m.mountpoint}")
        return done

    def checkpoint(self) -> list[str]:
        # What the target wrote while being set up (configuration, an initialised data
        # directory) is what a real machine would have flushed long before the test.
        for m in self.mounts.values():
            m.checkpoint()
        if not self.mounts:
            return []
        lines = [f"lazyfs checkpoint on {', '.join(sorted(self.mounts))}"]
        if self.overhead_note is None:     # once per run, whichever disk fault settles first
            self.overhead_note = self.overhead(sorted(self.mounts)[0])
            lines.append(self.overhead_note)
        return lines

    def overhead(self, name: str) -> str:
        """The FUSE layer's cost on one node, measured on the mount and beside it."""
        m = self.mounts[name]
        beside = m.mountpoint.rsplit("/", 1)[0]

        def timed(directory: str) -> tuple[float, float] | None:
            r = m.node.exec([SYSTEM_PYTHON, "-c", OVERHEAD, directory, str(OVERHEAD_ROUNDS)],
                            timeout=120)
            try:
                w, ws = map(float, r.stdout.split())
                return w, ws
            except ValueError:
                return None

        on, off = timed(m.mountpoint), timed(beside)
        if on is None or off is None:
            return f"lazyfs overhead on {name}: not measured (the probe failed)"
        return (f"lazyfs overhead on {name}: 4 KiB write+fsync {ms(on[1])} on lazyfs vs "
                f"{ms(off[1])} without (x{on[1] / max(off[1], 1e-9):.1f}), 4 KiB write "
                f"{ms(on[0])} vs {ms(off[0])} (mean of {OVERHEAD_ROUNDS}); ops/s with and "
                "without: benchmarks/bench_lazyfs.py")

    def remount(self, name: str) -> int:
        pid = self.mounts[name].mount()["pid"]
        self.nem.journal.update(self.jids[name], pid=pid)
        return pid

    def control(self, names: Iterable[str], **settings: Any) -> None:
        for name in names:
            self.mounts[name].control(**{**self.standing, **settings})

    def keep(self, **settings: Any) -> None:
        """Settings in force on every mount from now to the end of the run."""
        self.standing.update(settings)
        self.control(self.mounts)

    def probe(self, name: str) -> dict[str, Any]:
        """One write + fsync under the node's mount, timed: ``{"fsync_s", "error"}``."""
        m = self.mounts[name]
        r = m.node.exec([SYSTEM_PYTHON, "-c", PROBE, m.mountpoint], timeout=120)
        secs, _, err = r.stdout.decode(errors="replace").strip().partition(" ")
        try:
            return {"fsync_s": float(secs), "error": err or None}
        except ValueError:
            return {"fsync_s": None, "error": r.stderr.decode(errors="replace").strip()[-200:]}

    def teardown(self) -> list[str]:
        done = []
        for name, m in list(self.mounts.items()):
            m.unmount()
            self.nem.journal.healed([self.jids.pop(name)])
            del self.mounts[name]
            done.append(f"{name}: lazyfs unmounted")
        return done


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def layer(nem: Any) -> LazyLayer:
    """The run's one lazyfs layer (created on first use)."""
    lay = getattr(nem, "_lazyfs_layer", None)
    if lay is None:
        lay = nem._lazyfs_layer = LazyLayer(nem)
    return lay


# -- after a crash of the controller ----------------------------------------------------------

def heal_mount_entry(ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
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
