"""Values as the checkers compare them: by type and value, exactly.

JSON and EDN values arrive as Python values; :func:`intern_key` maps each to
a hashable key under which equal values, and only those, meet.  The history
columns hold codes of these keys, so the kernels never see a value's width:
an integer of any size, a string or a set is one code (docs/history.md).
"""

from __future__ import annotations

import re
from typing import Any, Iterable

MAX_DEPTH = 100  # values nested deeper are refused, not met with a RecursionError


class ValueTooDeep(ValueError):
    """A value nested more than MAX_DEPTH levels (the loader names its line)."""


class EdnSet(list):
    """An EDN set ``#{...}``: its members in a canonical order, compared as a set.

    A list subclass so that JSON writers and the models' ``isinstance(v, list)``
    see a list (JSON has no sets); interning and the EDN writer see a set."""
    __slots__ = ()


def intern_key(v: Any) -> Any:
    """A hashable key under which equal values (and only those) meet.

    Equality is by type and value, as in JSON and EDN: ``1``, ``1.0`` and
    ``True`` are three values; ``[1, 2]`` is not ``#{1 2}``, but ``#{1 2}`` is
    ``#{2 1}``; a map's keys keep their type (``{1: 5}`` is not ``{"1": 5}``).
    Integers of any width are exact (Python ints); the kernels only ever see
    intern codes."""
    t = type(v)
    if t is int or t is str or v is None:
        return v
    if t is list and len(v) <= 8:
        # Flat lists of ints/strings (CAS pairs, [key value]) hash as tuples.
        for e in v:
            te = type(e)
            if te is not int and te is not str and e is not None:
                break
        else:
            return ("l", *v)
    return _deep_key(v, 0)


def _deep_key(v: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ValueTooDeep(f"a value nested more than {MAX_DEPTH} levels deep")
    t = type(v)
    if t is int or t is str or v is None:
        return v
    if t is bool:
        return ("b", v)
    if t is float:
        return ("f", v)
    if t is EdnSet:
        return ("s", *_canonical(_deep_key(e, depth + 1) for e in v))
    if isinstance(v, (list, tuple)):
        return ("l", *(_deep_key(e, depth + 1) for e in v))
    if isinstance(v, dict):
        return ("d", *_canonical((_deep_key(k, depth + 1), _deep_key(x, depth + 1))
                                 for k, x in v.items()))
    if t is str or isinstance(v, str):  # str subclasses (EDN keywords) are strings
        return str(v)
    if isinstance(v, int):
        return ("b", bool(v)) if isinstance(v, bool) else int(v)
    if isinstance(v, float):
        return ("f", float(v))
    return ("o", t.__name__, repr(v))


def _canonical(keys: Any) -> tuple:
    """Members in an order that depends only on their values (repr of intern
    keys is deterministic, unlike hash order), so equal sets meet."""
    return tuple(sorted(keys, key=repr))



class JsonKey(str):
    """A map key read from JSON text, where every key is a string: ``{"1": 5}``
    may mean the integer key 1.  :func:`resolve_json_keys` decides, against the
    keys a history uses."""
    __slots__ = ()


_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)\Z")


def resolve_json_keys(init: dict, used: Iterable[Any]) -> dict:
    """``init`` with each JSON string key that names an integer key of the
    history turned into that integer, when that is the only reading: the
    history uses the integer key and not the string.  Both used: ValueError
    (the caller says to write the map in EDN, where keys keep their type)."""
    used_keys = {intern_key(k) for k in used}
    out: dict = {}
    for k, v in init.items():
        if type(k) is JsonKey and _DECIMAL.match(k):
            as_int, as_str = int(k), str(k)
            if as_int in used_keys and as_str in used_keys:
                raise ValueError(f"init key \"{as_str}\" could be the string key \"{as_str}\" or "
                                 f"the integer key {as_int}, and the history uses both; give "
                                 f"the map in EDN, where keys keep their type "
                                 f"({{{as_int} ...}} or {{\"{as_str}\" ...}})")
            k = as_int if as_int in used_keys else as_str
        elif type(k) is JsonKey:
            k = str(k)
        out[k] = v
    return out
