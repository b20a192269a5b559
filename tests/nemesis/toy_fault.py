"""A toy fault, written the way a new fault is: one module, one Fault subclass.

It leaves a marker file in each chosen node's data directory — harmless, and
observable from outside, so a test can see it applied, journaled and healed.
"""

from __future__ import annotations

from typing import Any, Mapping

from core.options import Option, a_string
from nemesis.faults.base import Fault
from nemesis.reach import run_on


class Toy(Fault):
    name = "toy"
    ops = {"start-toy": "apply", "stop-toy": "heal"}
    OPTIONS = {"toy_marker": Option("toy-marker", a_string)}
    journal_kinds = ("toy",)
    window = ("start-toy", "stop-toy")
    healed_as = "toy removed"

    def __init__(self, nem: Any) -> None:
        super().__init__(nem)
        self.marked: dict[str, tuple[int, str]] = {}   # node -> (journal id, path)

    def _path(self, node: Any) -> str:
        return f"{node.data_dir.rstrip('/')}/{self.nem.options['toy_marker']}"

    def apply(self, value: Any) -> dict[str, Any]:
        chosen = self.nem.select(value or "all")
        for name in chosen:
            node = self.nem.by_name[name]
            path = self._path(node)
            # Intent first: the entry is on disk before the file exists.
            jid = self.nem.journal.record("toy", name, path=path)
            self.marked[name] = (jid, path)
            node.check(["touch", path])
        return {"nodes": chosen}

    def heal(self, value: Any = None) -> dict[str, Any]:
        names = sorted(self.marked)
        for name in names:
            jid, path = self.marked.pop(name)
            self.nem.by_name[name].check(["rm", "-f", path])
            self.nem.journal.healed([jid])
        return {"nodes": names}

    def in_force(self) -> bool:
        return bool(self.marked)

    def describe(self) -> list[str]:
        return [f"toy on {', '.join(sorted(self.marked))}"] if self.marked else []

    @classmethod
    def heal_entry(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
        run_on(ref, ["rm", "-f", entry["path"]], timeout=10)
        return f"{entry['node']}: removed {entry['path']}"
