"""Installed entry points, the one place splitbrain reads them.

Built-ins and plugins are found alike: splitbrain's own ``pyproject.toml``
declares every built-in target, workload, checker, fault and node provider in
the ``splitbrain.*`` groups, exactly as a plugin's does.  This module lives at
the bottom (the checkers package imports nothing else of splitbrain) so that
``checkers.registry`` and ``core.registry`` share it.

A plugin that cannot be imported is a :class:`PluginError` naming the
distribution, the entry point and the cause — raised for that name only, so a
broken plugin never hides the built-ins or other plugins.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

# Entry points of this distribution are the built-ins.
BUILTIN_DIST = "splitbrain"
GROUP_PREFIX = "splitbrain."


class PluginError(ImportError):
    """A plugin's entry point could not be loaded (one line: who and why)."""


@dataclass(frozen=True)
class EntryPoint:
    group: str
    name: str
    value: str                 # "module:Attr"
    dist: str                  # the distribution that declares it
    version: str

    @property
    def builtin(self) -> bool:
        return _normal(self.dist) == BUILTIN_DIST

    @property
    def origin(self) -> str:
        """Where the name comes from, as ``splitbrain list`` shows it."""
        return "built-in" if self.builtin else f"{self.dist} {self.version}"

    def describe(self) -> str:
        who = "splitbrain" if self.builtin else f"plugin {self.dist} {self.version}"
        return f"{who}: entry point {self.name} = {self.value!r} in [{self.group}]"

    def load(self) -> Any:
        from importlib.metadata import EntryPoint as MetaEntryPoint
        try:
            return MetaEntryPoint(self.name, self.value, self.group).load()
        except Exception as e:  # noqa: BLE001 - any import-time failure is the plugin's
            raise PluginError(f"{self.describe()} cannot be loaded: "
                              f"{type(e).__name__}: {_first_line(e)}") from e


def _normal(dist: str) -> str:
    return dist.lower().replace("_", "-").replace(".", "-")


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else "(no message)"


# Scanning every distribution reads each one's metadata (~0.1-0.3 s for a few
# hundred installed packages), so one pass collects every group at once; tests put
# a plugin's dist-info on sys.path, so the pass is kept per sys.path.
_cache: dict[tuple[str, ...], dict[str, dict[str, EntryPoint]]] = {}


def entry_points(group: str) -> dict[str, EntryPoint]:
    """name -> entry point, built-ins first (a plugin cannot take a built-in name),
    each group sorted by name within built-in and plugin."""
    key = tuple(sys.path)
    if key not in _cache:
        _cache[key] = _scan()
    return _cache[key].get(group, {})


def _scan() -> dict[str, dict[str, EntryPoint]]:
    from importlib.metadata import distributions
    found: list[EntryPoint] = []
    seen_dists: set[str] = set()
    for d in distributions():
        try:
            # importlib lists a distribution once per sys.path entry holding it; the
            # first is the one imported.  The name from the directory's name is cheap
            # (what importlib's own entry_points() uses); METADATA is parsed only for
            # the few distributions that declare splitbrain names.
            key = getattr(d, "_normalized_name", None) or _normal(d.metadata["Name"] or "?")
            if _normal(key) in seen_dists:
                continue
            seen_dists.add(_normal(key))
            eps = [ep for ep in d.entry_points if ep.group.startswith(GROUP_PREFIX)]
            if not eps:
                continue
            dist, version = d.metadata["Name"] or key, d.version or "?"
        except Exception:  # noqa: BLE001 - one unreadable distribution must not hide the rest
            continue
        found += [EntryPoint(ep.group, ep.name, ep.value, dist, version) for ep in eps]
    found.sort(key=lambda ep: (not ep.builtin, ep.name))
    groups: dict[str, dict[str, EntryPoint]] = {}
    for ep in found:
        groups.setdefault(ep.group, {}).setdefault(ep.name, ep)
    return groups
