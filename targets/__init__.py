"""Databases under test.  ``targets.get(name)`` returns the Target class;
construct it with the spec's target options."""

from __future__ import annotations

import importlib

from .base import Client, LogPattern, OptionError, Target, TargetError

# name -> "module:Class"; imported on first use so that listing names is cheap.
_TARGETS: dict[str, str] = {
    "etcd": "targets.etcd.target:EtcdTarget",
    "postgresql": "targets.postgresql.target:PostgresTarget",
    "redis": "targets.redis.target:RedisTarget",
    "zookeeper": "targets.zookeeper.target:ZookeeperTarget",
}


class UnknownTarget(LookupError):
    pass


def names() -> list[str]:
    return sorted(_TARGETS)


def get(name: str) -> type[Target]:
    try:
        ref = _TARGETS[name]
    except KeyError:
        raise UnknownTarget(f"no target named {name!r} (available: {', '.join(names())})") from None
    mod, cls = ref.split(":")
    return getattr(importlib.import_module(mod), cls)


__all__ = ["Client", "LogPattern", "OptionError", "Target", "TargetError", "UnknownTarget",
           "get", "names"]
