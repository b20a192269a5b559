"""The bank checker's evidence for the report: the total of every read over
time against the total money should stay at, with fault windows shaded
behind it and the bad reads in red (shape: docs/evidence.md, "bank")."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from checkers.result import CheckResult

from .charts import shade_faults
from .fmt import short
from .svg import Frame, Svg, legend

if TYPE_CHECKING:  # pragma: no cover - sections imports this module
    from .sections import Context

MAX_BAD_ROWS = 100


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def totals_chart(totals: list, bad: list, expected: Any, ctx: "Context") -> Markup | None:
    """Totals over time (history position when the history has no times)."""
    pts = []
    bad_ops = {b.get("op") for b in bad if isinstance(b, dict)}
    for t in totals:
        if not isinstance(t, dict) or _number(t.get("total")) is None:
            continue
        if ctx.axis.timed and _number(t.get("time")) is not None:
            x = float(ctx.axis.at(float(t["time"])))
        elif isinstance(t.get("index"), int):
            x = float(ctx.pos_of.get(t["index"], t["index"]))
        else:
            continue
        pts.append((x, float(t["total"]), t.get("index") in bad_ops))
    if not pts:
        return None
    exp = _number(expected)
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts] + ([exp] if exp is not None else [])
    xpad = (max(xs) - min(xs)) * 0.03 or 1.0
    ypad = max((max(ys) - min(ys)) * 0.1, 1.0)
    svg = Svg(1100, 260, label="bank totals over time", elem_id="bank-totals")
    fr = Frame(svg, 70, 34, 20, 34, (min(xs) - xpad, max(xs) + xpad),
               (min(ys) - ypad, max(ys) + ypad))
    if ctx.faults is not None:
        shade_faults(svg, fr, ctx.faults, labels=False)
    fr.axes(f"time ({ctx.axis.unit})", "total of a read")
    if exp is not None:
        svg.line(fr.l, fr.py(exp), fr.r, fr.py(exp), "expected-total")
    for cls, want in (("pt ok", False), ("pt fail", True)):
        d = "".join(f"M{fr.px(x) - 2.5:.1f} {fr.py(y):.1f}a2.5 2.5 0 1 0 5 0a2.5 2.5 0 1 0 -5 0"
                    for x, y, is_bad in pts if is_bad == want)
        svg.path(d, cls)
    legend(svg, fr.l + 8, 16, [("ok", "read total"), ("fail", "bad read")])
    return svg.render()


def bank_section(r: CheckResult, ev: dict[str, Any], ctx: "Context") -> dict[str, Any]:
    bad = [b for b in ev.get("bad_reads") or [] if isinstance(b, dict)]
    rows = [{"type": short(b.get("type"), 30), "op": b.get("op"), "line": b.get("line"),
             "process": short(b.get("process"), 20), "total": short(b.get("total"), 30),
             "expected": short(b.get("expected"), 30), "value": short(b.get("value"), 200)}
            for b in bad[:MAX_BAD_ROWS]]
    if bad:
        ctx.anomaly(f"bank: {short(bad[0].get('type'), 30)}", [{"index": bad[0].get("op")}])
    counts = ev.get("bad_counts") or {}
    return {"total": short(ev.get("total"), 30), "reads": ev.get("reads"),
            "transfers": ev.get("transfers"),
            "counts": [(short(k, 30), v) for k, v in counts.items()] if isinstance(counts, dict)
            else [],
            "chart": totals_chart(list(ev.get("totals") or []), bad, ev.get("total"), ctx),
            "rows": rows, "more": max(0, sum(v for v in counts.values() if isinstance(v, int))
                                      - len(rows)) if isinstance(counts, dict) else 0}
