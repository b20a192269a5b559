"""The one way to declare and validate options (targets, workloads, faults, node providers).

A declaration maps each option name to an :class:`Option`: its default and a
check that returns what was expected (or None when the value is fine)::

    options = {"read_mode": Option("linearizable", one_of("linearizable", "serializable")),
               "client_port": Option(2379, int_at_least(1))}

:func:`validate_options` fills the defaults in and raises
:class:`core.errors.OptionError` naming the option — an unknown name lists the
options that exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .errors import OptionError, unknown_option

Check = Callable[[Any], "str | None"]


@dataclass(frozen=True)
class Option:
    default: Any
    check: Check | None = None
    doc: str = ""


def validate_options(owner: str, declared: Mapping[str, Option],
                     given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults filled in; OptionError for an unknown option or a value its check refuses."""
    out = {k: o.default for k, o in declared.items()}
    for k, v in (given or {}).items():
        if k not in declared:
            raise unknown_option(owner, k, declared)
        check = declared[k].check
        if check is None and isinstance(declared[k].default, bool):
            check = a_bool
        expected = check(v) if check is not None else None
        if expected:
            raise OptionError(f"{v!r} is not valid; expected {expected}", option=k)
        out[k] = v
    return out


def defaults(declared: Mapping[str, Option]) -> dict[str, Any]:
    return {k: o.default for k, o in declared.items()}


# -- checks: each returns what was expected, or None when the value is fine -----------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def positive_int(v: Any) -> str | None:
    return None if _is_int(v) and v > 0 else "a positive integer"


def non_negative_int(v: Any) -> str | None:
    return None if _is_int(v) and v >= 0 else "an integer >= 0"


def int_at_least(lo: int) -> Check:
    def check(v: Any) -> str | None:
        return None if _is_int(v) and v >= lo else f"an integer >= {lo}"
    return check


def fraction(v: Any) -> str | None:
    return None if _is_number(v) and 0 <= v <= 1 else "a number between 0 and 1"


def probability(v: Any) -> str | None:
    return None if _is_number(v) and 0 < v <= 1 else "a number in (0, 1]"


def a_number(v: Any) -> str | None:
    return None if _is_number(v) else "a number"


def a_string(v: Any) -> str | None:
    return None if isinstance(v, str) and v else "a non-empty string"


def a_bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else "true or false"


def one_of(*choices: Any) -> Check:
    def check(v: Any) -> str | None:
        return None if v in choices else f"one of {', '.join(map(str, choices))}"
    return check


def parameters(fn: Callable[..., Any], *, skip: int = 1) -> tuple[str, ...]:
    """A function's named options: its parameters after the first ``skip`` (a
    checker's history), without ``**kwargs``.  How a checker declares its options."""
    import inspect
    out = []
    for i, prm in enumerate(inspect.signature(fn).parameters.values()):
        if i < skip or prm.kind in (prm.VAR_KEYWORD, prm.VAR_POSITIONAL):
            continue
        out.append(prm.name)
    return tuple(out)


def check_names(owner: str, accepted: Sequence[str], given: Mapping[str, Any]) -> None:
    """OptionError for the first option in ``given`` that ``accepted`` lacks."""
    for k in given:
        if k not in accepted:
            raise unknown_option(owner, k, accepted)
