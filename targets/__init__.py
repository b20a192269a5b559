"""Databases under test.  ``targets.get(name)`` returns the Target class;
construct it with the spec's target options."""

from __future__ import annotations

from core.errors import UnknownName
from core.registry import Registry

from .base import Client, KillsDaemons, LogPattern, OptionError, Target, TargetError
from core.capabilities import ClockSkewable, HasFiles, HasPrimaries, Killable, Pausable

# name -> "module:Class"; imported on first use so that listing names is cheap.
BUILTIN = {
    "etcd": "targets.etcd.target:EtcdTarget",
    "mariadb-galera": "targets.mariadb_galera.target:GaleraTarget",
    "postgresql": "targets.postgresql.target:PostgresTarget",
    "redis": "targets.redis.target:RedisTarget",
    "zookeeper": "targets.zookeeper.target:ZookeeperTarget",
}


class UnknownTarget(UnknownName):
    pass


REGISTRY = Registry("target", BUILTIN, group="splitbrain.targets", error=UnknownTarget)
register = REGISTRY.register


def names() -> list[str]:
    return REGISTRY.names()


def get(name: str) -> type[Target]:
    """The Target class for a name, a plugin's entry point or a ``module:Class`` path."""
    return REGISTRY.get(name)


__all__ = ["Client", "ClockSkewable", "HasFiles", "HasPrimaries", "Killable", "KillsDaemons",
           "LogPattern", "OptionError", "Pausable", "REGISTRY", "Target", "TargetError",
           "UnknownTarget", "get", "names", "register"]
