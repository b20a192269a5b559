"""``register`` and ``multi-register``: read / write / compare-and-set on one
key (or many independent keys), judged by the linearizability checker.

Written values are unique (a counter shared by all threads), so a stale read
names exactly which write it saw.  A cas compares against one of the last
few values written to that key, so a fair share of them can succeed.
"""

from __future__ import annotations

import random
from typing import Any, Mapping

from core.generator import Fn, Gen

from core.errors import OptionError
from core.options import Option, a_string, fraction, non_negative_int, positive_int

from .base import BaseWorkload


class _RegisterOps:
    """The op stream: state lives here, called under the runner's lock."""

    def __init__(self, keys: list[Any], read: float, cas: float, ops_per_key: int):
        self.keys = keys
        self.read = read
        self.cas = cas
        self.ops_per_key = ops_per_key
        self.next_value = 1
        self.recent: dict[Any, list[int]] = {}
        self.emitted = 0
        self._fixed_key = keys[0] if (len(keys) == 1 and not ops_per_key) else None

    def _key(self, rng: random.Random) -> Any:
        if self.ops_per_key:
            # Jepsen's "independent" trick: a fresh key every ops_per_key ops keeps
            # each linearizability search small however long the run is.
            gen = self.emitted // self.ops_per_key
            if len(self.keys) == 1:
                return f"{self.keys[0]}{gen}"
            return f"{rng.choice(self.keys)}-{gen}"
        return self.keys[0] if len(self.keys) == 1 else rng.choice(self.keys)

    def __call__(self, rng: random.Random) -> dict:
        key = self._fixed_key if self._fixed_key is not None else self._key(rng)
        self.emitted += 1
        u = rng.random()
        if u < self.read:
            return {"f": "read", "key": key, "value": None}
        recent = self.recent.get(key)
        v = self.next_value
        if u < self.read + self.cas and recent:
            self.next_value += 1
            recent.append(v)
            if len(recent) > 3:
                del recent[0]
            return {"f": "cas", "key": key, "value": [rng.choice(recent[:-1] or recent), v]}
        self.next_value += 1
        self.recent.setdefault(key, []).append(v)
        if len(self.recent[key]) > 3:
            del self.recent[key][0]
        return {"f": "write", "key": key, "value": v}


class Register(BaseWorkload):
    name = "register"
    description = "one key: read/write/cas with unique values → linearizable (cas-register)"
    client_fs = ("read", "write", "cas")
    OPTIONS = {
        "key": Option("r", a_string),
        "read_fraction": Option(0.5, fraction),
        "cas_fraction": Option(0.25, fraction),
        # 0 = one key for the whole run; N = a fresh key every N ops
        "ops_per_key": Option(0, non_negative_int),
    }
    model = "cas-register"

    def _keys(self, o: Mapping[str, Any]) -> list[Any]:
        return [o["key"]]

    def generator(self, options: Mapping[str, Any], rng: random.Random | None = None) -> Gen:
        o = self.validate_options(options)
        if o["read_fraction"] + o["cas_fraction"] > 1:
            raise OptionError("read_fraction + cas_fraction must be <= 1", path=("cas_fraction",))
        return Fn(_RegisterOps(self._keys(o), o["read_fraction"], o["cas_fraction"],
                               o["ops_per_key"]), self.name)

    def checkers(self, options: Mapping[str, Any]) -> list[tuple[str, dict]]:
        return [("linearizable", {"model": self.model})]


class MultiRegister(Register):
    name = "multi-register"
    description = "many independent keys: read/write/cas → linearizable (kv, per key)"
    OPTIONS = {
        "keys": Option(8, positive_int),
        "read_fraction": Option(0.5, fraction),
        "cas_fraction": Option(0.25, fraction),
        "ops_per_key": Option(0, non_negative_int),
    }
    model = "kv"

    def _keys(self, o: Mapping[str, Any]) -> list[Any]:
        return [f"k{i}" for i in range(o["keys"])]
