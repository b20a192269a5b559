"""``causal-register``: several keys, unique values per key, reads and
writes by several sessions (client processes) → the ``causal`` checker."""

from __future__ import annotations

import random
from typing import Any, Mapping

from core.generator import Fn, Gen

from core.options import Option, a_string, fraction, positive_int

from .base import BaseWorkload


class _CausalOps:
    def __init__(self, keys: list[str], read: float):
        self.keys = keys
        self.read = read
        self.next_value: dict[str, int] = {k: 1 for k in keys}

    def __call__(self, rng: random.Random) -> dict:
        key = rng.choice(self.keys)
        if rng.random() < self.read:
            return {"f": "read", "key": key, "value": None}
        v = self.next_value[key]
        self.next_value[key] = v + 1
        return {"f": "write", "key": key, "value": v}


def _level(v: Any) -> str | None:
    return None if v in ("CC", "CM", "CCv") else "one of CC, CM, CCv"


class CausalRegister(BaseWorkload):
    name = "causal-register"
    description = "unique values per key, several sessions → causal"
    client_fs = ("read", "write")
    OPTIONS = {
        "keys": Option(3, positive_int),
        "read_fraction": Option(0.5, fraction),
        "level": Option("CCv", _level),
        "key_prefix": Option("x", a_string),
    }

    def generator(self, options: Mapping[str, Any], rng: random.Random | None = None) -> Gen:
        o = self.validate_options(options)
        keys = [f"{o['key_prefix']}{i}" for i in range(o["keys"])]
        return Fn(_CausalOps(keys, o["read_fraction"]), self.name)

    def checkers(self, options: Mapping[str, Any]) -> list[tuple[str, dict]]:
        o = self.validate_options(options)
        return [("causal", {"level": o["level"]})]
