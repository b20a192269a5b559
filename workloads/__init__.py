"""Workloads: a generator of client ops, the client fs a target implements,
and the checkers that judge the history.  ``workloads.get(name)``."""

from __future__ import annotations

from .base import (FAIL, INFO, OK, BaseWorkload, Client, DefiniteFailure, OptionError,
                   Workload)


class UnknownWorkload(LookupError):
    pass


def _all() -> dict[str, BaseWorkload]:
    from .causal import CausalRegister
    from .counter import CounterWorkload
    from .register import MultiRegister, Register
    from .bank import Bank
    from .set import SetWorkload
    from .txn import ListAppend, RwRegister
    ws = [Register(), MultiRegister(), SetWorkload(), CounterWorkload(), CausalRegister(),
          ListAppend(), RwRegister(), Bank()]
    return {w.name: w for w in ws}


def names() -> list[str]:
    return sorted(_all())


def get(name: str) -> BaseWorkload:
    ws = _all()
    try:
        return ws[name]
    except KeyError:
        raise UnknownWorkload(f"no workload named {name!r} (available: "
                              f"{', '.join(sorted(ws))})") from None


__all__ = ["BaseWorkload", "Client", "DefiniteFailure", "FAIL", "INFO", "OK", "OptionError",
           "UnknownWorkload", "Workload", "get", "names"]
