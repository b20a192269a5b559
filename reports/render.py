"""Shared rendering: one jinja2 environment (autoescape on) and the
assembly of a report "part" — one history with its charts, checker sections
and anomaly timelines.  A run report has one part; ``splitbrain check
--report`` has one per history checked."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import jinja2

from checkers.history import History
from checkers.result import CheckResult, merge_verdicts, verdict_word

from .charts import latency_chart, throughput_chart
from .data import Axis, nemesis_positions, op_table, position_of_index
from .faults import fault_windows
from .glossary import GLOSSARY
from .marks import time_text
from .fmt import number, short
from .sections import Context, section
from .timeline import timeline_svg

MAX_WINDOWS = 200


@lru_cache(maxsize=1)
def env() -> jinja2.Environment:
    # autoescape=True for every template: history values never become markup.
    e = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
                           autoescape=True, undefined=jinja2.ChainableUndefined,
                           trim_blocks=False, lstrip_blocks=False)
    # One number format everywhere (``num(3)`` for a fixed number of decimals).
    e.filters["num"] = lambda v, decimals=None: number(v, decimals=decimals) \
        if isinstance(v, (int, float)) and not isinstance(v, bool) else ("" if v is None else v)
    return e


def _t(v: float, axis: Axis) -> str:
    return time_text(v, axis)


def build_part(title: str, history: History | None, results: Sequence[CheckResult],
               *, log_base: str | None, first_section: int = 0,
               error: str | None = None) -> dict[str, Any]:
    part: dict[str, Any] = {"title": title, "error": error, "counts": None, "windows": [],
                            "latency": None, "throughput": None, "timelines": []}
    table = None
    if history is not None and len(history):
        table = op_table(history)
        faults = fault_windows(history, table.axis, table.span[1])
        part.update(counts=table.counts(), n_ops=len(table),
                    nemesis=len(nemesis_positions(history)))
        part["windows"] = [{"kind": w.kind, "detail": w.detail, "start": _t(w.start, table.axis),
                            "end": "end of history (never healed)" if w.open_at_end
                            else _t(w.end, table.axis), "healed": w.heal_detail}
                           for w in faults.windows[:MAX_WINDOWS]]
        part["windows_more"] = max(0, len(faults.windows) - MAX_WINDOWS)
        part["windows_total"] = len(faults.windows)
        part["events"] = [{"f": e.f, "at": _t(e.at, table.axis), "detail": e.detail}
                          for e in faults.events[:MAX_WINDOWS]]
        ctx = Context(history, table.axis, position_of_index(history), log_base, faults, table)
    else:
        ctx = Context(None, Axis(False, 0.0), {}, log_base)
    part["sections"] = [section(r, ctx, first_section + i) for i, r in enumerate(results)]
    if table is not None:
        # Drawn after the sections: the checkers' findings are marked on the charts.
        part.update(latency=latency_chart(table, faults, ctx.place.marks, ctx.place.totals),
                    throughput=throughput_chart(table, faults))
    if history is not None:
        for title_, positions in ctx.anomalies:
            tid = ctx.new_id("timeline")
            svg = timeline_svg(history, positions, tid + "-svg")
            if svg is not None:
                part["timelines"].append({"title": title_, "svg": svg, "id": tid})
    return part


def render(title: str, parts: list[dict[str, Any]], meta: dict[str, Any],
           spec_text: str | None, links: list[tuple[str, str]]) -> str:
    words = [s["word"] for p in parts for s in p["sections"]]
    verdicts = [{"valid": True, "invalid": False}.get(w, "unknown") for w in words]
    overall = verdict_word(merge_verdicts(verdicts)) if words else "none"
    meta_rows = []
    for k in ("name", "target", "faults", "workload", "seed", "started", "finished", "ops", "dir"):
        if meta.get(k) not in (None, "", []):
            v = meta[k]
            if isinstance(v, list):
                text = ", ".join(short(x, 60) for x in v)
            elif isinstance(v, dict):  # e.g. ops: {"total": .., "ok": ..}
                text = ", ".join(f"{short(a, 30)} {short(b, 60)}" for a, b in v.items())
            else:
                text = short(v, 200)
            meta_rows.append((k, text))
    return env().get_template("report.html.j2").render(
        title=title, parts=parts, meta=meta, meta_rows=meta_rows, spec_text=spec_text,
        links=links, overall=overall, glossary=GLOSSARY,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))
