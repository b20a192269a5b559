"""Checkers by name: the ``splitbrain.checkers`` entry points (splitbrain's own
built-ins are declared there, as a plugin's are), plus any :func:`register`-ed
at run time.  An entry point names a :class:`Checker` or a bare check function
(its docstring's first line is its description).  Nothing is imported until a
checker is asked for, so a plain ``import checkers`` stays cheap.

One rule for every checker that judges client operations: a history with none
(an empty file, a file holding only a torn line, nemesis ops alone) is
``unknown`` — nothing was checked, so nothing is vouched for."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import Callable

from .entry_points import PluginError, entry_points
from .history import History
from .result import UNKNOWN, CheckResult

CheckFn = Callable[..., CheckResult]
GROUP = "splitbrain.checkers"


@dataclass(frozen=True)
class Checker:
    """A named check: ``fn(history, **options) -> CheckResult``.

    The contract: ``fn`` is pure (reads the history, writes nothing); its keyword
    parameters are its options (a spec's ``checkers: [{name, <option>: …}]``,
    refused by name when misspelt).  ``valid`` is True, False or ``"unknown"``:
    never True when it could not decide (out of budget, input it does not
    understand) — that is ``unknown`` with the reason.  It may raise; the run
    then records ``unknown`` with the error.  ``evidence`` is JSON-able data
    (``docs/evidence.md``), the report draws from it."""

    name: str
    fn: CheckFn
    description: str
    judges_client_ops: bool = True  # False: judges something else (e.g. node logs)
    # Optional: ``many(histories, errors="return", **options)`` judges several
    # histories at once, giving exactly what ``fn`` gives each (a CheckResult,
    # or the ValueError ``fn`` would raise, in its place) — for checkers whose
    # fixed cost per call dwarfs the work on a small history.
    many: Callable[..., list] | None = None


class UnknownChecker(LookupError):
    pass


_REGISTRY: dict[str, Checker] = {}   # added at run time
_loaded: dict[str, Checker] = {}     # loaded from entry points


def register(name: str, fn: CheckFn, description: str, judges_client_ops: bool = True) -> None:
    """Add a checker at run time (entry points are the way for a package)."""
    _REGISTRY[name] = Checker(name, fn, description, judges_client_ops)


def as_checker(name: str, obj: object) -> Checker:
    """A :class:`Checker` (renamed to ``name``) or a check function, as a Checker."""
    if isinstance(obj, Checker):
        return obj if obj.name == name else dataclasses.replace(obj, name=name)
    if callable(obj):
        doc = (getattr(obj, "__doc__", None) or "").strip().split("\n")[0]
        return Checker(name, obj, doc)  # type: ignore[arg-type]
    raise TypeError(f"checker {name!r} is {obj!r}, not a Checker or a check function")


def registered() -> dict[str, Checker]:
    """The checkers added at run time with :func:`register`."""
    return dict(_REGISTRY)


def names() -> list[str]:
    return sorted(set(_REGISTRY) | set(entry_points(GROUP)))


def get(name: str) -> Checker:
    """The checker ``name``; UnknownChecker when there is none, PluginError (one
    line naming the plugin and the cause) when its plugin cannot be imported."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name not in _loaded:
        ep = entry_points(GROUP).get(name)
        if ep is None:
            avail = ", ".join(names()) or "none yet"
            raise UnknownChecker(f"no checker named {name!r} (available: {avail})") from None
        _loaded[name] = as_checker(name, ep.load())
    return _loaded[name]


def run_many(name: str, histories: list[History], **options) -> list[CheckResult | ValueError]:
    """:func:`run` on each history, in one call of the checker's ``many`` when it
    has one.  A history the checker cannot read has its ValueError in its place."""
    checker = get(name)
    options.pop("progress", None)  # one bar per history means nothing in a batch
    out: list[CheckResult | ValueError | None] = [None] * len(histories)
    todo = []
    for i, h in enumerate(histories):
        try:
            empty = checker.judges_client_ops and len(h.columnar().operations()) == 0
        except ValueError as e:  # a history that has no columns to give
            out[i] = e
            continue
        if empty:
            out[i] = CheckResult(name, UNKNOWN, NOTHING_CHECKED,
                                 evidence={"unknown_reason": "empty"})
        else:
            todo.append(i)
    if checker.many is not None and len(todo) > 1:
        for i, r in zip(todo, checker.many([histories[i] for i in todo], errors="return",
                                           **options)):
            out[i] = r
        return out  # type: ignore[return-value]
    for i in todo:
        try:
            out[i] = checker.fn(histories[i], **options)
        except ValueError as e:
            out[i] = e
    return out  # type: ignore[return-value]


def takes_progress(name: str) -> bool:
    """Whether the checker reports progress (has a ``progress`` parameter)."""
    return "progress" in inspect.signature(get(name).fn).parameters


NOTHING_CHECKED = "no client operations in the history, so nothing was checked"


def run(name: str, history: History, **options) -> CheckResult:
    checker = get(name)
    if checker.judges_client_ops and len(history.columnar().operations()) == 0:
        return CheckResult(name, UNKNOWN, NOTHING_CHECKED, evidence={"unknown_reason": "empty"})
    if "progress" in options and not takes_progress(name):
        options.pop("progress")
    return checker.fn(history, **options)
