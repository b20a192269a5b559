"""What a workload is: a generator of client ops, the client calls a target
must implement, and the checkers that judge the resulting history."""

from __future__ import annotations

import random
from typing import Any, Mapping, Protocol, runtime_checkable

OK, FAIL, INFO = "ok", "fail", "info"


class DefiniteFailure(Exception):
    """Raised by a client when the op certainly did not take effect (e.g.
    connection refused before anything was sent): the worker records ``fail``
    and keeps its process.  Any other exception is recorded as ``info``."""


class OptionError(ValueError):
    """A workload option is wrong; the message names the option and what is allowed."""


@runtime_checkable
class Client(Protocol):
    """One client process's connection to one node.

    ``invoke`` returns ``(type, value, error)``: ``type`` is ``"ok"``,
    ``"fail"`` (certainly not applied) or ``"info"`` (unknown); ``value`` the
    completion's value (a read's result); ``error`` a short string or None.
    It must return within about ``timeout`` seconds.  ``node`` (optional
    attribute) names the node it talks to; the runner records it on ops.
    """

    def invoke(self, f: str, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]: ...

    def close(self) -> None: ...


class Workload(Protocol):
    name: str
    description: str
    client_fs: tuple[str, ...]
    # option name -> default
    option_defaults: Mapping[str, Any]

    def validate_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults filled in; OptionError naming the option when one is bad."""
        ...

    def generator(self, options: Mapping[str, Any], rng: random.Random) -> Any:
        """The main-phase client generator (a ``harness.generator`` Gen), unbound."""
        ...

    def final_generator(self, options: Mapping[str, Any]) -> Any | None:
        """The after-healing client generator (final reads), or None."""
        ...

    def checkers(self, options: Mapping[str, Any]) -> list[tuple[str, dict]]:
        """``[(checker name, options), ...]`` for ``checkers.registry``."""
        ...


class BaseWorkload:
    """Shared option handling; concrete workloads set the class attributes."""

    name = ""
    description = ""
    client_fs: tuple[str, ...] = ()
    # option -> (default, check(value) -> error message or None)
    options_spec: Mapping[str, tuple[Any, Any]] = {}

    @property
    def option_defaults(self) -> dict[str, Any]:
        return {k: d for k, (d, _) in self.options_spec.items()}

    def validate_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        out = self.option_defaults
        for k, v in (options or {}).items():
            if k not in self.options_spec:
                allowed = ", ".join(sorted(self.options_spec)) or "none"
                raise OptionError(f"{k}: unknown option for workload {self.name} "
                                  f"(allowed: {allowed})")
            err = self.options_spec[k][1](v)
            if err:
                raise OptionError(f"{k}: {v!r} is not valid; expected {err}")
            out[k] = v
        return out

    def final_generator(self, options: Mapping[str, Any]) -> Any | None:
        return None

    def __repr__(self) -> str:
        return f"<workload {self.name}>"


# option value checks: return what was expected, or None when fine
def positive_int(v: Any) -> str | None:
    return None if isinstance(v, int) and not isinstance(v, bool) and v > 0 else "a positive integer"


def non_negative_int(v: Any) -> str | None:
    return None if isinstance(v, int) and not isinstance(v, bool) and v >= 0 \
        else "an integer >= 0"


def fraction(v: Any) -> str | None:
    return None if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 \
        else "a number between 0 and 1"


def a_string(v: Any) -> str | None:
    return None if isinstance(v, str) and v else "a non-empty string"


def a_bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "true or false"
