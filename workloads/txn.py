"""``list-append`` and ``rw-register``: transactions of 1–4 micro-ops over a rolling window of
keys, judged by the transactional checker (Elle's list-append and rw-register analyses).

As in Jepsen's list-append generator, a few keys are active at a time; each takes a bounded
number of writes and then retires for a fresh one, so every key sees contention long enough to
order its versions and no key's history grows without bound.  Written values are unique per key
(a per-key counter), which is what lets the checker recover version orders from reads.

After healing, final reads cover every key the run ever wrote (0 .. next_key-1, read from the
main phase's op stream), a few keys per read-only transaction, each retried until it ends ok or
the final phase's time limit: without them an acknowledged write nobody could read afterwards
(a database lost at restart) would contradict nothing, and the checker could not tell.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Mapping

from core.errors import OptionError
from core.generator import Fn, Gen, clients, until_ok
from core.options import Option, fraction, positive_int

from .base import BaseWorkload

MODELS = ("read-uncommitted", "read-committed", "read-atomic", "repeatable-read",
          "snapshot-isolation", "serializable", "strict-serializable")


def models_option(v: Any) -> str | None:
    ok = v is None or (isinstance(v, list) and v and all(isinstance(m, str) for m in v))
    return None if ok else "a list of consistency model names, e.g. [serializable]"


class _TxnOps:
    """The op stream; state lives here, called under the runner's lock."""

    def __init__(self, write: str, key_count: int, max_writes: int, min_len: int, max_len: int,
                 read_fraction: float):
        self.write = write
        self.max_writes = max_writes
        self.min_len, self.max_len = min_len, max_len
        self.read_fraction = read_fraction
        self.active = list(range(key_count))
        self.next_key = key_count
        self.writes: dict[int, int] = {}

    def __call__(self, rng: random.Random) -> dict:
        mops = []
        for _ in range(rng.randint(self.min_len, self.max_len)):
            i = rng.randrange(len(self.active))
            k = self.active[i]
            if rng.random() < self.read_fraction:
                mops.append(["r", k, None])
                continue
            n = self.writes.get(k, 0) + 1
            self.writes[k] = n
            mops.append([self.write, k, n])
            if n >= self.max_writes:
                # retire the key: a fresh one takes its place in the window
                self.writes.pop(k, None)
                self.active[i] = self.next_key
                self.next_key += 1
        return {"f": "txn", "value": mops}


def _final_reads(main: Any, key_count: int, per_txn: int) -> list[dict]:
    """Read-only transactions over every key the main stream used (the initial
    window when the main stream is not this workload's)."""
    ops = main.fn if isinstance(main, Fn) else None
    n = ops.next_key if isinstance(ops, _TxnOps) else key_count
    return [{"f": "txn", "value": [["r", k, None] for k in range(lo, min(lo + per_txn, n))]}
            for lo in range(0, n, per_txn)]


class _TxnWorkload(BaseWorkload):
    client_fs = ("txn",)
    write = ""
    checker = ""
    OPTIONS = {
        "key_count": Option(3, positive_int),
        "max_writes_per_key": Option(32, positive_int),
        "min_txn_length": Option(1, positive_int),
        "max_txn_length": Option(4, positive_int),
        "read_fraction": Option(0.5, fraction),
        "final_read_keys": Option(4, positive_int),    # keys per final read transaction
        # None: what the target's isolation level promises, else strict-serializable
        "consistency_models": Option(None, models_option),
    }

    def generator(self, options: Mapping[str, Any], rng: random.Random | None = None) -> Gen:
        o = self.validate_options(options)
        if o["min_txn_length"] > o["max_txn_length"]:
            raise OptionError("min_txn_length must be <= max_txn_length",
                              option="min_txn_length")
        return Fn(_TxnOps(self.write, o["key_count"], o["max_writes_per_key"],
                          o["min_txn_length"], o["max_txn_length"], o["read_fraction"]),
                  self.name)

    def final_generator(self, options: Mapping[str, Any],
                        main: Callable[[], Any] | None = None) -> Gen:
        o = self.validate_options(options)
        return clients(until_ok(lambda: _final_reads(main() if main else None, o["key_count"],
                                                     o["final_read_keys"])))

    def checkers(self, options: Mapping[str, Any]) -> list[tuple[str, dict]]:
        o = self.validate_options(options)
        opts = {}
        if o["consistency_models"]:
            opts["consistency_models"] = list(o["consistency_models"])
        return [(self.checker, opts)]


class ListAppend(_TxnWorkload):
    name = "list-append"
    description = "transactions appending to and reading lists → Elle's list-append analysis"
    write = "append"
    checker = "list-append"


class RwRegister(_TxnWorkload):
    name = "rw-register"
    description = "transactions writing and reading registers → Elle's rw-register analysis"
    write = "w"
    checker = "rw-register"
