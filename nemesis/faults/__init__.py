"""Every fault, by name: the ``splitbrain.faults`` entry points, open to plugins.

A new fault is one module with a :class:`~nemesis.faults.base.Fault` subclass and
one entry-point line in ``pyproject.toml`` (splitbrain's or a plugin's), or
``register("name", "module:Class")`` at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Iterator

from core.registry import Registry

from .base import Fault

REGISTRY = Registry("fault", group="splitbrain.faults", order=(
    "partition", "clock", "kill", "pause", "loss", "latency", "lose-unfsynced", "fsync-error",
    "slow-disk", "stop-and-go", "cpu-starve", "corrupt-file"))
register = REGISTRY.register
unregister = REGISTRY.unregister


def kinds() -> list[type[Fault]]:
    """Every registered fault class, built-ins first; a plugin fault that cannot be
    imported is left out (with one warning), never stopping the others."""
    return [cls for _, cls in REGISTRY.loadable()]


def kind_of(spec_name: str) -> type[Fault] | None:
    """The fault a spec's ``nemesis.faults`` entry names (``majorities-ring`` is a
    partition, ``packet-loss`` is loss), or None."""
    for k in kinds():
        if spec_name == k.name or spec_name in k.spec_names:
            return k
    return None


def journal_healers() -> dict[str, tuple[tuple[int, int], type[Fault]]]:
    """journal entry kind -> ((heal order), the fault that heals it)."""
    out: dict[str, tuple[tuple[int, int], type[Fault]]] = {}
    for k in kinds():
        for i, kind in enumerate(k.journal_kinds):
            out.setdefault(kind, ((k.heal_rank, i), k))
    return out


class _Live(Sequence):
    """A tuple-like view that follows the registry, so a fault registered after
    import is a valid name everywhere (``name in FAULTS``, messages, slicing)."""

    def __init__(self, make: Any):
        self._make = make

    def _items(self) -> tuple[str, ...]:
        return tuple(self._make())

    def __getitem__(self, i: Any) -> Any:
        return self._items()[i]

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __contains__(self, x: object) -> bool:
        return x in self._items()

    def __add__(self, other: Any) -> tuple:
        return self._items() + tuple(other)

    def __repr__(self) -> str:
        return repr(self._items())


# The kinds; every name a spec may list; every nemesis op.
KINDS = _Live(lambda: [k.name for k in kinds()])
FAULTS = _Live(lambda: [k.name for k in kinds()] + [s for k in kinds() for s in k.spec_names])
OPS = _Live(lambda: [f for k in kinds() for f in k.ops])


def defaults() -> dict[str, Any]:
    """Every nemesis option a fault reads, with its default."""
    return {name: o.default for k in kinds() for name, o in k.OPTIONS.items()}


DEFAULTS = defaults()

__all__ = ["DEFAULTS", "FAULTS", "Fault", "KINDS", "OPS", "REGISTRY", "defaults",
           "journal_healers", "kind_of", "kinds", "register", "unregister"]
