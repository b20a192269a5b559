"""The journal of applied faults, and healing what a killed controller left.

``<machine state>/nemesis/<test-id>.json`` (core.machine_state: one place
per machine, whatever the store) holds how to reach every node
again and one entry per fault, written (and fsynced) *before* the fault is
applied.  A crash between the write and the fault leaves an entry for a
fault that may not exist; healing is idempotent, so that is harmless,
whereas the reverse order could leave a fault nobody knows about.

``heal_all(store_root)`` is what ``splitbrain clean`` calls.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from core.store import state_dir

from . import iptables as _ipt
from .reach import Unreachable, node_ref, run_on

VERSION = 1


def journal_path(store_root: Path, test_id: str) -> Path:
    return state_dir(Path(store_root), "nemesis") / f"{test_id}.json"


def _proc_start(pid: int) -> str | None:
    """The process' start time in clock ticks since boot; with the pid, a unique identity."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return stat[stat.rindex(b")") + 2:].split()[19].decode()


class Journal:
    """Thread-safe, crash-safe record of the faults one controller applied."""

    def __init__(self, path: Path | str, nodes: Iterable[Any] = (), test_id: str | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._next = 1
        self.data: dict[str, Any] = {
            "version": VERSION, "test_id": test_id or self.path.stem,
            "controller_pid": os.getpid(), "controller_start": _proc_start(os.getpid()),
            "created": time.time(), "nodes": {}, "entries": []}
        for n in nodes:
            self.data["nodes"][n.name] = node_ref(n)
        self._save()

    def _save(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=1, default=str)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    def record(self, kind: str, node: str, **detail: Any) -> int:
        """Write an entry for a fault about to be applied; returns its id."""
        with self._lock:
            eid = self._next
            self._next += 1
            self.data["entries"].append({"id": eid, "kind": kind, "node": node, "at": time.time(),
                                         "healed": False, **detail})
            self._save()
            return eid

    def update(self, eid: int, **detail: Any) -> None:
        with self._lock:
            for e in self.data["entries"]:
                if e["id"] == eid:
                    e.update(detail)
            self._save()

    def healed(self, eids: Iterable[int]) -> None:
        ids = set(eids)
        if not ids:
            return
        with self._lock:
            for e in self.data["entries"]:
                if e["id"] in ids:
                    e["healed"] = True
            # Healed entries carry no information a crash-time heal needs.
            self.data["entries"] = [e for e in self.data["entries"] if not e["healed"]]
            self._save()

    def active(self, kind: str | None = None, node: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self.data["entries"] if not e["healed"]
                    and (kind is None or e["kind"] == kind) and (node is None or e["node"] == node)]

    def close(self) -> bool:
        """Remove the file when nothing is left to heal; True when removed."""
        with self._lock:
            if any(not e["healed"] for e in self.data["entries"]):
                return False
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return True


# -- healing from the record alone --------------------------------------------------------


def heal_entry(ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
    """Undo one journal entry on the referenced node, through the fault that wrote it."""
    from .faults import journal_healers
    healer = journal_healers().get(entry.get("kind"))
    if healer is None:
        raise RuntimeError(f"unknown journal entry kind {entry.get('kind')!r}")
    return healer[1].heal_entry(ref, entry)


def heal_journal(path: Path, *, force: bool = False) -> list[str]:
    """Heal everything one journal file lists; remove it when all is healed."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        return [f"{path.name}: unreadable journal ({e}); left in place"]
    tid = data.get("test_id", path.stem)
    pid = data.get("controller_pid")
    if not force and pid and pid != os.getpid() and data.get("controller_start") \
            and _proc_start(int(pid)) == data.get("controller_start"):
        return [f"nemesis {tid}: controller pid {pid} is still running; not touched"]
    refs: dict[str, Mapping[str, Any]] = data.get("nodes", {})
    out: list[str] = []
    failed = False
    # In the faults' heal order: a paused server, say, is resumed before anything
    # else, as it cannot be stopped cleanly by whoever tears the nodes down next.
    from .faults import journal_healers
    healers = journal_healers()
    entries = sorted((e for e in data.get("entries", []) if not e.get("healed")),
                     key=lambda e: healers[e["kind"]][0] if e.get("kind") in healers
                     else (99, 0))
    for e in entries:
        ref = refs.get(e.get("node"), {"kind": "unknown", "name": e.get("node")})
        try:
            out.append(f"nemesis {tid}: " + heal_entry(ref, e))
        except Unreachable as u:
            if e.get("kind") in healers:
                healers[e["kind"]][1].heal_unreachable(ref, e)
            out.append(f"nemesis {tid}: {e.get('node')}: {u}; nothing left to heal there")
        except Exception as ex:  # noqa: BLE001 - keep healing the rest, report this one
            failed = True
            out.append(f"nemesis {tid}: {e.get('node')}: FAILED to heal {e.get('kind')}: {ex}")
    # Belt and braces: chains a crash left between "record" and "apply" of a
    # re-application are found by name, not by entry.
    for name, ref in refs.items():
        try:
            code, msg = run_on(ref, ["sh", "-c", _ipt.remove_all_script()], timeout=30)
            if code != 0:
                failed = True
                out.append(f"nemesis {tid}: {name}: FAILED to remove splitbrain chains: {msg}")
        except Unreachable:
            pass
    if not failed:
        path.unlink(missing_ok=True)
    if not out:
        out.append(f"nemesis {tid}: nothing left to heal")
    return out


def heal_all(store_root: Path, *, test_id: str | None = None, force: bool = False) -> list[str]:
    """Heal every fault recorded in the store's nemesis journals (``splitbrain clean``).

    Journals of a controller that is still running are skipped unless
    ``force``; each healed journal file is removed.
    """
    out: list[str] = []
    d = state_dir(Path(store_root), "nemesis")
    if not d.is_dir():
        return out
    for path in sorted(d.glob("*.json")):
        if path.name.startswith(".") or (test_id is not None and path.stem != test_id):
            continue
        out.extend(heal_journal(path, force=force))
    return out
