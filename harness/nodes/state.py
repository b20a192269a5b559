"""State files: what a provider created, written *before* each resource exists.

A controller killed with SIGKILL leaves its state file behind; ``splitbrain
clean`` reads every file in the machine-wide ``nodes/`` state directory
(core.machine_state) and destroys what it names.  Writing the intent before the action means a crash between the two
leaves a record of something that may not exist — reclaiming code therefore
tolerates missing resources — but never a resource without a record.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

from core.store import state_dir


class StateFile:
    def __init__(self, store_root: Path, test_id: str, provider: str):
        self.path = state_dir(Path(store_root), "nodes") / f"{test_id}.json"
        self.data: dict[str, Any] = {"provider": provider, "test_id": test_id,
                                     "controller_pid": os.getpid(),
                                     "controller_start": process_start(os.getpid()),
                                     "created": time.time()}

    def save(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())  # the record must survive the crash it exists for
        os.replace(tmp, self.path)

    def update(self, **kw: Any) -> None:
        self.data.update(kw)
        self.save()

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (tells a pid's reuse apart)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2:].split()
    return int(fields[19])  # field 22 of proc(5), counted after "pid (comm)"


def controller_alive(state: dict[str, Any]) -> bool:
    """True while the controller that wrote the state is still running (clean leaves it alone)."""
    pid = state.get("controller_pid")
    if not isinstance(pid, int) or pid == os.getpid():
        return False
    start = process_start(pid)
    return start is not None and start == state.get("controller_start")


def all_states(store_root: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every readable state file, oldest first; unreadable ones are reported as empty dicts."""
    out = []
    for p in sorted(state_dir(Path(store_root), "nodes").glob("*.json")):
        try:
            out.append((p, json.loads(p.read_text())))
        except (OSError, ValueError):
            out.append((p, {}))
    return out


@contextlib.contextmanager
def state_lock(store_root: Path) -> Iterator[None]:
    """Serialise allocation (subnets, names) between controllers on this machine.

    Host-wide, not per store: two tests with different stores must not pick
    the same subnet in the moment before either has made its bridge.
    """
    lock = Path(tempfile.gettempdir()) / "splitbrain-nodes-alloc.lock"
    with open(lock, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
