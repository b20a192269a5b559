"""The staleness chart of a linearizable result: each stale read's staleness
(seconds its value had already been overwritten when it began) over time,
with the fault windows shaded (evidence: docs/evidence.md, "staleness")."""

from __future__ import annotations

from typing import Any

import numpy as np
from markupsafe import Markup

from .charts import ChartLayout
from .data import Axis
from .faults import Faults


def staleness_summary(st: dict[str, Any]) -> str:
    """One line: Δ, the worst read, how many reads were stale."""
    d = st.get("delta_s")
    delta = ("unknown" if not st.get("delta_known") else
             "none makes the reads consistent" if d is None else f"{d:.3g} s")
    return (f"{st.get('stale_reads', 0)} of {st.get('reads', 0)} reads stale; at most "
            f"{float(st.get('max_s') or 0):.3g} s and {st.get('max_versions', 0)} versions "
            f"behind (p50 {float(st.get('p50_s') or 0):.3g} s, p99 "
            f"{float(st.get('p99_s') or 0):.3g} s); smallest Δ: {delta}"
            + (f"; {st['during']}" if st.get("during") else "") + _inside_outside(st))


def _inside_outside(st: dict[str, Any]) -> str:
    f = st.get("faults")
    sides = ("inside", "outside")
    if not isinstance(f, dict) or not all(isinstance(f.get(k), dict) for k in sides):
        return ""
    return "; " + ", ".join(
        f"{k} fault windows: p99 {float(f[k].get('p99_s') or 0):.3g} s, max "
        f"{float(f[k].get('max_s') or 0):.3g} s over {f[k].get('reads', 0)} reads"
        for k in sides)


def staleness_svg(st: dict[str, Any], axis: Axis, faults: Faults | None) -> Markup | None:
    pts = [p for p in st.get("points") or [] if isinstance(p, (list, tuple)) and len(p) >= 2
           and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in p[:2])]
    if not pts or not axis.timed:
        return None
    t = np.array([float(axis.at(float(p[0]))) for p in pts])
    y = np.array([float(p[1]) for p in pts])
    xpad = (float(t.max()) - float(t.min())) * 0.03 or 1e-3
    lay = ChartLayout("staleness", "read staleness over time", 200,
                      (float(t.min()) - xpad, float(t.max()) + xpad),
                      (0.0, float(y.max()) * 1.1 or 1e-6),
                      [("fail", "stale read (s its value had been overwritten)")], faults)
    svg, fr = lay.svg, lay.fr
    lay.shade()
    fr.axes(f"time ({axis.unit})", "staleness (s)")
    svg.path("".join(f"M{fr.px(a) - 2.5:.1f} {fr.py(b):.1f}a2.5 2.5 0 1 0 5 0"
                     f"a2.5 2.5 0 1 0 -5 0" for a, b in zip(t, y)), "pt fail")
    return svg.render()
