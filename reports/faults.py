"""Fault windows from the nemesis ops of a history.

A window opens at the *completion* of a fault-starting op (the nemesis
records what it actually applied in that ``info`` value: grudge, nodes,
offsets) and closes at the completion of the matching healing op.  A window
still open when the history ends extends to its end — the fault was never
healed while clients were watching.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from checkers.history import History

from .data import Axis, nemesis_positions, op_at, op_time
from .fmt import number, short

# healing f → the kind it closes; starting f → kind.  start-X/stop-X pairs
# are recognised generically, so new nemeses need no entry here.
_STARTS = {"kill": "kill", "pause": "pause"}
_STOPS = {"start": "kill", "resume": "pause"}
# The harness's final heal of everything (harness.lifecycle records it as "heal").
_HEAL_ALL = frozenset({"heal", "heal-all"})


@dataclass
class FaultWindow:
    kind: str
    start: float
    end: float
    open_at_end: bool
    detail: str
    start_index: int | None = None
    end_index: int | None = None
    heal_detail: str = ""   # what the healing op recorded (e.g. a clock's measured offset)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.detail}".strip()


@dataclass
class NemesisEvent:
    """A nemesis op that is not part of a window (e.g. a one-shot action)."""

    f: str
    at: float
    detail: str


@dataclass
class Faults:
    windows: list[FaultWindow] = field(default_factory=list)
    events: list[NemesisEvent] = field(default_factory=list)


def _kind_of(f: str) -> tuple[str, str] | None:
    """('start'|'stop', kind) for a fault op name, None for anything else."""
    if f in _STARTS:
        return "start", _STARTS[f]
    if f in _STOPS:
        return "stop", _STOPS[f]
    for prefix, what in (("start-", "start"), ("stop-", "stop")):
        if f.startswith(prefix) and len(f) > len(prefix):
            return what, f[len(prefix):]
    return None


def _grudge(g: dict) -> str:
    """node → nodes it drops traffic from, as ``n1✕n2,n3; n2✕n1``."""
    return "; ".join(f"{short(k, 20)}✕{','.join(short(n, 20) for n in x)}"
                     for k, x in g.items() if isinstance(x, (list, tuple)) and x)


def _names(xs: Any) -> str:
    return ",".join(short(x, 20) for x in xs) if isinstance(xs, (list, tuple)) else short(xs, 40)


def _offset(x: Any) -> str:
    """A clock offset in seconds, signed, in the report's number format."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        text = number(x, decimals=3).rstrip("0").rstrip(".")
        return ("+" if x > 0 else "") + text + "s"
    return short(x, 20)


def _span(xs: Any) -> str:
    """Offsets a node was seen at (a strobe's samples) as ``min…max``."""
    nums = [x for x in xs if isinstance(x, (int, float)) and not isinstance(x, bool)] \
        if isinstance(xs, (list, tuple)) else []
    if not nums:
        return short(xs, 30)
    lo, hi = min(nums), max(nums)
    return _offset(lo) if lo == hi else f"{_offset(lo)}…{_offset(hi)}"


def _measured(m: dict[str, Any]) -> str:
    """What a fault measured (``cpu_share`` per node, stop-and-go timing, a probe fsync …),
    nested by node or fault name, as ``n1: cpu_share=0.049 window_s=10``."""
    flat = [f"{short(k, 24)}={x:g}" if isinstance(x, float) else f"{short(k, 24)}={short(x, 20)}"
            for k, x in m.items() if not isinstance(x, dict)]
    nested = [f"{short(k, 20)}: {_measured(x)}" for k, x in m.items() if isinstance(x, dict)]
    return "; ".join([" ".join(flat)] * bool(flat) + nested)


def describe_detail(v: Any) -> str:
    """Make a nemesis value readable: grudges, node lists, clock offsets.

    Knows the fields our nemesis records (topology, grudge, nodes, mode,
    offsets_s, probability, delay_ms, measured, healed); anything else is shown as
    compact key=value text.
    """
    if v is None:
        return ""
    if isinstance(v, dict):
        parts: list[str] = []
        if v.get("topology"):
            parts.append(short(v["topology"], 30) + (" one-way" if v.get("one_way") else ""))
        if v.get("mode"):
            parts.append(short(v["mode"], 20))
        p = v.get("probability")
        if isinstance(p, (int, float)) and not isinstance(p, bool):
            parts.append(f"{p:.0%}")
        d = v.get("delay_ms")
        if isinstance(d, (int, float)) and not isinstance(d, bool):
            parts.append(f"+{d:g}ms")
        if isinstance(v.get("grudge"), dict):
            parts.append(_grudge(v["grudge"]))
        off = v.get("offsets_s")
        if isinstance(off, dict):
            parts.append(", ".join(f"{short(n, 20)} {_offset(x)}" for n, x in off.items()))
        else:
            if v.get("nodes") is not None:
                parts.append(_names(v["nodes"]))
            if isinstance(off, (list, tuple)) and off:  # a strobe flips between these
                parts.append("/".join(_offset(x) for x in off))
        observed = v.get("observed_s")
        if isinstance(observed, dict) and observed:
            parts.append("observed " + ", ".join(f"{short(n, 20)} {_span(xs)}"
                                                 for n, xs in observed.items()))
        if isinstance(v.get("measured"), dict) and v["measured"]:
            parts.append("measured " + _measured(v["measured"]))
        if v.get("healed") is not None:
            h = v["healed"]
            parts.append("healed " + ("; ".join(short(x, 80) for x in h)
                                      if isinstance(h, (list, tuple)) else short(h, 80)))
        if parts:
            return short(" ".join(parts), 200)
        if v and all(isinstance(x, (list, tuple)) for x in v.values()):
            return short(_grudge(v), 90)
        return short(", ".join(f"{short(k, 20)}={short(x, 30)}" for k, x in v.items()), 90)
    if isinstance(v, (list, tuple)):
        return short(_names(v), 90)
    return short(v, 90)


def fault_windows(history: History, axis: Axis, end_at: float) -> Faults:
    out = Faults()
    open_: dict[str, list[FaultWindow]] = {}
    pending: dict[str, Any] = {}
    last_t = 0.0
    for pos in nemesis_positions(history).tolist():
        op = op_at(history, pos)
        if op.type == "invoke":
            pending[op.f] = op.value
            continue
        value = op.value if op.value is not None else pending.get(op.f)
        t = op_time(history, axis, pos)
        if t != t:  # an untimed nemesis op in a timed history: it happened after the last one
            t = last_t
        last_t = t
        if op.f in _HEAL_ALL:
            # The teardown heal undoes every fault at once: close every window.
            for ws in open_.values():
                for w in ws:
                    w.end = max(t, w.start)
                    w.open_at_end = False
                    w.end_index = op.index
                    w.heal_detail = describe_detail(value)
            open_.clear()
            out.events.append(NemesisEvent(op.f, t, describe_detail(value)))
            continue
        kinded = _kind_of(op.f)
        if kinded is None:
            out.events.append(NemesisEvent(op.f, t, describe_detail(value)))
            continue
        what, kind = kinded
        if what == "start":
            w = FaultWindow(kind, t, end_at, True, describe_detail(value), op.index)
            open_.setdefault(kind, []).append(w)
            out.windows.append(w)
        else:
            # A heal closes every open window of its kind: nemeses heal all at once
            # (stop-partition heals every grudge, start restarts every killed node).
            for w in open_.pop(kind, []):
                w.end = max(t, w.start)
                w.open_at_end = False
                w.end_index = op.index
                w.heal_detail = describe_detail(value)
    return out


def active_fault_labels(faults: Faults) -> list[str]:
    return [w.label for w in faults.windows if w.open_at_end]
