"""The ``counter`` checker: every ok read must lie within what the adds
around it allow (after Jepsen's jepsen.checker/counter).

For a read invoked at position i and completed at c (history positions
respect real time):

* an add *definitely* counted if it completed ok before i;
* an add *possibly* counted if it was invoked before c and did not fail
  (ok or info — an info add may take effect at any time, or never).

With non-negative increments the read must be within [sum of definite adds,
sum of possible adds]; negative deltas widen the range the other way:
lower = definite positives + possible negatives, upper = possible positives
+ definite negatives.  Reads are judged independently per key.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .history import T_FAIL, T_OK, History
from .registry import register
from .result import UNKNOWN, CheckResult
from .stats import Pairs

MAX_BOUNDS = 2000


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_counter(history: History, init: Any = 0, add_f: str = "add", read_f: str = "read",
                  **_ignored: Any) -> CheckResult:
    t0 = time.perf_counter()
    if init is None:
        init = 0
    p = Pairs(history)
    ops = history.ops
    by_key: dict[Any, dict[str, list]] = {}
    bad_adds = 0
    for row in range(len(p)):
        f = p.f[row]
        st = p.status[row]
        inv = ops[p.invoke[row]]
        k = by_key.setdefault(inv.key if not isinstance(inv.key, list) else repr(inv.key),
                              {"adds": [], "reads": []})
        if f == add_f:
            if st == T_FAIL:
                continue
            if not _num(inv.value):
                bad_adds += 1
                continue
            k["adds"].append((p.invoke[row], p.complete[row] if st == T_OK else -1, inv.value))
        elif f == read_f and st == T_OK:
            k["reads"].append(row)

    errors: list[dict] = []
    bounds: list[list] = []
    n_reads = 0
    malformed = 0
    for key, d in by_key.items():
        adds = d["adds"]
        inv_pos = np.array([a[0] for a in adds], dtype=np.int64)
        deltas = np.array([a[2] for a in adds], dtype=np.float64)
        ok_mask = np.array([a[1] >= 0 for a in adds], dtype=bool)
        comp_pos = np.array([a[1] for a in adds], dtype=np.int64)
        # definite: ok adds by completion position
        o = np.argsort(comp_pos[ok_mask], kind="stable")
        def_pos_at = comp_pos[ok_mask][o]
        dv = deltas[ok_mask][o]
        def_plus = np.concatenate([[0.0], np.cumsum(np.maximum(dv, 0))])
        def_minus = np.concatenate([[0.0], np.cumsum(np.minimum(dv, 0))])
        # possible: ok + info adds by invoke position
        o2 = np.argsort(inv_pos, kind="stable")
        pos_at = inv_pos[o2]
        pv = deltas[o2]
        pos_plus = np.concatenate([[0.0], np.cumsum(np.maximum(pv, 0))])
        pos_minus = np.concatenate([[0.0], np.cumsum(np.minimum(pv, 0))])
        for row in d["reads"]:
            n_reads += 1
            i, c = p.invoke[row], p.complete[row]
            v = ops[c].value
            if v is None:
                v = init
            nd = int(np.searchsorted(def_pos_at, i, side="left"))
            npos = int(np.searchsorted(pos_at, c, side="left"))
            lower = init + def_plus[nd] + pos_minus[npos]
            upper = init + pos_plus[npos] + def_minus[nd]
            lo = int(lower) if float(lower).is_integer() else float(lower)
            hi = int(upper) if float(upper).is_integer() else float(upper)
            t = ops[i].time
            if not _num(v):
                malformed += 1
                errors.append({"op": p.opref(row), "lower": lo, "upper": hi, "read": v})
                bounds.append([t, lo, hi, None])
                continue
            bounds.append([t, lo, hi, v])
            if v < lower or v > upper:
                errors.append({"op": p.opref(row), "lower": lo, "upper": hi, "read": v})
    bounds.sort(key=lambda b: (b[0] is None, b[0] or 0))
    if len(bounds) > MAX_BOUNDS:
        step = len(bounds) / MAX_BOUNDS
        keep = {int(j * step) for j in range(MAX_BOUNDS)}
        err_t = {e["op"]["invoke_time"] for e in errors[:200]}
        bounds = [b for j, b in enumerate(bounds) if j in keep or b[0] in err_t]
    ev = {"reads": n_reads, "errors": errors[:1000], "bounds": bounds}
    if len(errors) > 1000:
        ev["errors_total"] = len(errors)
    if errors:
        e = errors[0]
        valid: Any = False
        summary = (f"{len(errors)} of {n_reads} reads out of bounds; e.g. read {e['read']!r} "
                   f"where [{e['lower']}, {e['upper']}] was possible (op {e['op']['index']})")
    elif n_reads == 0:
        valid = UNKNOWN
        summary = "no read succeeded, so the counter was never observed"
    elif bad_adds:
        valid = UNKNOWN
        summary = f"{bad_adds} add(s) with a non-numeric value; bounds cannot be trusted"
    else:
        valid = True
        summary = f"all {n_reads} reads within bounds"
    return CheckResult("counter", valid, summary, time.perf_counter() - t0, ev)


register("counter", check_counter,
         "every read within [acknowledged adds before it, attempted adds during it]")
