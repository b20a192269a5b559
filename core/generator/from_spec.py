"""Build generators from their YAML/dict form (see docs/generators.md).

A node is an op (a map with ``f``), a list (one after another), or a map with
exactly one combinator key plus that combinator's own parameters, e.g.
``{rate: 100, gen: {mix: [{f: read}, {workload: main}]}}``.  Errors name the
path of the bad node, what was there and what is allowed.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from core.durations import parse_duration
from core.errors import SpecError

from . import combinators as C
from .core import Gen, Once

def _err(source: str | None, path: tuple, msg: str) -> SpecError:
    return SpecError(msg, file=source, path=path)


# combinator name -> (allowed extra params, builder(node, build_child, dur, num))
_COMBINATORS = ("any", "clients", "cycle", "delay", "each_process", "final", "limit", "mix",
                "nemesis", "phases", "rate", "repeat", "reserve", "seq", "sleep", "stagger",
                "time_limit", "workload", "interval", "op")


def generator_from_spec(node: Any, *, path: str | tuple = "generator", source: str | None = None,
                        workload: Mapping[str, Callable[[], Gen]] | None = None) -> Gen:
    """Build a Gen from its YAML form.  ``workload`` maps names usable as
    ``{workload: NAME}`` (typically ``main`` and ``final``) to factories of
    the workload's generators.  Raises SpecError with the path as a field."""
    workload = workload or {}

    def dur(v: Any, p: tuple) -> float:
        try:
            return parse_duration(v)
        except ValueError as e:
            raise _err(source, p, str(e)) from None

    def num(v: Any, p: tuple, *, integer: bool = False, positive: bool = True) -> Any:
        ok = isinstance(v, int) if integer else isinstance(v, (int, float))
        if isinstance(v, bool) or not ok or (positive and v <= 0):
            what = "a positive integer" if integer else "a positive number"
            raise _err(source, p, f"{v!r} is not valid; expected {what}")
        return v

    def build(n: Any, p: tuple) -> Gen:
        if isinstance(n, list):
            return C.seq(*[build(x, p + (i,)) for i, x in enumerate(n)])
        if not isinstance(n, dict):
            raise _err(source, p, f"{n!r} is not a generator; expected an op map with 'f', a "
                       f"list, or a map with one of: {', '.join(sorted(_COMBINATORS))}")
        if "f" in n:
            bad = [k for k in n if k not in ("f", "key", "value")]
            if bad:
                raise _err(source, p + (bad[0],), "unknown field in an op; expected f, key, value")
            if not isinstance(n["f"], str) or not n["f"]:
                raise _err(source, p + ("f",),
                           f"{n['f']!r} is not valid; expected a non-empty string")
            return Once(dict(n))
        keys = [k for k in n if k in _COMBINATORS]
        if len(keys) != 1:
            raise _err(source, p, f"{n!r} is not a generator; expected an op map with 'f' or "
                       f"exactly one combinator key (one of {', '.join(sorted(_COMBINATORS))})")
        k = keys[0]
        params = {x: n[x] for x in n if x != k}
        arg = n[k]
        q = p + (k,)

        def only(*allowed: str) -> None:
            for x in params:
                if x not in allowed:
                    raise _err(source, p + (x,), f"unknown field for {k}; expected "
                               f"{', '.join(allowed) or 'no other fields'}")

        def child(name: str = "gen") -> Gen:
            if name not in params:
                raise _err(source, p, f"{k} needs a '{name}' field (the generator it wraps)")
            return build(params[name], p + (name,))

        def items(v: Any) -> list:
            if not isinstance(v, list) or not v:
                raise _err(source, q,
                           f"{v!r} is not valid; expected a non-empty list of generators")
            return [build(x, q + (i,)) for i, x in enumerate(v)]

        if k == "op":
            only()
            return build(arg if isinstance(arg, dict) else {"f": arg}, q)
        if k == "workload":
            only()
            if arg not in workload:
                raise _err(source, q, f"{arg!r} is not a workload generator; expected one of "
                           f"{', '.join(sorted(workload)) or '(none: no workload in this spec)'}")
            return workload[arg]()
        if k in ("seq", "phases", "any"):
            only()
            gs = items(arg)
            return {"seq": C.seq, "phases": C.phases, "any": C.any_of}[k](*gs)
        if k == "cycle":
            only("times")
            t = params.get("times")
            return C.cycle(*items(arg), times=None if t is None else num(t, p + ("times",),
                                                                           integer=True))
        if k == "mix":
            only("weights")
            gs = items(arg)
            w = params.get("weights")
            if w is not None:
                if not isinstance(w, list) or len(w) != len(gs):
                    raise _err(source, p + ("weights",), f"{w!r} is not valid; expected a list of "
                               f"{len(gs)} positive numbers (one per generator)")
                w = [num(x, p + ("weights", i)) for i, x in enumerate(w)]
            return C.mix(*gs, weights=w)
        if k in ("clients", "nemesis", "each_process", "final"):
            only()
            g = build(arg, q)
            return {"clients": C.clients, "nemesis": C.nemesis, "each_process": C.each_process,
                    "final": C.final}[k](g)
        if k == "sleep":
            only()
            return C.sleep(dur(arg, q))
        if k in ("delay", "stagger", "time_limit"):
            only("gen")
            d = dur(arg, q)
            return {"delay": C.delay, "stagger": C.stagger, "time_limit": C.time_limit}[k](
                d, child())
        if k == "interval":
            only("gen", "jitter")
            j = params.get("jitter", 0.0)
            if isinstance(j, bool) or not isinstance(j, (int, float)) or not 0 <= j <= 1:
                raise _err(source, p + ("jitter",),
                           f"{j!r} is not valid; expected a number in [0, 1]")
            return C.interval(dur(arg, q), child(), jitter=float(j))
        if k == "rate":
            only("gen")
            return C.rate(num(arg, q), child())
        if k == "limit":
            only("gen")
            return C.limit(num(arg, q, integer=True), child())
        if k == "repeat":
            only("times")
            t = params.get("times")
            t = None if t is None else num(t, p + ("times",), integer=True)
            if isinstance(arg, dict) and "f" in arg:
                build(arg, q)  # validate the op
                return C.repeat(dict(arg), t)
            return C.repeat(build(arg, q), t)
        if k == "reserve":
            only("default")
            if not isinstance(arg, list) or not arg:
                raise _err(source, q, f"{arg!r} is not valid; expected a list of "
                           "{threads: N, gen: G} entries")
            flat: list[Any] = []
            for i, e in enumerate(arg):
                ep = q + (i,)
                if not isinstance(e, dict) or set(e) != {"threads", "gen"}:
                    raise _err(source, ep, f"{e!r} is not valid; expected {{threads: N, gen: G}}")
                flat += [num(e["threads"], ep + ("threads",), integer=True),
                         build(e["gen"], ep + ("gen",))]
            default = build(params["default"], p + ("default",)) if "default" in params \
                else C.seq()
            return C.reserve(*flat, default)
        raise _err(source, q, "unsupported combinator")  # pragma: no cover

    return build(node, (path,) if isinstance(path, str) else tuple(path))
