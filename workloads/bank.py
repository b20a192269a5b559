"""``bank``: transfers between accounts with a fixed total, and reads of every balance in one
transaction (Jepsen's bank test).  Snapshot isolation or better keeps every read's total equal to
the initial total; a read that sums to anything else saw a torn or lost transfer."""

from __future__ import annotations

import random
from typing import Any, Mapping

from core.generator import Fn, Gen, clients, each_process, until_ok
from core.options import Option, a_bool, fraction, int_at_least, positive_int

from .base import BaseWorkload


class _BankOps:
    def __init__(self, accounts: int, max_transfer: int, read_fraction: float):
        self.accounts = accounts
        self.max_transfer = max_transfer
        self.read_fraction = read_fraction

    def __call__(self, rng: random.Random) -> dict:
        if rng.random() < self.read_fraction:
            return {"f": "read", "value": None}
        src, dst = rng.sample(range(self.accounts), 2)
        return {"f": "transfer",
                "value": {"from": src, "to": dst, "amount": rng.randint(1, self.max_transfer)}}


class Bank(BaseWorkload):
    name = "bank"
    description = "transfers between accounts; every read's total must stay the same → bank"
    client_fs = ("read", "transfer")
    OPTIONS = {
        "accounts": Option(5, int_at_least(2)),
        "total": Option(100, positive_int),
        "max_transfer": Option(5, positive_int),
        "read_fraction": Option(0.5, fraction),
        "negative_balances": Option(False, a_bool),
    }

    def generator(self, options: Mapping[str, Any], rng: random.Random | None = None) -> Gen:
        o = self.validate_options(options)
        return Fn(_BankOps(o["accounts"], o["max_transfer"], o["read_fraction"]), self.name)

    def final_generator(self, options: Mapping[str, Any], main: Any = None) -> Gen:
        # after healing, every process reads (retried until ok): the totals every node ends with
        return clients(each_process(until_ok(lambda: [{"f": "read", "value": None}])))

    def checkers(self, options: Mapping[str, Any]) -> list[tuple[str, dict]]:
        o = self.validate_options(options)
        return [("bank", {"total": o["total"], "accounts": list(range(o["accounts"])),
                          "negative_balances": o["negative_balances"]})]
