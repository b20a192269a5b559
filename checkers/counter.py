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
+ definite negatives.  Reads are judged independently per key.  Sums are
exact (Python integers; float deltas as exact fractions): a float64 sum
would make 2^53 + 1 and 2^53 one number.
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from fractions import Fraction
from typing import Any, Iterable

from .history import T_FAIL, T_OK, History
from .history.columnar import intern_key
from .registry import Checker
from .result import UNKNOWN, CheckResult
from .stats import Pairs

MAX_BOUNDS = 2000


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _exact(v: int | float) -> int | Fraction:
    return v if isinstance(v, int) else Fraction(v)


def _plain(v: int | Fraction) -> int | float:
    """A bound as the evidence shows it: an int when whole, else the nearest float."""
    if isinstance(v, int):
        return v
    return int(v) if v.denominator == 1 else float(v)


def _prefix_sums(xs: Iterable[int | Fraction]) -> list[int | Fraction]:
    return [0, *itertools.accumulate(xs)]


def check_counter(history: History, init: Any = 0, add_f: str = "add", read_f: str = "read",
                  **_ignored: Any) -> CheckResult:
    t0 = time.perf_counter()
    if init is None:
        init = 0
    if not _num(init):
        raise ValueError(f"counter init must be a finite number, got {init!r}")
    p = Pairs(history)
    ops = history.ops
    by_key: dict[Any, dict[str, list]] = {}
    bad_adds = 0
    for row in range(len(p)):
        f = p.f[row]
        st = p.status[row]
        inv = ops[p.invoke[row]]
        k = by_key.setdefault(intern_key(inv.key), {"adds": [], "reads": []})
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
        # exact arithmetic: ints stay Python ints, floats become exact fractions, so
        # 2^53+1 and 2^53 stay apart (float64 sums would make them equal)
        adds = d["adds"]
        ok_adds = sorted((a for a in adds if a[1] >= 0), key=lambda a: a[1])
        def_pos_at = [a[1] for a in ok_adds]
        def_plus = _prefix_sums(max(_exact(a[2]), 0) for a in ok_adds)
        def_minus = _prefix_sums(min(_exact(a[2]), 0) for a in ok_adds)
        by_inv = sorted(adds, key=lambda a: a[0])
        pos_at = [a[0] for a in by_inv]
        pos_plus = _prefix_sums(max(_exact(a[2]), 0) for a in by_inv)
        pos_minus = _prefix_sums(min(_exact(a[2]), 0) for a in by_inv)
        for row in d["reads"]:
            n_reads += 1
            i, c = p.invoke[row], p.complete[row]
            v = ops[c].value
            if v is None:
                v = init
            nd = bisect.bisect_left(def_pos_at, i)
            npos = bisect.bisect_left(pos_at, c)
            lower = _exact(init) + def_plus[nd] + pos_minus[npos]
            upper = _exact(init) + pos_plus[npos] + def_minus[nd]
            lo, hi = _plain(lower), _plain(upper)
            t = ops[i].time
            if not _num(v):
                malformed += 1
                errors.append({"op": p.opref(row), "lower": lo, "upper": hi, "read": v})
                bounds.append([t, lo, hi, None])
                continue
            bounds.append([t, lo, hi, v])
            if _exact(v) < lower or _exact(v) > upper:
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


COUNTER = Checker("counter", check_counter,
         "every read within [acknowledged adds before it, attempted adds during it]")
