"""Errors a user can fix, with their location as fields (never parsed back out of text).

``SpecError(message, file=, line=, path=)`` prints as one line
``file:line: a.b[0]: message``; code that knows more (the spec loader knows
the file and the YAML line of a path) fills the fields in with
:meth:`SpecError.located` instead of rewriting the message.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

Path = tuple[Any, ...]   # field names and list indices, e.g. ("nemesis", "faults", 0)


class UserError(Exception):
    """Something the user can fix; the CLI prints it as one line and exits 2."""


def format_path(parts: Sequence[Any]) -> str:
    """``("nemesis", "faults", 0)`` -> ``nemesis.faults[0]``."""
    s = ""
    for p in parts:
        s += f"[{p}]" if isinstance(p, int) else (f".{p}" if s else str(p))
    return s


class SpecError(UserError):
    """A bad field: what was wrong (``message``), where (``file``, ``line``, ``path``)."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 path: Sequence[Any] = ()):
        self.message = message
        self.file = file
        self.line = line
        self.path: Path = tuple(path)
        super().__init__(self._text())

    def _text(self) -> str:
        where = f"{self.file}:{self.line}" if self.file and self.line else (self.file or "")
        parts = [p for p in (where, format_path(self.path)) if p]
        return ": ".join(parts + [self.message])

    def __str__(self) -> str:
        return self._text()

    def located(self, *, file: str | None = None, line: int | None = None,
                prefix: Sequence[Any] = ()) -> "SpecError":
        """A copy with the path under ``prefix`` and the file/line filled in."""
        cls = type(self)
        e = cls.__new__(cls)
        e.__dict__.update(self.__dict__)
        e.path = tuple(prefix) + self.path
        e.file = file if file is not None else self.file
        e.line = line if line is not None else self.line
        Exception.__init__(e, e._text())
        return e


class OptionError(SpecError, ValueError):
    """An option of a target, workload, checker, fault or node provider is wrong.

    ``path`` starts with the option's name (the caller adds its section, e.g.
    ``target``); ``allowed`` lists the options that exist when the name itself
    is unknown.
    """

    def __init__(self, message: str, *, option: str | None = None,
                 allowed: Iterable[str] = (), path: Sequence[Any] = ()):
        self.option = option
        self.allowed = tuple(allowed)
        super().__init__(message, path=tuple(path) or ((option,) if option else ()))


class UnknownName(UserError, LookupError):
    """A name that no registry holds; ``known`` lists the names that exist."""

    def __init__(self, kind: str, name: Any, known: Iterable[str]):
        self.kind, self.name, self.known = kind, name, tuple(known)
        super().__init__(f"no {kind} named {name!r} (available: {', '.join(self.known) or 'none'})")


class BrokenPlugin(UserError, LookupError):
    """A name whose plugin (an installed entry point) fails to import: the message
    names the distribution, the entry point and the cause, in one line."""


def unknown_option(owner: str, name: str, allowed: Iterable[str]) -> OptionError:
    """The one wording for a misspelt option anywhere (spec, checker, target, workload)."""
    allowed = sorted(allowed)
    return OptionError(f"unknown option for {owner} (allowed: {', '.join(allowed) or 'none'})",
                       option=name, allowed=allowed)


class Problem(str):
    """One finding of a validator that collects several: a path and a message.

    A ``str`` (``"nemesis.faults: ..."``) so lists of problems still join and
    print as before; ``path`` and ``message`` are the data."""

    path: Path
    message: str

    def __new__(cls, path: Sequence[Any], message: str) -> "Problem":
        text = f"{format_path(path)}: {message}" if path else message
        self = super().__new__(cls, text)
        self.path, self.message = tuple(path), message
        return self

    def error(self) -> SpecError:
        return SpecError(self.message, path=self.path)
