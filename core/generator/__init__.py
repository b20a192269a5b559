"""A Jepsen-style generator DSL: composable, deterministic given a seed.

See docs/generators.md.  Python use::

    from core.generator import *
    g = any_of(clients(time_limit(60, rate(200, mix({"f": "read"}, writes)))),
               nemesis_schedule(fault_ops, interval_s=10, jitter=0.2))
    bind(g, seed)   # before running
"""

from .combinators import (AnyOf, Delay, EachProcess, Final, Interval, Limit, Mix, OnThreads,
                          Phases, Repeat, Seq, Sleep, Stagger, TimeLimit, any_of, clients, cycle,
                          delay, each_process, final, interval, limit, mix, nemesis,
                          nemesis_schedule, on_threads, phases, rate, repeat, reserve, seq, sleep,
                          split_final, stagger, time_limit, UntilOk, until_ok)
from .core import NEMESIS_THREAD, PENDING, GenContext, Fn, FromIter, Gen, Once, bind, lift, listens
from core.durations import parse_duration

from .from_spec import generator_from_spec
from .simulate import simulate


def once(op: dict) -> Gen:
    return Once(op)


def fn(f) -> Gen:  # noqa: ANN001 - any callable(rng) -> op dict | None
    return Fn(f)


def from_iter(it, name: str = "iter") -> Gen:  # noqa: ANN001
    return FromIter(it, name)


__all__ = [
    "AnyOf", "GenContext", "Delay", "EachProcess", "Final", "Fn", "FromIter", "Gen", "Interval", "Limit",
    "Mix", "NEMESIS_THREAD", "OnThreads", "Once", "PENDING", "Phases", "Repeat", "Seq", "Sleep",
    "Stagger", "TimeLimit", "any_of", "bind", "clients", "cycle", "delay", "each_process",
    "final", "fn", "from_iter", "generator_from_spec", "interval", "lift", "limit", "listens", "mix",
    "nemesis", "nemesis_schedule", "on_threads", "once", "parse_duration", "phases", "rate",
    "repeat", "reserve", "seq", "simulate", "sleep", "split_final", "stagger", "time_limit",
    "UntilOk", "until_ok",
]
