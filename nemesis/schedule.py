"""Combined schedules: an endless start/stop sequence over the fault kinds a spec names.

Like Jepsen's combined nemesis package (jepsen.nemesis.combined), each kind
contributes a start op and its matching stop op; this module only decides
*what* comes next.  The harness' generator DSL adds the interval, the
jitter and the routing to the nemesis process.

A spec's section looks like ``nemesis: {faults: [partition, kill, clock],
interval: 10s}``; :func:`validate_nemesis_spec` checks it before anything
starts, so a fault the target cannot take is refused with the target's
reason rather than silently doing nothing.
"""

from __future__ import annotations

import random
from typing import Any, Iterator, Mapping, Sequence

from core.capabilities import HasPrimaries
from core.capabilities import missing as missing_capability
from core.durations import parse_duration
from core.errors import Problem

from .faults import DEFAULTS, FAULTS, kind_of
from .faults import kinds as fault_kinds
from .grudge import TOPOLOGIES
from .select import SELECTORS

# Topologies "partition" cycles through; isolate-primary needs a target that
# knows its primary, so a spec names it explicitly.
GENERIC_TOPOLOGIES = ("isolate-one", "halves", "random-halves", "majorities-ring", "bridge")
PROCESS_TARGETS = ("one", "minority", "majority", "all")
PRIMARY_SELECTORS = ("primaries", "follower", "followers")   # ask the target who leads
SCHEDULE_KEYS = {"faults", "interval", "jitter", "targets", "topologies", "clock_targets",
                 "bumps_s", "seed"}
ALLOWED_KEYS = SCHEDULE_KEYS | set(DEFAULTS)


def _kind(fault: str) -> str:
    kind = kind_of(fault)
    return kind.name if kind is not None else fault


def _topologies(fault: str, n: int, options: Mapping[str, Any]) -> list[str]:
    if fault in TOPOLOGIES:
        tops = [fault]
    else:
        tops = list(options.get("topologies") or GENERIC_TOPOLOGIES)
    # The ring needs 4 nodes for distinct majorities, the bridge 3.
    usable = [t for t in tops if not (t == "majorities-ring" and n < 4)
              and not (t == "bridge" and n < 3)]
    if not usable:
        raise ValueError(f"nemesis.faults: {fault}: no partition topology works on {n} nodes "
                         f"({', '.join(tops)})")
    return usable


def _pair(fault: str, names: Sequence[str], rng: random.Random,
          options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    # Each fault module owns its (start, stop) op pair and their defaults.
    kind = kind_of(fault)
    if kind is None:
        raise ValueError(f"nemesis.faults: unknown fault {fault!r}; expected one of "
                         f"{', '.join(FAULTS)}")
    return kind.schedule(fault, names, rng, options)


def combined_ops(faults: list[str], node_names: list[str], rng: random.Random,
                 options: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Endless start, stop, start, stop … ops; the starts go round the fault kinds.

    Each round draws every requested fault once, in an order shuffled by
    ``rng``, before any repeats — so a short run still tries each kind (a
    uniform draw per start left kill untried in one run of four kinds, and
    drew only kills in another).  Checked eagerly (unknown faults, too few
    nodes raise ValueError here, not at the first ``next``).  Only one fault
    is in force at a time, so every stop undoes exactly the start before it.
    """
    options = dict(options or {})
    if not faults:
        raise ValueError("nemesis.faults: at least one fault is needed")
    for f in faults:
        if f not in FAULTS:
            raise ValueError(f"nemesis.faults: unknown fault {f!r}; expected one of "
                             f"{', '.join(FAULTS)}")
        if _kind(f) == "partition":
            _topologies(f, len(node_names), options)
    if len(node_names) < 1:
        raise ValueError("nemesis: no nodes")
    kinds = list(dict.fromkeys(faults))  # each named fault once, in the spec's order

    def gen() -> Iterator[dict[str, Any]]:
        while True:
            order = list(kinds)
            rng.shuffle(order)
            for fault in order:
                start, stop = _pair(fault, node_names, rng, options)
                yield start
                yield stop
    return gen()


def op_spacing_s(interval_s: float) -> float:
    """Seconds between consecutive nemesis ops for a spec's ``interval``.

    A fault starts every ``interval`` and is healed half an interval after
    it started, so the cluster also gets half an interval to recover before
    the next one: 60 s at a 10 s interval tries six faults, not three.
    """
    return interval_s / 2


def faults_that_fit(time_limit_s: float, interval_s: float) -> int:
    """How many fault starts a main phase of ``time_limit_s`` holds (the first
    comes one op spacing in, then one every interval)."""
    spacing = op_spacing_s(interval_s)
    if time_limit_s < spacing:
        return 0
    return int((time_limit_s - spacing) // interval_s) + 1


def coverage_warning(spec_dict: Mapping[str, Any] | None, time_limit_s: float) -> str | None:
    """A one-line warning when the time limit cannot try each requested fault once."""
    if not isinstance(spec_dict, Mapping) or not spec_dict.get("faults"):
        return None
    kinds = list(dict.fromkeys(str(f) for f in spec_dict["faults"]))
    try:
        interval = parse_duration(spec_dict.get("interval", "10s"), "nemesis.interval")
    except ValueError:
        return None  # validation reports it
    fit = faults_that_fit(time_limit_s, interval)
    if fit >= len(kinds):
        return None
    need = (len(kinds) - 1) * interval + op_spacing_s(interval)
    return (f"nemesis: a {time_limit_s:g} s run at a {interval:g} s interval has room for "
            f"{fit} fault(s), fewer than the {len(kinds)} requested ({', '.join(kinds)}): "
            f"some will not be tried; give at least {need:g} s (plus the time the faults "
            "themselves take) or a shorter interval")


def validate_nemesis_spec(spec_dict: Mapping[str, Any] | None, target: Any = None,
                          nodes: int | None = None, provider: Any = None) -> list[Problem]:
    """Every problem with a spec's ``nemesis`` section, one line each (empty when fine).
    ``provider`` (a ``core.nodes.Provider`` class) is asked whether its nodes take each fault."""
    errors: list[Problem] = []
    if spec_dict is None:
        return errors
    if not isinstance(spec_dict, Mapping):
        return [Problem(("nemesis",), f"expected a mapping with faults and interval, got "
                        f"{spec_dict!r}")]
    for k in spec_dict:
        if k not in ALLOWED_KEYS:
            errors.append(Problem(("nemesis", k),
                                  f"unknown key; allowed: {', '.join(sorted(ALLOWED_KEYS))}"))
    faults = spec_dict.get("faults")
    if faults is None:
        errors.append(Problem(("nemesis", "faults"),
                              "missing; expected a list such as [partition, kill, clock]"))
        faults = []
    elif isinstance(faults, str) or not isinstance(faults, (list, tuple)):
        errors.append(Problem(("nemesis", "faults"),
                              f"expected a list of fault names, got {faults!r}"))
        faults = []
    tname = getattr(target, "name", None) or type(target).__name__
    for f in faults:
        if not isinstance(f, str) or f not in FAULTS:
            errors.append(Problem(("nemesis", "faults"), f"unknown fault {f!r}; expected one of "
                          f"{', '.join(FAULTS)}"))
            continue
        kind = _kind(f)
        if target is not None:
            # the target's own reason first (it is the more specific), then the capability
            asks = {f, kind} | ({"packet-loss"} if kind == "loss" else set())
            whys = [why for ok, why in map(target.supports, sorted(asks)) if not ok]
            lacks = missing_capability(target, kind)
            if whys or lacks:
                why = whys[0] if whys else lacks
                errors.append(Problem(("nemesis", "faults"),
                                      f"{f}: not supported by target {tname}: {why}"))
            else:
                k = kind_of(f)
                for opt, why in (k.spec_problems(spec_dict, target) if k is not None else []):
                    errors.append(Problem(("nemesis", opt), why))
        if hasattr(provider, "supports"):      # a plugin provider may predate the question
            ok, why = provider.supports(kind)
            if not ok:
                errors.append(Problem(("nemesis", "faults"),
                                      f"{f}: not supported on {provider.name} nodes: {why}"))
        if kind == "latency":
            from .netem import host_netem, unsupported_message
            ok, why = host_netem()
            if ok is False:
                errors.append(Problem(("nemesis", "faults"), unsupported_message(why)))
        if kind == "partition" and nodes is not None:
            try:
                _topologies(f, nodes, spec_dict)
            except ValueError as e:
                errors.append(Problem(("nemesis", "faults"),
                                      str(e).removeprefix("nemesis.faults: ")))
    for key in ("interval", "jitter"):
        if key in spec_dict:
            try:
                parse_duration(spec_dict[key], positive=key == "interval")
            except ValueError as e:
                errors.append(Problem(("nemesis", key), str(e)))
    for key in ("targets", "clock_targets"):
        sel = spec_dict.get(key)
        if sel is not None:
            if not isinstance(sel, (list, tuple)) or not sel:
                errors.append(Problem(("nemesis", key),
                                      f"expected a list of {', '.join(SELECTORS)}"))
            else:
                for s in sel:
                    if s not in SELECTORS:
                        errors.append(Problem(("nemesis", key),
                                              f"unknown selector {s!r}; expected one of "
                                              f"{', '.join(SELECTORS)}"))
                    elif s in PRIMARY_SELECTORS and target is not None \
                            and not isinstance(target, HasPrimaries):
                        errors.append(Problem(("nemesis", key),
                                              f"{s}: target {tname} cannot name its primary "
                                              "(it does not implement HasPrimaries)"))
    tops = spec_dict.get("topologies")
    if tops is not None:
        if not isinstance(tops, (list, tuple)) or not tops:
            errors.append(Problem(("nemesis", "topologies"),
                                  f"expected a list of {', '.join(TOPOLOGIES)}"))
        else:
            for t in tops:
                if t not in TOPOLOGIES:
                    errors.append(Problem(("nemesis", "topologies"),
                                          f"unknown topology {t!r}; expected one of "
                                          f"{', '.join(TOPOLOGIES)}"))
    # Every fault option by its own declared check (a fault module's OPTIONS): one rule for
    # all, so a new fault's options are checked without an entry here.
    for k in fault_kinds():
        for name, opt in k.OPTIONS.items():
            if name in spec_dict and opt.check is not None:
                expected = opt.check(spec_dict[name])
                if expected:
                    errors.append(Problem(("nemesis", name), f"{spec_dict[name]!r} is not "
                                                             f"valid; expected {expected}"))
    for key in ("bump_s", "strobe_period_ms", "strobe_duration_s", "latency_ms"):
        v = spec_dict.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            errors.append(Problem(("nemesis", key), f"expected a number, got {v!r}"))
    return errors
