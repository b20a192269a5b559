"""``set``: unique adds and occasional reads of the whole set, then a final
read by every client after healing → the ``set`` checker (Jepsen's
set-full semantics: lost, unexpected, stale, recovered, never read)."""

from __future__ import annotations

import random
from typing import Any, Mapping

from core.generator import Fn, Gen, clients, each_process, once

from core.options import Option, a_string, fraction

from .base import BaseWorkload


class _SetOps:
    def __init__(self, key: str, read: float):
        self.key = key
        self.read = read
        self.next_value = 0

    def __call__(self, rng: random.Random) -> dict:
        if rng.random() < self.read:
            return {"f": "read", "key": self.key, "value": None}
        v = self.next_value
        self.next_value += 1
        return {"f": "add", "key": self.key, "value": v}


class SetWorkload(BaseWorkload):
    name = "set"
    description = "unique adds + reads, final read → set (lost/unexpected/stale)"
    client_fs = ("add", "read")
    OPTIONS = {
        "key": Option("s", a_string),
        "read_fraction": Option(0.1, fraction),
    }

    def generator(self, options: Mapping[str, Any], rng: random.Random | None = None) -> Gen:
        o = self.validate_options(options)
        return Fn(_SetOps(o["key"], o["read_fraction"]), self.name)

    def final_generator(self, options: Mapping[str, Any], main: Any = None) -> Gen:
        o = self.validate_options(options)
        return clients(each_process(once({"f": "read", "key": o["key"], "value": None})))

    def checkers(self, options: Mapping[str, Any]) -> list[tuple[str, dict]]:
        return [("set", {})]
