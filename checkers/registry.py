"""Checkers by name.  A checker module calls :func:`register` at import; the
modules listed in ``_MODULES`` are imported on first lookup so that a plain
``import checkers`` stays cheap (numba compiles nothing until asked)."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Callable

from .history import History
from .result import CheckResult

CheckFn = Callable[..., CheckResult]

# Every built-in checker module; each registers its names when imported.
_MODULES: list[str] = [
    "checkers.set_full",
    "checkers.counter",
    "checkers.stats",
    "checkers.linear",
    "checkers.causal",
    "checkers.txn",
]


@dataclass(frozen=True)
class Checker:
    name: str
    fn: CheckFn
    description: str


class UnknownChecker(LookupError):
    pass


_REGISTRY: dict[str, Checker] = {}
_loaded = False


def register(name: str, fn: CheckFn, description: str) -> None:
    _REGISTRY[name] = Checker(name, fn, description)


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in _MODULES:
        importlib.import_module(mod)


def names() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def get(name: str) -> Checker:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        avail = ", ".join(sorted(_REGISTRY)) or "none yet"
        raise UnknownChecker(f"no checker named {name!r} (available: {avail})") from None


def takes_progress(name: str) -> bool:
    """Whether the checker reports progress (has a ``progress`` parameter)."""
    return "progress" in inspect.signature(get(name).fn).parameters


def run(name: str, history: History, **options) -> CheckResult:
    if "progress" in options and not takes_progress(name):
        options.pop("progress")
    return get(name).fn(history, **options)
