"""Workloads: a generator of client ops, the client fs a target implements,
and the checkers that judge the history.  ``workloads.get(name)``."""

from __future__ import annotations

from core.errors import UnknownName
from core.registry import Registry

from .base import (FAIL, INFO, OK, BaseWorkload, Client, DefiniteFailure, OptionError,
                   Workload)


class UnknownWorkload(UnknownName):
    pass


# Built-ins and plugins alike are the entry points in this group (pyproject.toml).
REGISTRY = Registry("workload", group="splitbrain.workloads", error=UnknownWorkload)
# No ``register`` alias here: ``workloads.register`` is the register workload's module,
# which replaces such an alias once imported.  Use REGISTRY.register (or splitbrain.register).
_instances: dict[str, BaseWorkload] = {}


def names() -> list[str]:
    return REGISTRY.names()


def get(name: str) -> BaseWorkload:
    """The workload for a name, a plugin's entry point or a ``module:Class`` path
    (one instance per name: workloads hold no run state)."""
    if name not in _instances:
        _instances[name] = REGISTRY.get(name)()
    return _instances[name]


__all__ = ["BaseWorkload", "Client", "DefiniteFailure", "FAIL", "INFO", "OK", "OptionError",
           "REGISTRY", "UnknownWorkload", "Workload", "get", "names"]
