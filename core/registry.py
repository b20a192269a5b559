"""The one registry mechanism: names → import paths, loaded on first use.

Every extension point (targets, workloads, checkers, faults, node providers,
models) is a :class:`Registry`.  A name resolves, in order, to

* one added at run time with :meth:`Registry.register` (a path or the object);
* an entry point in the registry's group — splitbrain's own built-ins are
  declared there too (``pyproject.toml``), exactly as a plugin's are:
  ``[project.entry-points."splitbrain.targets"] mydb = "mydb.target:MyDbTarget"``;
* a fixed table given to the registry (``builtins``; models keep theirs in code);
* a ``module:Attr`` path given directly (``target: {name: "mydb.target:MyDbTarget"}``).

Listing names imports nothing, so ``splitbrain --help`` stays fast.  A plugin
that fails to import raises :class:`~core.errors.BrokenPlugin` for its own name
only; :meth:`Registry.loadable` skips it and says why once.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from checkers.entry_points import GROUP_PREFIX, EntryPoint, PluginError, entry_points

from .errors import BrokenPlugin, UnknownName



def load_path(path: str) -> Any:
    """The object ``"package.module:Attr"`` names (``Attr`` may be dotted)."""
    mod, sep, attr = path.partition(":")
    if not sep or not mod or not attr:
        raise ValueError(f"{path!r} is not an import path; expected 'module:Attr'")
    obj: Any = importlib.import_module(mod)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Origin:
    """Where a name comes from: ``source`` is "built-in", "plugin", "registered"
    or "code"; ``detail`` the distribution and version or the import path."""

    source: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.source} {self.detail}".strip()


class Registry:
    """Names of one kind of extension (``kind`` is used in messages: "target")."""

    def __init__(self, kind: str,
                 builtins: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None, *,
                 group: str | None = None,
                 error: Callable[[str, Any, list[str]], Exception] | None = None,
                 order: Sequence[str] = (), table_origin: str = "built-in"):
        self.kind = kind
        self.group = group
        # How lists and messages order the built-ins (the most used first); entry
        # points themselves come unordered.  Unlisted built-ins follow, sorted.
        self._order = {n: i for i, n in enumerate(order)}
        # What ``builtins`` holds: built-ins kept in code (models), or names another
        # list registered at run time (checkers.registry.register).
        self._table_origin = table_origin
        # A callable is asked on first use, and every time (a list kept in code may grow).
        self._make_builtins = builtins if callable(builtins) else None
        self._fixed: dict[str, Any] = {} if callable(builtins) else dict(builtins or {})
        self._added: dict[str, Any] = {}
        self._loaded: dict[str, Any] = {}
        self._warned: set[str] = set()
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
        return dict(self._make_builtins()) if self._make_builtins is not None else self._fixed

    def entry_points(self) -> dict[str, EntryPoint]:
        return entry_points(self.group) if self.group else {}

    def names(self) -> list[str]:
        """Built-in entry points and the fixed table first, then plugins and added names sorted."""
        eps = self.entry_points()
        builtin = sorted((n for n, ep in eps.items() if ep.builtin),
                         key=lambda n: (self._order.get(n, len(self._order)), n))
        first = builtin + list(self._builtins)
        rest = sorted((set(self._added) | set(eps)) - set(first))
        return list(dict.fromkeys(first + rest))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._added or name in self.entry_points()
                                          or name in self._builtins)

    def origin(self, name: str) -> Origin:
        if name in self._added:
            ref = self._added[name]
            return Origin("registered", ref if isinstance(ref, str) else _path_of(ref))
        ep = self.entry_points().get(name)
        if ep is not None:
            return Origin("built-in") if ep.builtin else Origin("plugin", f"{ep.dist} {ep.version}")
        if name in self._builtins:
            return Origin(self._table_origin)
        return Origin("code", name)

    def get(self, name: str) -> Any:
        """The object ``name`` stands for; ``self._error`` (an UnknownName) when none
        does, :class:`BrokenPlugin` when its plugin cannot be imported."""
        if name in self._loaded:
            return self._loaded[name]
        if name in self._added:
            ref = self._added[name]
            obj = load_path(ref) if isinstance(ref, str) else ref
        elif (ep := self.entry_points().get(name)) is not None:
            try:
                obj = ep.load()
            except PluginError as e:
                raise BrokenPlugin(f"{self.kind} {name!r}: {e}") from e.__cause__
        elif name in self._builtins:
            ref = self._builtins[name]
            obj = load_path(ref) if isinstance(ref, str) else ref
        elif isinstance(name, str) and ":" in name:
            try:
                obj = load_path(name)
            except (ImportError, AttributeError, ValueError) as e:
                raise self._error(self.kind, name, self.names()) from e
        else:
            raise self._error(self.kind, name, self.names())
        self._loaded[name] = obj
        return obj

    def broken(self) -> dict[str, str]:
        """name -> why, for every plugin name that cannot be loaded (imports each)."""
        out: dict[str, str] = {}
        for n in self.names():
            try:
                self.get(n)
            except BrokenPlugin as e:
                out[n] = str(e)
        return out

    def loadable(self) -> list[tuple[str, Any]]:
        """(name, object) for every name that loads; a broken plugin is skipped with
        one warning line on stderr (once per name), so it never stops the rest."""
        out: list[tuple[str, Any]] = []
        for n in self.names():
            try:
                out.append((n, self.get(n)))
            except BrokenPlugin as e:
                if n not in self._warned:
                    self._warned.add(n)
                    print(f"splitbrain: warning: {e} (skipped)", file=sys.stderr, flush=True)
        return out

    def items(self) -> list[tuple[str, Any]]:
        """(name, object) for every name, importing each."""
        return [(n, self.get(n)) for n in self.names()]


def _path_of(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', type(obj).__name__)}"
