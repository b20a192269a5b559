"""The one registry mechanism: names → import paths, loaded on first use.

Every extension point (targets, workloads, checkers, faults, node providers,
models) is a :class:`Registry`.  A name resolves, in order, to

* a built-in, listed in the owning package as ``{"name": "module:Attr"}``;
* one added at run time with :meth:`Registry.register` (a path or the object);
* an installed plugin's entry point in the registry's group, e.g.
  ``[project.entry-points."splitbrain.targets"] mydb = "mydb.target:MyDbTarget"``;
* a ``module:Attr`` path given directly (``target: {name: "mydb.target:MyDbTarget"}``).

Listing names imports nothing, so ``splitbrain --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Iterator, Mapping

from .errors import UnknownName

GROUP_PREFIX = "splitbrain."


def load_path(path: str) -> Any:
    """The object ``"package.module:Attr"`` names (``Attr`` may be dotted)."""
    mod, sep, attr = path.partition(":")
    if not sep or not mod or not attr:
        raise ValueError(f"{path!r} is not an import path; expected 'module:Attr'")
    obj: Any = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _entry_points(group: str) -> dict[str, Any]:
    from importlib.metadata import entry_points
    try:
        return {ep.name: ep for ep in entry_points(group=group)}
    except Exception:  # noqa: BLE001 - a broken installed distribution must not stop a run
        return {}


class Registry:
    """Names of one kind of extension (``kind`` is used in messages: "target")."""

    def __init__(self, kind: str,
                 builtins: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None, *,
                 group: str | None = None,
                 error: Callable[[str, Any, list[str]], Exception] | None = None):
        self.kind = kind
        self.group = group
        # A callable is asked on first use: a package that keeps its own list
        # (checkers.registry) is read when needed, not when imported.
        self._make_builtins = builtins if callable(builtins) else None
        self._fixed: dict[str, Any] = {} if callable(builtins) else dict(builtins or {})
        self._added: dict[str, Any] = {}
        self._loaded: dict[str, Any] = {}
        self._error = error or UnknownName

    def register(self, name: str, ref: Any) -> None:
        """Add (or replace) ``name``: an import path ``module:Attr`` or the object itself."""
        self._added[name] = ref
        self._loaded.pop(name, None)

    def unregister(self, name: str) -> None:
        self._added.pop(name, None)
        self._loaded.pop(name, None)

    @property
    def _builtins(self) -> dict[str, Any]:
        # Asked every time: the owning package's list may grow (checkers.registry.register).
        return dict(self._make_builtins()) if self._make_builtins is not None else self._fixed

    def _plugins(self) -> dict[str, Any]:
        return _entry_points(self.group) if self.group else {}

    def names(self) -> list[str]:
        """Built-ins first, in their listed order, then added and installed ones sorted."""
        extra = sorted((set(self._added) | set(self._plugins())) - set(self._builtins))
        return list(self._builtins) + extra

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._builtins or name in self._added
                                          or name in self._plugins())

    def get(self, name: str) -> Any:
        """The object ``name`` stands for; ``self._error`` (an UnknownName) when none does."""
        if name in self._loaded:
            return self._loaded[name]
        ref: Any = self._added.get(name, self._builtins.get(name))
        if ref is None:
            ep = self._plugins().get(name)
            if ep is not None:
                obj = ep.load()
            elif isinstance(name, str) and ":" in name:
                try:
                    obj = load_path(name)
                except (ImportError, AttributeError, ValueError) as e:
                    raise self._error(self.kind, name, self.names()) from e
            else:
                raise self._error(self.kind, name, self.names())
        else:
            obj = load_path(ref) if isinstance(ref, str) else ref
        self._loaded[name] = obj
        return obj

    def items(self) -> list[tuple[str, Any]]:
        """(name, object) for every name, importing each."""
        return [(n, self.get(n)) for n in self.names()]
