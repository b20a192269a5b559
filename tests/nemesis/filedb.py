"""A stand-in database for the disk-fault tests: one real process on the node that writes files
in its durable directory.  Real targets are exercised by the example runs; this one shows each
mechanism exactly, since what it wrote and synced is known to the byte."""

from __future__ import annotations

import signal
import time

from core.nodes import Daemon

PYTHON = "/usr/bin/python3"   # Debian's, on the host and in a node image alike

# Appends to "log", fsyncing only the first line; with a size argument it first writes "data",
# that many seeded pseudo-random bytes, fsynced.  Then it creates the ready marker (outside the
# durable directory, so no fault touches it): "log" alone cannot say a restarted writer is done,
# since it still holds the lines of the writer before.
WRITER = r"""
import os, random, sys, time
d, ready = sys.argv[1], sys.argv[2]
if len(sys.argv) > 3:
    fd = os.open(os.path.join(d, "data"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, random.Random(7).randbytes(int(sys.argv[3]))); os.fsync(fd); os.close(fd)
fd = os.open(os.path.join(d, "log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
os.write(fd, b"synced\n"); os.fsync(fd)
os.write(fd, b"unsynced\n")
open(ready, "w").close()
print("ready", flush=True)
time.sleep(600)
"""


class FileDb:
    name = "filedb"
    env_hook = None

    def __init__(self, data_bytes: int = 0) -> None:
        self.data_bytes = data_bytes
        self.procs: dict[str, Daemon] = {}
        self.started: list[str] = []

    def durable_dir(self, node):
        return f"{node.data_dir}/db"

    def file_classes(self, node):
        return {"wal": ["log"], "data": ["data"]}

    def supports(self, fault):
        return True, ""

    def ready_path(self, node):
        return f"{node.data_dir}/filedb.ready"

    def start(self, node):
        extra = [str(self.data_bytes)] if self.data_bytes else []
        node.check(["mkdir", "-p", self.durable_dir(node)])
        node.check(["rm", "-f", self.ready_path(node)])
        d = node.start_daemon("filedb", [PYTHON, "-c", WRITER, self.durable_dir(node),
                                         self.ready_path(node), *extra],
                              log_path=f"{node.data_dir}/filedb.log")
        self.procs[node.name] = d
        self.started.append(node.name)

    def daemons(self, node):
        d = self.procs.get(node.name)
        return [d] if d is not None and node.is_running(d) else []

    def fault_daemons(self, node):
        return self.daemons(node)

    def kill(self, node):
        for d in self.daemons(node):
            node.signal(d, signal.SIGKILL, group=True)
        for _ in range(200):
            if not self.daemons(node):
                break
            time.sleep(0.02)


def wait_ready(node, db: FileDb) -> None:
    """Until the writer last started on ``node`` has written all its files."""
    for _ in range(300):
        if node.exec(["test", "-e", db.ready_path(node)]).ok:
            return
        time.sleep(0.02)
    raise AssertionError(f"{node.name}: the writer never wrote")
