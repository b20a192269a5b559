"""``counter``: increments (by 1..max_add) and reads → the ``counter``
checker (each read within [acknowledged adds before it, attempted adds
during it])."""

from __future__ import annotations

import random
from typing import Any, Mapping

from core.generator import Fn, Gen, clients, each_process, once

from core.options import Option, a_string, fraction, positive_int

from .base import BaseWorkload


class _CounterOps:
    def __init__(self, key: str, read: float, max_add: int):
        self.key = key
        self.read = read
        self.max_add = max_add

    def __call__(self, rng: random.Random) -> dict:
        if rng.random() < self.read:
            return {"f": "read", "key": self.key, "value": None}
        v = 1 if self.max_add == 1 else rng.randint(1, self.max_add)
        return {"f": "add", "key": self.key, "value": v}


class CounterWorkload(BaseWorkload):
    name = "counter"
    description = "increments + reads → counter (reads within bounds)"
    client_fs = ("add", "read")
    OPTIONS = {
        "key": Option("c", a_string),
        "read_fraction": Option(0.3, fraction),
        "max_add": Option(1, positive_int),
    }

    def generator(self, options: Mapping[str, Any], rng: random.Random | None = None) -> Gen:
        o = self.validate_options(options)
        return Fn(_CounterOps(o["key"], o["read_fraction"], o["max_add"]), self.name)

    def final_generator(self, options: Mapping[str, Any], main: Any = None) -> Gen:
        o = self.validate_options(options)
        return clients(each_process(once({"f": "read", "key": o["key"], "value": None})))

    def checkers(self, options: Mapping[str, Any]) -> list[tuple[str, dict]]:
        return [("counter", {})]
