"""Corrupt a file of the target's while it is down, as Jepsen's file-corruption nemesis does.

Applying it SIGKILLs the target on the chosen nodes, picks a file of the chosen class (the
target's ``HasFiles.file_classes``: wal, snapshot, data …; the newest by default — the one the
database is writing), and flips bits in, zeroes or truncates one chunk of it
(``nemesis/corrupt.py``), recording file, offset, length and the chunk's sha256 before and after.
Healing restarts the target and records how it reacted: still running a few seconds later, or
exited (with the last lines of its log) — a database that refuses to start on a damaged file
shows here.  The corruption itself is permanent by design, as a disk's would be: healing brings
the process back, never the bytes, so the journal entry only says what was done.
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

from core.capabilities import HasFiles, Killable
from core.nodes import Node
from core.options import Option, non_negative_int, one_of

from ..corrupt import MODES, corrupt
from ..errors import UnsupportedFault
from ..select import a_selector
from .base import ProcessFault

JOURNAL_KIND = "corrupt-file"
PICKS = ("newest", "random")

# Lists regular non-empty files matching the globs (unquoted $@ expands them in the
# directory), newest first, one "mtime size path" a line.
_LIST = ('cd "$1" || exit 3; shift; for f in $@; do [ -f "$f" ] && [ -s "$f" ] && '
         'stat -c "%Y %s %n" -- "$f"; done | sort -rn')


def _watch_s(v: Any) -> str | None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 60
    return None if ok else "a number of seconds in [0, 60]"


class CorruptFile(ProcessFault):
    name = "corrupt-file"
    ops = {"start-corrupt-file": "apply", "stop-corrupt-file": "heal"}
    nodes_option = "corrupt_file_nodes"
    OPTIONS = {"corrupt_file_nodes": Option("one", a_selector),
               "corrupt_file_mode": Option("bitflip", one_of(*MODES)),
               "corrupt_file_class": Option("wal", lambda v: None if isinstance(v, str)
                                            else "a file class of the target (wal, data …)"),
               "corrupt_file_pick": Option("newest", one_of(*PICKS)),
               # the region the chunk lies in (end 0: the file's end); see corrupt.corrupt
               "corrupt_file_start_bytes": Option(0, non_negative_int),
               "corrupt_file_end_bytes": Option(0, non_negative_int),
               "corrupt_file_watch_s": Option(3.0, _watch_s)}
    journal_kinds = (JOURNAL_KIND,)
    heal_rank = 9          # a restart, like kill's: after every other fault is healed
    window = ("start-corrupt-file", "stop-corrupt-file")
    healed_as = "restarted after corruption"


    @classmethod
    def spec_problems(cls, spec: Mapping[str, Any], target: Any) -> list[tuple[str, str]]:
        wanted = spec.get("corrupt_file_class", cls.OPTIONS["corrupt_file_class"].default)
        try:
            # Every target's classes so far are the same on every node; one that needs the
            # node to answer is judged when the fault is applied instead.
            classes = target.file_classes(None)
        except Exception:  # noqa: BLE001
            return []
        if isinstance(wanted, str) and wanted not in classes:
            return [("corrupt_file_class", f"target {target.name} has no file class {wanted!r}; "
                                           f"it has {', '.join(sorted(classes))}")]
        return []
    def __init__(self, nem: Any) -> None:
        super().__init__(nem)
        self.down: dict[str, int] = {}      # node -> journal id, target stopped

    def _target(self) -> Any:
        t = self.nem.need_target("corrupt-file", HasFiles)
        if not isinstance(t, Killable):
            raise UnsupportedFault(f"corrupt-file: target {type(t).__name__} cannot be killed")
        return t

    def apply(self, value: Any) -> dict[str, Any]:
        nem = self.nem
        nem.require("corrupt-file")
        t = self._target()
        o = {k.removeprefix("corrupt_file_"): v for k, v in nem.options.items()
             if k.startswith("corrupt_file_")}
        if isinstance(value, Mapping):
            for k, v in value.items():
                key = "class" if k == "file_class" else k
                if key not in o:
                    raise ValueError(f"corrupt-file: unknown key {k!r}; expected nodes, mode, "
                                     "file_class, pick, start_bytes, end_bytes")
                o[key] = v
            value = value.get("nodes")
        if o["mode"] not in MODES:
            raise ValueError(f"corrupt-file: mode {o['mode']!r} is not one of {', '.join(MODES)}")
        chosen = nem.select(value if value is not None else o["nodes"])
        pause, kill = nem.fault("pause"), nem.fault("kill")
        done: dict[str, Any] = {}
        for name in chosen:
            node = nem.by_name[name]
            classes = t.file_classes(node)
            if o["class"] not in classes:
                raise UnsupportedFault(f"corrupt-file: {type(t).__name__} has no file class "
                                       f"{o['class']!r}; it has {', '.join(sorted(classes))}")
            jid = nem.journal.record(JOURNAL_KIND, name, file_class=o["class"], mode=o["mode"])
            t.kill(node)
            self.down[name] = jid
            if pause is not None:
                pause.forget(name)
            if kill is not None:
                kill.killed.discard(name)   # restarted by this fault's heal, not kill's
            path = self._pick(node, t.durable_dir(node), classes[o["class"]], o["pick"])
            if path is None:
                done[name] = {"file": None, "why": f"no non-empty {o['class']} file "
                                                   f"({', '.join(classes[o['class']])})"}
                continue
            c = corrupt(node, path, o["mode"], nem.rng, start_bytes=int(o["start_bytes"]),
                        end_bytes=int(o["end_bytes"]))
            nem.journal.update(jid, file=c.file, offset=c.offset, length=c.length)
            done[name] = c.record()
        return {"nodes": chosen, "mode": o["mode"], "file_class": o["class"],
                "corrupted": done}

    def _pick(self, node: Node, root: str, globs: Sequence[str], pick: str) -> str | None:
        r = node.exec(["sh", "-c", _LIST, "sh", root, *globs], timeout=30)
        files = [line.split(" ", 2)[2] for line in r.stdout.decode(errors="replace").splitlines()
                 if line.count(" ") >= 2]
        if not files:
            return None
        rel = files[0] if pick == "newest" else self.nem.rng.choice(sorted(files))
        return f"{root.rstrip('/')}/{rel}"

    def heal(self, value: Any = None) -> dict[str, Any]:
        """Start the target again and watch whether it stays up on the damaged files."""
        nem = self.nem
        t = nem.need_target("stop-corrupt-file")
        chosen = sorted(self.down) if value is None else \
            [n for n in nem.select(value) if n in self.down]
        started = {}
        for name in chosen:
            node = nem.by_name[name]
            nem.reapply(node)
            t.start(node)
            started[name] = t.daemons(node)
        time.sleep(float(nem.options["corrupt_file_watch_s"]) if chosen else 0)
        reaction = {name: _reaction(nem.by_name[name], started[name]) for name in chosen}
        nem.journal.healed([self.down.pop(name) for name in chosen])
        return {"nodes": chosen, "reaction": reaction}

    def in_force(self) -> bool:
        return bool(self.down) and self.nem.target is not None

    def describe(self) -> list[str]:
        return [f"file corrupted, target down on {n}" for n in sorted(self.down)]

    # -- after a crash of the controller ----------------------------------------------------
    @classmethod
    def heal_entry(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
        # Nothing runs and nothing is mounted for it; the damaged bytes stay, by design.
        where = entry.get("file") or f"a {entry.get('file_class')} file"
        return (f"{entry.get('node')}: corruption of {where} is permanent by design "
                "(nothing to undo; the target is not restarted by clean)")


def _reaction(node: Node, started: Sequence[Any]) -> dict[str, Any]:
    """Whether the restarted daemons still run; the end of a dead one's log says why not."""
    alive = [d.pid for d in started if node.is_running(d)]
    if started and len(alive) == len(started):
        return {"running": True, "pids": alive}
    tail = ""
    for d in started:
        if not node.is_running(d) and d.log_path:
            r = node.exec(["tail", "-n", "3", d.log_path], timeout=10)
            tail = r.stdout.decode(errors="replace").strip()[-600:]
    return {"running": False, "pids": alive, "log_tail": tail}
