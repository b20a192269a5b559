"""A transactional checker's evidence (list-append / rw-register, Elle's
anomalies) for the report: per anomaly the cycle as numbered transactions
and steps in plain words, a small graph of the cycle (transactions on a
ring, each dependency a labelled arrow), and a listing of the transactions
each T-number links to."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from checkers.result import CheckResult

from .fmt import esc, num, short
from .svg import Svg

if TYPE_CHECKING:  # pragma: no cover - sections imports this module
    from .sections import Context

MAX_INSTANCES = 3       # instances drawn per anomaly type
MAX_TYPES = 12
MAX_LISTED = 200        # transactions listed
RADIUS, NODE_R = 120, 24
STEP_TEXT = {"ww": "write → write", "wr": "write → read", "rw": "read → write (anti-dependency)",
             "process": "process order", "realtime": "real-time order"}


def _anchor(section_id: str, index: Any) -> str:
    return f"{section_id}-txn-{index}"


def _words(step: dict[str, Any], names: dict[Any, str], wrote: str = "wrote") -> str:
    """One step of a cycle the way a tester would say it."""
    a, b = names.get(step.get("from"), "?"), names.get(step.get("to"), "?")
    typ, key = step.get("type"), short(step.get("key"), 40)
    v, v2 = short(step.get("value"), 40), short(step.get("value'"), 40)
    if typ == "ww":
        return f"{a} {wrote} {v} to key {key}, and {b} {wrote} {v2} after it, so {a} < {b}"
    if typ == "wr":
        return f"{b} read {v} from key {key}, which {a} {wrote}, so {a} < {b}"
    if typ == "rw":
        seen = "the initial (empty) state" if step.get("value") is None else f"a version ending in {v}"
        return (f"{a} read {seen} of key {key}, so it did not see {v2}, which {b} {wrote} next, "
                f"so {a} < {b}")
    if typ == "process":
        return f"{a} completed before {b} began, on the same process, so {a} < {b}"
    if typ == "realtime":
        return f"{a} completed before {b} was invoked, so {a} < {b}"
    return f"{a} < {b} ({short(typ, 20)})"


def cycle_svg(cycle: list[Any], steps: list[dict[str, Any]], names: dict[Any, str],
              section_id: str, elem_id: str) -> Markup:
    """The cycle as a ring: each transaction a circle linking to its listing,
    each step an arrow labelled with its relation (and key)."""
    nodes = list(dict.fromkeys(cycle[:-1] if len(cycle) > 1 and cycle[0] == cycle[-1] else cycle))
    n = max(len(nodes), 1)
    r = RADIUS if n > 2 else 60
    size = 2 * r + 2 * NODE_R + 150
    cx = cy = size / 2
    pos = {t: (cx + r * math.sin(2 * math.pi * i / n), cy - r * math.cos(2 * math.pi * i / n))
           for i, t in enumerate(nodes)}
    svg = Svg(size, size, cls="chart txn-cycle", label="dependency cycle", elem_id=elem_id)
    marker = f"arrow-{esc(elem_id)}"
    svg.raw(f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            '<path d="M0 0L10 5L0 10z" class="arrowhead"/></marker></defs>')
    for s in steps:
        a, b = s.get("from"), s.get("to")
        if a not in pos or b not in pos or a == b:
            continue
        (x1, y1), (x2, y2) = pos[a], pos[b]
        dx, dy = x2 - x1, y2 - y1
        d = math.hypot(dx, dy) or 1.0
        ux, uy = dx / d, dy / d
        # Bow every arrow to its left, so the two arrows between a pair go round
        # opposite sides; the label sits outside the bow.
        bow = 44 if n == 2 else 28
        px_, py_ = uy, -ux
        mx, my = (x1 + x2) / 2 + px_ * bow, (y1 + y2) / 2 + py_ * bow
        sx, sy = x1 + ux * NODE_R, y1 + uy * NODE_R
        ex, ey = x2 - ux * (NODE_R + 2), y2 - uy * (NODE_R + 2)
        typ = str(s.get("type", "?"))
        rel = typ if typ.isalpha() else "x"
        label = typ + (f" {short(s.get('key'), 12)}" if s.get("key") is not None else "")
        svg.path(f"M{num(sx)} {num(sy)} Q{num(mx)} {num(my)} {num(ex)} {num(ey)}",
                 f"edge rel-{rel}", title=_words(s, names),
                 extra=f' marker-end="url(#{marker})"')
        lx, ly = (sx + 2 * mx + ex) / 4 + px_ * 10, (sy + 2 * my + ey) / 4 + py_ * 10
        anchor = "start" if px_ > 0.35 else "end" if px_ < -0.35 else "middle"
        svg.text(lx, ly + (4 if anchor != "middle" else (12 if py_ > 0 else -4)), label,
                 "edgelbl", anchor=anchor)
    for t in nodes:
        x, y = pos[t]
        svg.raw(f'<a href="#{esc(_anchor(section_id, t))}">')
        svg.raw(f'<circle cx="{num(x)}" cy="{num(y)}" r="{NODE_R}" class="txn-node" '
                f'data-index="{esc(t)}"><title>{esc(names[t])} = op {esc(t)}</title></circle>')
        svg.text(x, y + 4, names[t], "txn-name", anchor="middle")
        svg.raw("</a>")
    return svg.render()


def _instance(inst: dict[str, Any], section_id: str, elem_id: str,
              wrote: str) -> dict[str, Any]:
    if "cycle" in inst and isinstance(inst.get("cycle"), list):
        cycle = list(inst["cycle"])
        order = list(dict.fromkeys(cycle[:-1] if len(cycle) > 1 else cycle))
        names = {t: f"T{i + 1}" for i, t in enumerate(order)}
        steps = [s for s in inst.get("steps") or [] if isinstance(s, dict)]
        chain = " < ".join(names[t] for t in order + order[:1])
        return {"cycle": True,
                "txns": [{"name": names[t], "index": t, "href": "#" + _anchor(section_id, t)}
                         for t in order],
                "steps": [{"n": i + 1, "type": short(s.get("type"), 20),
                           "type_text": STEP_TEXT.get(s.get("type"), ""),
                           "words": _words(s, names, wrote)} for i, s in enumerate(steps)],
                "conclusion": f"So {chain}: a contradiction — no order of these transactions "
                              "explains what they observed.",
                "explanation": short(inst.get("explanation"), 2000),
                "svg": cycle_svg(cycle, steps, names, section_id, elem_id)}
    fields = []
    ops = []
    for k, v in inst.items():
        if k == "explanation":
            continue
        if k in ("op", "writer") and isinstance(v, int):
            ops.append((k, v, "#" + _anchor(section_id, v)))
        elif k == "ops" and isinstance(v, list):
            ops += [("op", o, "#" + _anchor(section_id, o)) for o in v if isinstance(o, int)]
        else:
            fields.append((short(k, 30), short(v, 200)))
    return {"cycle": False, "explanation": short(inst.get("explanation"), 600),
            "fields": fields, "ops": ops}


def _referenced(ev: dict[str, Any]) -> set:
    out = set()
    for insts in list((ev.get("anomalies") or {}).values()) + [ev.get("forks") or []]:
        for inst in insts if isinstance(insts, list) else []:
            if not isinstance(inst, dict):
                continue
            out.update(t for t in inst.get("cycle") or [] if isinstance(t, int))
            out.update(inst[k] for k in ("op", "writer") if isinstance(inst.get(k), int))
            out.update(o for o in inst.get("ops") or [] if isinstance(o, int))
    return out


def _listing(ev: dict[str, Any], history, section_id: str) -> tuple[list[dict], int]:
    """Transactions by op index: every one the anomalies name, then (when the
    history is at hand) the rest of the history's transactions up to a cap."""
    described = {}
    for k, t in (ev.get("transactions") or {}).items():
        try:
            described[int(k)] = t or {}
        except (TypeError, ValueError):
            continue
    refs = _referenced(ev) | set(described)
    rows: dict[int, dict] = {}
    if history is not None:
        for pos, op in enumerate(history.ops):
            if op.f != "txn" or op.type == "invoke":
                continue
            if op.index in refs or len(rows) < MAX_LISTED:
                rows[op.index] = {"process": op.process, "type": op.type, "value": op.value,
                                  "line": history.line_of(pos)}
    for i, t in described.items():
        rows.setdefault(i, {"process": t.get("process"), "type": t.get("type"),
                            "value": t.get("value"), "line": t.get("line")})
    out = [{"index": i, "id": _anchor(section_id, i), "named": i in refs,
            "process": short(t.get("process"), 20), "type": short(t.get("type"), 10),
            "value": short(t.get("value"), 300),
            "line": t.get("line") if isinstance(t.get("line"), int) else None}
           for i, t in sorted(rows.items())]
    total = sum(1 for o in history.ops if o.f == "txn" and o.type != "invoke") \
        if history is not None else len(out)
    return out, max(0, total - len(out))


def txn_section(r: CheckResult, ev: dict[str, Any], ctx: "Context") -> dict[str, Any]:
    """What the template draws for a list-append / rw-register result."""
    section_id = ctx.new_id("txn")
    wrote = "appended" if "append" in str(r.checker) else "wrote"
    anomalies = []
    types = [t for t in ev.get("anomaly_types") or [] if isinstance(t, str)]
    for name in types[:MAX_TYPES]:
        insts = (ev.get("anomalies") or {}).get(name) or []
        if not insts and name == "long-fork":     # the long-fork checker lists its forks apart
            insts = ev.get("forks") or []
        insts = [i for i in insts if isinstance(i, dict)] if isinstance(insts, list) else []
        count = (ev.get("anomaly_counts") or {}).get(name) or \
            (ev.get("fork_count") if name == "long-fork" else None) or len(insts)
        drawn = [_instance(i, section_id, ctx.new_id(f"{section_id}-cycle"), wrote)
                 for i in insts[:MAX_INSTANCES]]
        anomalies.append({"name": short(name, 60), "count": count, "instances": drawn,
                          "more": max(0, int(count or 0) - len(drawn))})
        if insts and isinstance(insts[0].get("cycle"), list):
            ctx.anomaly(f"{short(name, 40)} cycle",
                        [{"index": t} for t in insts[0]["cycle"][:8]])
    listing, unlisted = _listing(ev, ctx.history, section_id)
    return {"models": ", ".join(short(m, 40) for m in ev.get("consistency_models") or []),
            "types": ", ".join(short(t, 40) for t in types),
            "not": ", ".join(short(m, 40) for m in ev.get("not") or []),
            "also_not": ", ".join(short(m, 40) for m in ev.get("also_not") or []),
            "anomalies": anomalies, "listing": listing, "unlisted": unlisted,
            "more_types": max(0, len(types) - MAX_TYPES)}
