"""The ``linearizable`` checker: history in, CheckResult out (evidence shape in
docs/evidence.md, section "linearizable")."""

from __future__ import annotations

import numbers
import time
from typing import Any

import numpy as np

from ..history import T_FAIL, T_INFO, T_OK, Columnar, History, Operations
from ..op_errors import CAS_MISMATCH
from ..progress import Progress
from ..result import UNKNOWN, CheckResult, merge_verdicts
from .encode import Partition, ValueTable, show
from .models import BUILTIN, Ctx, ModelError, Unrepresentable
from .partition import split_rows
from .readable import show_value
from .search import PartResult, warm_up
from .staleness import bounded_staleness, staleness_evidence, staleness_note
from .unique import UniqueResult, decide_parts

MAX_VALID_LISTED = 1000
MAX_LISTED_OPS = 200
DEFAULT_MEMORY_MIB = 3072.0
_TYPE = {T_OK: "ok", T_FAIL: "fail", T_INFO: "info"}


def opref(ctx: Ctx, row: int) -> dict[str, Any]:
    col, ops = ctx.col, ctx.ops
    inv = int(ops.invoke[row])
    comp = int(ops.complete[row])
    kc = int(ops.key[row])
    it = int(ops.invoke_time[row])
    ct = int(ops.complete_time[row])
    lines = col.lines
    return {"index": int(col.index[inv]),
            "complete_index": int(col.index[comp]) if comp >= 0 else None,
            "line": int(lines[inv]) if lines is not None else None,
            "complete_line": int(lines[comp]) if lines is not None and comp >= 0 else None,
            "process": int(ops.process[row]),
            "f": col.f_names[int(ops.f[row])],
            "key": col.keys[kc] if kc >= 0 else None,
            "value": col.values[int(ops.invoke_value[row])],
            "result": col.values[int(ops.complete_value[row])] if comp >= 0 else None,
            "type": _TYPE.get(int(ops.status[row]), "info"),
            "invoke_time": it if it >= 0 else None,
            "complete_time": ct if ct >= 0 and comp >= 0 else None}


def cas_mismatches(history: History, col: Columnar, ops: Operations) -> np.ndarray:
    """Per op row: a failed cas whose client recorded that its compare failed.  A cas
    that failed for any other reason (never sent, no primary, its read timed out)
    observed nothing, so under ``cas_fail_observes`` it is still a plain fail."""
    out = np.zeros(len(ops), np.bool_)
    cas = col.f_code("cas")
    if cas < 0:
        return out
    hops = history.ops
    for r in np.flatnonzero((ops.f == cas) & (ops.status == T_FAIL)).tolist():
        out[r] = hops[int(ops.complete[r])].error == CAS_MISMATCH
    return out


def resolve_model(model: Any) -> Any:
    """A built-in model instance, or a user's Python model (see docs/models.md)."""
    from .pymodel import PyModel, load_user_model
    if isinstance(model, PyModel):
        return model
    if isinstance(model, type) and issubclass(model, PyModel):
        return model()
    if model is None:
        model = "cas-register"
    if not isinstance(model, str):
        raise ModelError(f"model must be a name or a PyModel, got {model!r}")
    if model in BUILTIN:
        return BUILTIN[model]()
    if ":" in model:
        return load_user_model(model)
    raise ModelError(f"unknown model {model!r}: expected one of {', '.join(BUILTIN)} "
                     f"or MODULE:CLASS / FILE.py:CLASS for a Python model")


def budget(name: str, v: Any, unit: str) -> float | None:
    """A time or memory limit as a float (``inf``: no limit), or None for the
    default; anything else (a string, a bool, NaN, a negative number) is refused
    with the option's name, so that the one-by-one and the batch path agree."""
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v >= 0:
        raise ModelError(f"{name} must be a number of {unit} >= 0 (inf: no limit), got {v!r}")
    return float(v)


def check_linearizable(history: History, model: Any = "cas-register", init: Any = None,
                       cas_fail_observes: bool = False, time_limit: float | None = None,
                       memory_limit: float | None = None, workers: int | None = None,
                       progress: Progress | None = None, algorithm: str = "auto",
                       max_staleness_s: float | None = None, **_ignored: Any) -> CheckResult:
    # the columnar view belongs to loading (it is built once per History and shared by
    # every checker), so the clock starts after it
    col = history.columnar()
    m = resolve_model(model)
    from .pymodel import PyModel, run_python_model
    if not isinstance(m, PyModel):
        # numba's once-per-process start (its runtime, the kernel's cache) is
        # loading too; after the first call this is a 2-op search, microseconds
        warm_up()
    if max_staleness_s is not None and (isinstance(max_staleness_s, bool) or not isinstance(
            max_staleness_s, (int, float)) or not max_staleness_s >= 0):
        raise ModelError(f"max_staleness_s must be a number of seconds >= 0, got "
                         f"{max_staleness_s!r}")
    time_limit = budget("time_limit", time_limit, "seconds")
    memory_limit = budget("memory_limit", memory_limit, "MiB")
    t0 = time.perf_counter()
    deadline = None if time_limit is None else time.monotonic() + time_limit
    mem = DEFAULT_MEMORY_MIB if memory_limit is None else memory_limit
    ops = col.operations()
    ctx = Ctx(col=col, ops=ops, vt=ValueTable(col), init=init,
              cas_mismatch=(cas_mismatches(history, col, ops) if cas_fail_observes
                            else np.zeros(len(ops), np.bool_)),
              n_positions=len(col))
    keyed = bool(getattr(m, "partitioned", True)) and bool((ops.key >= 0).any())
    if keyed:
        groups = [(col.keys[kc] if kc >= 0 else None, rows)
                  for kc, rows in split_rows(ops.key.astype(np.int64))]
    else:
        groups = [(None, np.arange(len(ops), dtype=np.int64))]

    parts: list[Partition] = []
    if not isinstance(m, PyModel):
        try:
            parts = m.encode_many(ctx, groups)
        except Unrepresentable:
            twin = m.exact_twin()
            if twin is None:
                raise
            m = twin  # exact Python values where the compiled words would round or wrap

    on_start, on_done = _progress_hooks(progress, groups)
    if isinstance(m, PyModel):
        results = []
        for i, (_, rows) in enumerate(groups):
            on_start(i)
            results.append(run_python_model(m, ctx, rows, deadline=deadline,
                                            memory_limit_mib=mem))
            on_done(i, results[-1])
        parts_rows = [r.rows for r in results]
        describe = lambda raw: m.describe(raw)  # noqa: E731
        name = m.name
    else:
        results = decide_parts(parts, algorithm, deadline=deadline, memory_limit_mib=mem,
                               workers=workers, on_start=on_start, on_done=on_done, ctx=ctx)
        parts_rows = [p.rows for p in parts]
        describe = lambda raw: m.describe(raw, ctx)  # noqa: E731
        name = m.name

    keys_ev: list[tuple[int, int, dict]] = []
    for i, ((key, _), res, rows) in enumerate(zip(groups, results, parts_rows)):
        keys_ev.append((_rank(res.valid), i, _key_evidence(ctx, m, key, res, rows, describe)))
    keys_ev.sort(key=lambda t: (t[0], t[1]))
    listed = [e for r, _, e in keys_ev if r < 2]
    valid_keys = [e for r, _, e in keys_ev if r == 2]
    listed.extend(valid_keys[:MAX_VALID_LISTED])
    verdict = merge_verdicts(r.valid for r in results)
    evidence: dict[str, Any] = {
        "model": name, "init": init, "keys_checked": len(groups), "keys": listed,
        "ops": int(sum(r.ops for r in results)),
        "configurations": int(sum(r.configurations for r in results)),
        "algorithm": _algorithm(results)}
    if len(valid_keys) > MAX_VALID_LISTED:
        evidence["valid_keys_not_listed"] = len(valid_keys) - MAX_VALID_LISTED
    if verdict is True and len(results) == 1 and results[0].final_states:
        evidence["final_state"] = describe(results[0].final_states[0])
    summary = _summary(verdict, listed, len(groups), evidence["ops"], keyed, col.source)
    if not isinstance(m, PyModel):
        st = staleness_evidence(ctx, parts, results, deadline)
        if st is not None:
            evidence["staleness"] = st
            summary += staleness_note(st)
    if max_staleness_s is not None:
        evidence["linearizable"], evidence["max_staleness_s"] = verdict, float(max_staleness_s)
        verdict, summary = bounded_staleness(verdict, evidence.get("staleness"),
                                             float(max_staleness_s), summary)
    return CheckResult("linearizable", verdict, summary, time.perf_counter() - t0, evidence)


def _progress_hooks(progress: Progress | None, groups: list[tuple[Any, np.ndarray]]):
    """(on_start(i), on_done(i, result)) telling ``progress`` about group i."""
    if progress is None:
        return (lambda i: None), (lambda i, r: None)
    progress.begin(len(groups))

    def label(i: int) -> str:
        key = groups[i][0]
        return "(whole history)" if key is None else show(key)

    # no total: a search has no known length, so its bar pulses with the elapsed time
    return ((lambda i: progress.start_key(label(i))),
            (lambda i, r: progress.finish_key(label(i), r.valid)))


def _algorithm(results: list[PartResult]) -> str:
    used = {r.algorithm if isinstance(r, UniqueResult) else "wgl" for r in results}
    return used.pop() if len(used) == 1 else ("mixed" if used else "wgl")


def _rank(v: Any) -> int:
    return 0 if v is False else (2 if v is True else 1)


def _key_evidence(ctx: Ctx, m: Any, key: Any, res: PartResult, rows: np.ndarray,
                  describe) -> dict[str, Any]:
    ev: dict[str, Any] = {"key": key, "valid": res.valid, "ops": res.ops,
                          "elapsed_s": round(res.elapsed_s, 6),
                          "explored": {"configurations": res.configurations,
                                       "budget_hit": res.budget_hit},
                          "algorithm": res.algorithm if isinstance(res, UniqueResult) else "wgl"}
    if res.valid is True or res.fail_op is None:
        return ev
    row = int(rows[res.fail_op])
    if hasattr(m, "explain"):
        # models whose states are fingerprints name the values behind them
        states, expected = m.explain(ctx, rows, res.prefix, res.states, row)
    else:
        states = [describe(s) for s in res.states]
        expected = m.expected(ctx, row, states) if hasattr(m, "expected") else ""
    prefix = [opref(ctx, int(rows[o])) for o in res.prefix]
    failure = {
        "op": opref(ctx, row),
        "prefix": prefix[-MAX_LISTED_OPS:],
        "prefix_length": len(prefix),
        "states_before": states,
        "expected": expected,
        "concurrent": [opref(ctx, int(rows[o])) for o in res.concurrent[:MAX_LISTED_OPS]],
    }
    if isinstance(res, UniqueResult) and res.reason:
        # no search ran, so no prefix: the ops that force the failure instead
        failure["why"] = res.reason
        failure["expected"] = res.expected or failure["expected"]
        failure["witnesses"] = [opref(ctx, int(rows[o])) for o in res.witnesses]
    if res.valid == UNKNOWN:
        # what the search had reached when the budget ran out; not a verdict
        failure["note"] = "furthest point explored before the budget ran out"
    ev["failure"] = failure
    return ev


def _summary(verdict: Any, listed: list[dict], n_keys: int, n_ops: int, keyed: bool,
             source: str | None = None) -> str:
    where = (f"{n_keys} key{'' if n_keys == 1 else 's'}, " if keyed else "")
    if verdict is True:
        return f"linearizable ({where}{n_ops} ops)"
    if verdict is False:
        bad = [k for k in listed if k["valid"] is False]
        k0 = bad[0]
        f = k0.get("failure") or {}
        op = f.get("op") or {}
        kp = f"key {show(k0['key'])}: " if keyed else ""
        more = f" (and {len(bad) - 1} more keys)" if len(bad) > 1 else ""
        desc = str(op.get("f"))
        if op.get("value") is not None:
            desc += " " + show_value(op.get("value"))
        if op.get("type") == "ok" and op.get("result") != op.get("value"):
            desc += " -> " + show_value(op.get("result"))
        elif op.get("type") != "ok":
            desc += f" ({op.get('type')})"
        at = ""
        if op.get("line") is not None:
            at = f", {source}:{op['line']}" if source else f", line {op['line']}"
        return (f"not linearizable: {kp}{desc} (index {op.get('index')}, process "
                f"{op.get('process')}{at}) cannot be linearized; expected {f.get('expected')}"
                f"{more}")
    unk = [k for k in listed if k["valid"] == UNKNOWN]
    hits = sorted({str(k["explored"]["budget_hit"]) for k in unk})
    return (f"unknown: {'/'.join(hits)} budget hit on {len(unk)} of {n_keys} "
            f"{'keys' if keyed else 'histories'}; no violation found in what was explored")
