"""A causal anomaly's chain of operations as a small diagram: ops as boxes
left to right, each relation (so / wr / co / cf / hb) a labelled arrow —
forward edges arc above the boxes, backward edges (the ones closing a cycle)
arc below, so a cycle reads at a glance."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from .fmt import esc, num, opref_text
from .svg import Svg

MAX_OPS = 12
BOX_W, GAP, BOX_H = 168, 44, 46
REL_TEXT = {"so": "session order", "wr": "write → read", "co": "causal order",
            "cf": "conflict order", "hb": "happens before", "rb": "read before"}


def chain_svg(pattern: dict[str, Any], elem_id: str) -> Markup:
    ops = list(pattern.get("ops") or [])[:MAX_OPS]
    col_of = {o.get("index"): i for i, o in enumerate(ops)}
    chain = [c for c in (pattern.get("chain") or []) if c.get("from") in col_of and c.get("to") in col_of]
    n = max(len(ops), 1)
    width = 30 + n * (BOX_W + GAP)
    # Each arc's height grows with the distance it spans, plus a little per
    # edge so parallel arcs separate; the canvas is sized to the tallest.
    lifts = []
    for k, c in enumerate(chain):
        span = abs(col_of[c["to"]] - col_of[c["from"]])
        lifts.append(14 + 10 * min(span, 6) + 5 * (k % 3))
    up_max = max([lf for c, lf in zip(chain, lifts) if col_of[c["from"]] < col_of[c["to"]]],
                 default=0)
    down_max = max([lf for c, lf in zip(chain, lifts) if col_of[c["from"]] > col_of[c["to"]]],
                   default=0)
    top = 24 + 1.5 * up_max
    height = top + BOX_H + 24 + 1.5 * down_max
    svg = Svg(width, height, cls="chart causal", label="causal chain", elem_id=elem_id)
    svg.raw('<defs><marker id="arrow-' + str(esc(elem_id)) + '" viewBox="0 0 10 10" refX="9" '
            'refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
            '<path d="M0 0L10 5L0 10z" class="arrowhead"/></marker></defs>')
    centers = []
    for i, o in enumerate(ops):
        x = 20 + i * (BOX_W + GAP)
        centers.append(x + BOX_W / 2)
        svg.rect(x, top, BOX_W, BOX_H, "opbox", title=opref_text(o, 200),
                 extra=f' data-index="{esc(o.get("index"))}"')
        text = opref_text(o, 22)
        svg.text(x + 6, top + 18, f"#{o.get('index')} p{o.get('process')}", "boxhdr")
        body = text.split(" ", 1)[1] if " " in text else text
        if len(body) > 26:
            body = body[:25] + "…"
        svg.text(x + 6, top + 36, body, "boxtxt")
    for c, lift in zip(chain, lifts):
        a, b = col_of[c["from"]], col_of[c["to"]]
        rel = str(c.get("rel", "?"))
        xa, xb = centers[a], centers[b]
        if a == b:
            continue
        if a < b:
            y0 = top
            d = f"M{num(xa)} {y0} C{num(xa)} {y0 - lift * 2} {num(xb)} {y0 - lift * 2} {num(xb)} {y0}"
            ly = y0 - lift * 1.5 - 2
        else:
            y0 = top + BOX_H
            d = f"M{num(xa)} {y0} C{num(xa)} {y0 + lift * 2} {num(xb)} {y0 + lift * 2} {num(xb)} {y0}"
            ly = y0 + lift * 1.5 + 10
        svg.path(d, f"edge rel-{rel if rel.isalnum() else 'x'}",
                 title=f"#{c['from']} —{rel}→ #{c['to']} ({REL_TEXT.get(rel, rel)})",
                 extra=f' marker-end="url(#arrow-{esc(elem_id)})"')
        svg.text((xa + xb) / 2, ly, rel, "edgelbl", anchor="middle")
    return svg.render()


def chain_rows(pattern: dict[str, Any]) -> list[dict[str, str]]:
    """The chain as table rows: from op, relation, to op."""
    by_index = {o.get("index"): o for o in pattern.get("ops") or []}
    rows = []
    for c in pattern.get("chain") or []:
        rel = str(c.get("rel", "?"))
        rows.append({"from": f"#{c.get('from')} " + opref_text(by_index.get(c.get("from"))),
                     "rel": rel, "rel_text": REL_TEXT.get(rel, rel),
                     "to": f"#{c.get('to')} " + opref_text(by_index.get(c.get("to")))})
    return rows
