"""Per-checker report sections: each CheckResult's evidence (shapes in
docs/evidence.md) turned into what the template shows.  The kind of a result
is recognised by its evidence shape first, its checker name second, so a new
checker that follows a documented shape is drawn without changes here."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
from markupsafe import Markup

from checkers.history import History
from checkers.result import CheckResult, verdict_word

from .bank_view import bank_section
from .causal_view import chain_rows, chain_svg
from .charts import ChartLayout, mark_legend
from .data import Axis, OpTable
from .faults import Faults
from .fmt import esc, number, opref_text, short
from .linear_view import counterexample_svg
from .marks import Mark, Placer
from .txn_view import txn_section

MAX_ROWS = 200          # any table is cut here, with a count of the rest
MAX_DRAWN = 5           # counterexamples / chains drawn per checker
MAX_TIMELINES = 6
MAX_EVIDENCE_CHARS = 20_000
_SAFE_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def kind_of(r: CheckResult) -> str:
    ev = r.evidence if isinstance(r.evidence, dict) else {}
    if "anomaly_types" in ev and "also_not" in ev:
        return "txn"
    if "bad_reads" in ev and "totals" in ev:
        return "bank"
    if "keys" in ev and ("model" in ev or "keys_checked" in ev):
        return "linear"
    if "patterns" in ev or "sessions" in ev or "satisfies" in ev:
        return "causal"
    if "lost" in ev and ("attempted" in ev or "unexpected" in ev):
        return "set"
    if "bounds" in ev or ("reads" in ev and "errors" in ev):
        return "counter"
    if "by_f" in ev:
        return "stats"
    if "groups" in ev:
        return "exceptions"
    if "matches" in ev:
        return "logs"
    name = r.checker.lower()
    for k, kind in (("linear", "linear"), ("causal", "causal"), ("set", "set"),
                    ("counter", "counter"), ("stat", "stats"), ("exception", "exceptions"),
                    ("log", "logs")):
        if k in name:
            return kind
    return "generic"


def cap(items: list, n: int = MAX_ROWS) -> tuple[list, int]:
    items = list(items or [])
    return items[:n], max(0, len(items) - n)


def op_list(place: Placer, ops: list, total: Any = None, n: int = MAX_ROWS) -> dict[str, Any]:
    """A capped list of ops, each with time, node and process, and how many there are
    in all (``total`` when the checker listed only some of them)."""
    shown = [place.entry(o) for o in list(ops or [])[:n]]
    count = total if isinstance(total, int) and total >= len(ops or []) else len(ops or [])
    return {"entries": shown, "total": count}


class Context:
    """What the sections share: the history (may be None), axis, index map,
    and the anomalies collected for per-process timelines."""

    def __init__(self, history: History | None, axis: Axis, pos_of: dict[int, int],
                 log_base: str | None, faults: Faults | None = None,
                 table: OpTable | None = None):
        self.history = history
        self.faults = faults
        self.axis = axis
        self.pos_of = pos_of
        self.log_base = log_base
        self.anomalies: list[tuple[str, list[int]]] = []
        self.place = Placer(history, table, pos_of)
        self._ids = 0

    def new_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}-{self._ids}"

    def anomaly(self, title: str, oprefs: list[dict[str, Any] | None]) -> None:
        if self.history is None or len(self.anomalies) >= MAX_TIMELINES:
            return
        pos = []
        for o in oprefs:
            if not o:
                continue
            for k in ("index", "complete_index"):
                p = self.pos_of.get(o.get(k)) if o.get(k) is not None else None
                if p is not None:
                    pos.append(p)
        if pos and not any(set(pos) == set(p) for _, p in self.anomalies):
            self.anomalies.append((title, pos))


def _linear(r: CheckResult, ev: dict, ctx: Context) -> dict[str, Any]:
    keys = list(ev.get("keys") or [])
    order = {False: 0, "unknown": 1, True: 2}
    keys.sort(key=lambda k: order.get(k.get("valid"), 1))
    rows, more = cap(keys)
    failures = []
    for k in keys:
        f = k.get("failure")
        if k.get("valid") is not False or not f:
            continue
        if len(failures) >= MAX_DRAWN:
            break
        svg, hidden = counterexample_svg(f, ctx.history, ctx.axis, ctx.pos_of)
        op = f.get("op") or {}
        prefix_tail, _ = cap(list(f.get("prefix") or [])[-10:])
        failures.append({
            "key": short(k.get("key"), 60), "whole": k.get("key") is None,
            "svg": svg, "hidden": hidden,
            "op": opref_text(op, 120), "op_index": op.get("index"),
            "returned": f"{op.get('f')} {short(op.get('value'), 60)} → {op.get('type')} "
                        f"{short(op.get('result'), 60)}",
            "states_before": [short(s, 80) for s in (f.get("states_before") or [])[:20]],
            "states_more": max(0, len(f.get("states_before") or []) - 20),
            "expected": short(f.get("expected"), 200),
            "prefix_len": int(f.get("prefix_length") or len(f.get("prefix") or [])),
            "prefix_tail": [opref_text(o) for o in prefix_tail],
        })
        failures[-1]["where"] = ctx.place.entry(op)
        failures[-1]["concurrent"] = op_list(ctx.place, list(f.get("concurrent") or []), n=30)
        ctx.anomaly(f"linearizability, key {short(k.get('key'), 40)}: {opref_text(op)}",
                    [op] + list(f.get("concurrent") or [])[:6])
    for k in keys:
        f = k.get("failure")
        if k.get("valid") is False and f:
            ctx.place.mark_op("nonlinear", f.get("op"),
                              f"key {short(k.get('key'), 30)}: could not be linearized")
    return {
        "model": short(ev.get("model"), 60), "init": short(ev.get("init"), 60),
        "keys_checked": ev.get("keys_checked", len(keys)),
        "failing": sum(1 for k in keys if k.get("valid") is False),
        "unknown": sum(1 for k in keys if k.get("valid") not in (True, False)),
        "rows": [{"key": short(k.get("key"), 60), "word": verdict_word(k.get("valid")),
                  "ops": k.get("ops"), "elapsed": number(k.get("elapsed_s")),
                  "configs": (k.get("explored") or {}).get("configurations"),
                  "budget": (k.get("explored") or {}).get("budget_hit")} for k in rows],
        "more": more + int(ev.get("valid_keys_not_listed", 0) or 0),
        "failures": failures,
        **_staleness(ev.get("staleness"), ctx),
    }


def _staleness(st: Any, ctx: Context) -> dict[str, Any]:
    from .staleness_view import staleness_summary, staleness_svg
    if not isinstance(st, dict):
        return {}
    return {"staleness": staleness_summary(st),
            "staleness_svg": staleness_svg(st, ctx.axis, ctx.faults)}


def _causal(r: CheckResult, ev: dict, ctx: Context) -> dict[str, Any]:
    pats, more = cap(ev.get("patterns") or [], 50)
    patterns = []
    for i, p in enumerate(pats):
        drawn = i < MAX_DRAWN
        patterns.append({
            "name": short(p.get("name"), 60),
            "levels": ", ".join(short(x, 10) for x in p.get("levels") or []),
            "explanation": short(p.get("explanation"), 400),
            "svg": chain_svg(p, ctx.new_id("chain")) if drawn else None,
            "rows": chain_rows(p)[:50],
            "ops": op_list(ctx.place, list(p.get("ops") or []), n=30),
        })
        for o in p.get("ops") or []:
            ctx.place.mark_op("cycle", o, f"{short(p.get('name'), 40)}")
        if drawn:
            ctx.anomaly(f"causal {short(p.get('name'), 40)}", list(p.get("ops") or [])[:8])
    sessions = []
    for name, s in (ev.get("sessions") or {}).items():
        s = s or {}
        vs, vmore = cap(s.get("violations") or [], 20)
        sessions.append({"name": short(name, 40), "word": verdict_word(s.get("valid")),
                         "violations": [{"ops": op_list(ctx.place, list(v.get("ops") or []), n=10),
                                         "explanation": short(v.get("explanation"), 300)}
                                        for v in vs], "more": vmore,
                         "total": s.get("count") if isinstance(s.get("count"), int)
                         else len(s.get("violations") or [])})
        for v in vs if s.get("valid") is False else []:
            for o in v.get("ops") or []:
                ctx.place.mark_op("cycle", o, f"{short(name, 40)} violated")
        if vs and s.get("valid") is False:
            ctx.anomaly(f"session guarantee {short(name, 40)}", list(vs[0].get("ops") or [])[:6])
    sat = ev.get("satisfies") or {}
    counts = ev.get("counts") if isinstance(ev.get("counts"), dict) else {}
    total = sum(v for v in counts.values() if isinstance(v, int)) or len(ev.get("patterns") or [])
    return {"level": short(ev.get("level"), 20),
            "satisfies": [(short(k, 10), verdict_word(v)) for k, v in sat.items()],
            "patterns": patterns, "more": more, "sessions": sessions,
            "total": max(total, len(patterns))}


def _elements(xs: Any, total: Any = None, n: int = MAX_ROWS) -> dict[str, Any]:
    xs = list(xs or [])
    count = total if isinstance(total, int) and total >= len(xs) else len(xs)
    shown = xs[:n]
    return {"count": count, "shown": ", ".join(short(x, 40) for x in shown),
            "n_shown": len(shown)}


SET_MARKED = ("lost", "stale", "unexpected")


def _set(r: CheckResult, ev: dict, ctx: Context) -> dict[str, Any]:
    lost_ops = list(ev.get("lost_ops") or [])
    if lost_ops:
        ctx.anomaly(f"set: lost element {short(lost_ops[0].get('value'), 40)}", [lost_ops[0]])
    counts = ev.get("counts") if isinstance(ev.get("counts"), dict) else {}
    for kind in SET_MARKED:
        ctx.place.mark_elements(kind, ev.get(kind) or [])
        if isinstance(counts.get(kind), int) and counts[kind] > ctx.place.totals.get(kind, 0):
            ctx.place.totals[kind] = counts[kind]  # the checker listed only some
    return {"attempted": ev.get("attempted"), "acknowledged": ev.get("acknowledged"),
            "lists": [(name, _elements(ev.get(name), counts.get(name)))
                      for name in
                      ("lost", "unexpected", "stale", "never_read", "recovered") if name in ev],
            "lost_ops": op_list(ctx.place, lost_ops, counts.get("lost"), n=100),
            "latency": {short(k, 10): number(v) for k, v in
                        (ev.get("stable_latency_ms") or {}).items() if v is not None}}


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _counter_chart(bounds: list, marks: list[Mark], axis: Axis,
                   faults: Faults | None) -> Markup | None:
    # Only rows with numeric time and bounds are drawable; a read of something
    # that is not a number (a misapplied checker) is left to the table.
    rows = [b for b in bounds if isinstance(b, (list, tuple)) and len(b) >= 3
            and all(_number(x) is not None for x in b[:3])]
    if not rows:
        return None
    if len(rows) > 2000:
        rows = [rows[int(i)] for i in np.linspace(0, len(rows) - 1, 2000)]
    t = np.array([float(axis.at(float(b[0]))) if axis.timed else float(b[0]) for b in rows])
    lower = np.array([float(b[1]) for b in rows])
    upper = np.array([float(b[2]) for b in rows])
    reads = [(ti, _number(b[3])) for ti, b in zip(t, rows) if len(b) > 3 and _number(b[3]) is not None]
    ymin = min(lower.min(), min((v for _, v in reads), default=lower.min()))
    ymax = max(upper.max(), max((v for _, v in reads), default=upper.max()))
    xpad = (float(t.max()) - float(t.min())) * 0.03 or 1e-3
    ypad = max((ymax - ymin) * 0.08, 1.0)
    items = [("info", "lower bound"), ("fail", "upper bound"), ("ok", "read")] + \
        mark_legend(marks)
    lay = ChartLayout("counter-bounds", "counter bounds over time", 220,
                      (float(t.min()) - xpad, float(t.max()) + xpad),
                      (ymin - ypad, ymax + ypad), items, faults, fault_labels=False)
    svg, fr = lay.svg, lay.fr
    lay.shade()
    fr.axes(f"time ({axis.unit})", "counter value")
    band = [(fr.px(x), fr.py(y)) for x, y in zip(t, upper)] + \
        [(fr.px(x), fr.py(y)) for x, y in zip(t[::-1], lower[::-1])]
    svg.raw('<polygon class="band" points="' +
            " ".join(f"{x:.1f},{y:.1f}" for x, y in band) + '"/>')
    svg.polyline([(fr.px(x), fr.py(y)) for x, y in zip(t, upper)], "tp fail")
    svg.polyline([(fr.px(x), fr.py(y)) for x, y in zip(t, lower)], "tp info")
    svg.path("".join(f"M{fr.px(x) - 2.5:.1f} {fr.py(v):.1f}a2.5 2.5 0 1 0 5 0a2.5 2.5 0 1 0 -5 0"
                     for x, v in reads), "pt ok")
    # Out-of-bounds reads: a ring at the value read, in the findings' colour.
    for m in marks:
        if m.latency_ms == m.latency_ms:
            svg.raw(f'<g class="mark mark-{m.kind}" data-kind="{m.kind}" data-t="{m.t!r}">'
                    f'<title>{esc(m.title)}</title><circle cx="{fr.px(m.t):.1f}" '
                    f'cy="{fr.py(m.latency_ms):.1f}" r="5"/></g>')
    return svg.render()


def _counter(r: CheckResult, ev: dict, ctx: Context) -> dict[str, Any]:
    errors, more = cap(ev.get("errors") or [], 100)
    if errors:
        ctx.anomaly("counter read out of bounds", [errors[0].get("op")])
    for e in ev.get("errors") or []:
        ctx.place.mark_op("counter", e.get("op"),
                          f"read {short(e.get('read'), 20)} outside [{e.get('lower')}, "
                          f"{e.get('upper')}]")
    # The counter chart plots values, not latencies: its rings sit at the value read.
    marks = []
    for e in ev.get("errors") or []:
        t = ctx.place.time_of(e.get("op"))
        if t is not None and _number(e.get("read")) is not None:
            marks.append(Mark("counter", t, float(e["read"]),
                              f"read {short(e.get('read'), 20)} outside "
                              f"[{e.get('lower')}, {e.get('upper')}]"))
    return {"reads": ev.get("reads"),
            "errors": [{"where": ctx.place.entry(e.get("op")), "lower": number(e.get("lower")),
                        "upper": number(e.get("upper")), "read": short(e.get("read"), 30)}
                       for e in errors],
            "total": len(ev.get("errors") or []),
            "chart": _counter_chart(ev.get("bounds") or [], marks, ctx.axis, ctx.faults)}


def _stats(r: CheckResult, ev: dict, ctx: Context) -> dict[str, Any]:
    rows = [(short(f, 40), number(c.get("ok", 0)), number(c.get("fail", 0)),
             number(c.get("info", 0)))
            for f, c in (ev.get("by_f") or {}).items() if isinstance(c, dict)]
    return {"rows": rows[:MAX_ROWS],
            "never": ", ".join(short(f, 40) for f in ev.get("never_succeeded") or [])}


def _exceptions(r: CheckResult, ev: dict, ctx: Context) -> dict[str, Any]:
    groups, more = cap(ev.get("groups") or [], 100)
    return {"groups": [{"error": short(g.get("error"), 200), "count": number(g.get("count")),
                        "example": ctx.place.entry(g.get("example"))} for g in groups],
            "more": more, "total": len(ev.get("groups") or [])}


def log_link(base: str | None, node: Any, file: Any) -> str | None:
    """A relative link into logs/, only for plain path components."""
    if base is None:
        return None
    node, file = str(node), str(file)
    if not _SAFE_PART.match(node) or not all(_SAFE_PART.match(p) for p in file.split("/")):
        return None
    return f"{base}/{node}/{file}"


def _logs(r: CheckResult, ev: dict, ctx: Context) -> dict[str, Any]:
    ms, more = cap(ev.get("matches") or [], MAX_ROWS)
    return {"matches": [{"node": short(m.get("node"), 40), "file": short(m.get("file"), 80),
                         "line": m.get("line"),
                         # an event (an election) is counted, not a failure: say which it is
                         "pattern": short(m.get("pattern"), 60) + (" (event)" if m.get("event")
                                                                   else ""),
                         "text": short(m.get("text"), 300),
                         "href": log_link(ctx.log_base, m.get("node"), m.get("file"))}
                        for m in ms], "more": more, "total": len(ev.get("matches") or [])}


def _generic(r: CheckResult, ev: Any, ctx: Context) -> dict[str, Any]:
    text = json.dumps(ev, indent=1, default=str)
    cut = len(text) > MAX_EVIDENCE_CHARS
    return {"json": text[:MAX_EVIDENCE_CHARS] + ("\n… (cut)" if cut else "")}


_BUILDERS = {"linear": _linear, "causal": _causal, "set": _set, "counter": _counter,
             "stats": _stats, "exceptions": _exceptions, "logs": _logs, "generic": _generic,
             "txn": txn_section, "bank": bank_section}


def section(r: CheckResult, ctx: Context, n: int) -> dict[str, Any]:
    kind = kind_of(r)
    ev = r.evidence if isinstance(r.evidence, dict) else {}
    try:
        data = _BUILDERS[kind](r, ev, ctx)
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as e:
        # Evidence not in the documented shape: show it raw rather than fail the report.
        kind = "generic"
        data = _generic(r, r.evidence, ctx)
        data["error"] = f"could not draw this evidence ({type(e).__name__}: {e}); shown raw"
    return {"id": f"check-{n}", "checker": r.checker, "word": verdict_word(r.valid),
            "summary": r.summary, "elapsed": r.elapsed_s, "kind": kind, "d": data}
