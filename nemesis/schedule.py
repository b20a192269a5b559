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
import re
from typing import Any, Iterator, Mapping, Sequence

from .core import DEFAULTS, FAULTS
from .grudge import TOPOLOGIES
from .select import SELECTORS

# Topologies "partition" cycles through; isolate-primary needs a target that
# knows its primary, so a spec names it explicitly.
GENERIC_TOPOLOGIES = ("isolate-one", "halves", "random-halves", "majorities-ring", "bridge")
PROCESS_TARGETS = ("one", "minority", "majority", "all")
SCHEDULE_KEYS = {"faults", "interval", "jitter", "targets", "topologies", "clock_targets",
                 "bumps_s", "seed"}
ALLOWED_KEYS = SCHEDULE_KEYS | set(DEFAULTS)

_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s|m|h)?\s*$")


def parse_duration(value: Any, what: str = "duration") -> float:
    """Seconds from ``10``, ``2.5``, ``"10s"``, ``"500ms"``, ``"2m"``; ValueError naming ``what``."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a duration like 10s or 500ms, got {value!r}")
    if isinstance(value, (int, float)):
        secs = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"{what}: expected a duration like 10s or 500ms, got {value!r}")
        secs = float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]
    if secs <= 0:
        raise ValueError(f"{what}: must be positive, got {value!r}")
    return secs


def _kind(fault: str) -> str:
    if fault in TOPOLOGIES:
        return "partition"
    if fault.startswith("clock"):
        return "clock"
    if fault == "packet-loss":
        return "loss"
    return fault


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
    kind = _kind(fault)
    targets = list(options.get("targets") or PROCESS_TARGETS)
    if kind == "partition":
        top = rng.choice(_topologies(fault, len(names), options))
        value: Any = top
        if options.get("one_way"):
            value = {"topology": top, "one_way": True}
        return {"f": "start-partition", "value": value}, {"f": "stop-partition", "value": None}
    if kind == "clock":
        mode = {"clock-bump": "bump", "clock-strobe": "strobe"}.get(fault) or \
            rng.choice(["bump", "strobe"])
        who = rng.choice(list(options.get("clock_targets") or ["one", "minority"]))
        if mode == "bump":
            bumps = list(options.get("bumps_s") or [options.get("bump_s", DEFAULTS["bump_s"])])
            off = rng.choice(bumps) * rng.choice([-1, 1])
            start = {"mode": "bump", "nodes": who, "offset_s": off}
        else:
            start = {"mode": "strobe", "nodes": who,
                     "offsets_s": list(options.get("strobe_offsets_s",
                                                   DEFAULTS["strobe_offsets_s"])),
                     "period_ms": options.get("strobe_period_ms", DEFAULTS["strobe_period_ms"]),
                     "duration_s": options.get("strobe_duration_s",
                                               DEFAULTS["strobe_duration_s"])}
        return {"f": "start-clock", "value": start}, {"f": "stop-clock", "value": None}
    if kind == "kill":
        return {"f": "kill", "value": rng.choice(targets)}, {"f": "start", "value": None}
    if kind == "pause":
        return {"f": "pause", "value": rng.choice(targets)}, {"f": "resume", "value": None}
    if kind == "loss":
        p = options.get("loss_probability", DEFAULTS["loss_probability"])
        return ({"f": "start-loss", "value": {"probability": p, "nodes": "all"}},
                {"f": "stop-loss", "value": None})
    if kind == "latency":
        return ({"f": "start-latency", "value": {
                    "delay_ms": options.get("latency_ms", DEFAULTS["latency_ms"]),
                    "jitter_ms": options.get("latency_jitter_ms", DEFAULTS["latency_jitter_ms"]),
                    "nodes": "all"}},
                {"f": "stop-latency", "value": None})
    raise ValueError(f"nemesis.faults: unknown fault {fault!r}; expected one of "
                     f"{', '.join(FAULTS)}")


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
                          nodes: int | None = None) -> list[str]:
    """Every problem with a spec's ``nemesis`` section, one line each (empty when fine)."""
    errors: list[str] = []
    if spec_dict is None:
        return errors
    if not isinstance(spec_dict, Mapping):
        return [f"nemesis: expected a mapping with faults and interval, got {spec_dict!r}"]
    for k in spec_dict:
        if k not in ALLOWED_KEYS:
            errors.append(f"nemesis.{k}: unknown key; allowed: {', '.join(sorted(ALLOWED_KEYS))}")
    faults = spec_dict.get("faults")
    if faults is None:
        errors.append("nemesis.faults: missing; expected a list such as [partition, kill, clock]")
        faults = []
    elif isinstance(faults, str) or not isinstance(faults, (list, tuple)):
        errors.append(f"nemesis.faults: expected a list of fault names, got {faults!r}")
        faults = []
    tname = getattr(target, "name", None) or type(target).__name__
    for f in faults:
        if not isinstance(f, str) or f not in FAULTS:
            errors.append(f"nemesis.faults: unknown fault {f!r}; expected one of "
                          f"{', '.join(FAULTS)}")
            continue
        kind = _kind(f)
        if target is not None:
            asks = {f, kind} | ({"packet-loss"} if kind == "loss" else set())
            for name in sorted(asks):
                ok, why = target.supports(name)
                if not ok:
                    errors.append(f"nemesis.faults: {f}: not supported by target {tname}: {why}")
                    break
        if kind == "latency":
            from .latency import host_netem, unsupported_message
            ok, why = host_netem()
            if ok is False:
                errors.append(f"nemesis.faults: {unsupported_message(why)}")
        if kind == "partition" and nodes is not None:
            try:
                _topologies(f, nodes, spec_dict)
            except ValueError as e:
                errors.append(str(e))
    for key in ("interval", "jitter"):
        if key in spec_dict:
            try:
                parse_duration(spec_dict[key], f"nemesis.{key}")
            except ValueError as e:
                errors.append(str(e))
    for key in ("targets", "clock_targets"):
        sel = spec_dict.get(key)
        if sel is not None:
            if not isinstance(sel, (list, tuple)) or not sel:
                errors.append(f"nemesis.{key}: expected a list of {', '.join(SELECTORS)}")
            else:
                for s in sel:
                    if s not in SELECTORS:
                        errors.append(f"nemesis.{key}: unknown selector {s!r}; expected one of "
                                      f"{', '.join(SELECTORS)}")
    tops = spec_dict.get("topologies")
    if tops is not None:
        if not isinstance(tops, (list, tuple)) or not tops:
            errors.append(f"nemesis.topologies: expected a list of {', '.join(TOPOLOGIES)}")
        else:
            for t in tops:
                if t not in TOPOLOGIES:
                    errors.append(f"nemesis.topologies: unknown topology {t!r}; expected one of "
                                  f"{', '.join(TOPOLOGIES)}")
    p = spec_dict.get("loss_probability")
    if p is not None and (isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1):
        errors.append(f"nemesis.loss_probability: expected a number in (0, 1], got {p!r}")
    for key in ("bump_s", "strobe_period_ms", "strobe_duration_s", "latency_ms"):
        v = spec_dict.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            errors.append(f"nemesis.{key}: expected a number, got {v!r}")
    return errors
