"""What a workload is: a generator of client ops, the client calls a target
must implement, and the checkers that judge the resulting history."""

from __future__ import annotations

import random
from typing import Any, Callable, Mapping, Protocol

from core.client import FAIL, INFO, OK, Client, DefiniteFailure  # noqa: F401 - the contract
from core.errors import OptionError
from core.options import Option, validate_options

class Workload(Protocol):
    """What clients do and how it is judged.  ``generator`` returns a fresh
    ``core.generator`` Gen of ``{"f", "key", "value"}`` ops (deterministic for a
    given ``rng``: the run's seed), ``client_fs`` the ``f``s a target's client
    must implement, ``checkers`` the checker names (and options) that judge the
    history.  Holds no run state: one instance serves every run."""

    name: str
    description: str
    client_fs: tuple[str, ...]
    # option name -> default
    option_defaults: Mapping[str, Any]

    def validate_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults filled in; OptionError naming the option when one is bad."""
        ...

    def generator(self, options: Mapping[str, Any], rng: random.Random) -> Any:
        """The main-phase client generator (a ``core.generator`` Gen), unbound."""
        ...

    def final_generator(self, options: Mapping[str, Any],
                        main: Callable[[], Any] | None = None) -> Any | None:
        """The after-healing client generator (final reads), or None.  ``main``,
        called once the final phase starts, returns the run's main-phase op stream
        (what ``generator`` returned) so final reads can cover what it wrote."""
        ...

    def checkers(self, options: Mapping[str, Any]) -> list[tuple[str, dict]]:
        """``[(checker name, options), ...]`` for ``checkers.registry``."""
        ...


class BaseWorkload:
    """Shared option handling; concrete workloads set the class attributes."""

    name = ""
    description = ""
    client_fs: tuple[str, ...] = ()
    OPTIONS: Mapping[str, Option] = {}

    @property
    def option_defaults(self) -> dict[str, Any]:
        return {k: o.default for k, o in self.OPTIONS.items()}

    def validate_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        return validate_options(f"workload {self.name}", self.OPTIONS, options)

    def final_generator(self, options: Mapping[str, Any],
                        main: Callable[[], Any] | None = None) -> Any | None:
        return None

    def __repr__(self) -> str:
        return f"<workload {self.name}>"
