"""Models written in plain Python by users (see docs/models.md).

A user model is a subclass of :class:`PyModel` with hashable states.  It runs
through a Python transcription of the same Wing–Gong–Lowe search as the
compiled kernel (the list of call/return events, lift/unlift, a memo of
(linearized-op set, state)), so it needs no numba and no edit of the checker;
it is slower, which is the price of arbitrary Python state.
"""

from __future__ import annotations

import abc

import importlib
import importlib.util
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Hashable

import numpy as np

from ..history import T_FAIL, T_INFO, T_OK
from .models import Ctx, ModelError
from .search import MIB, PartResult

_TYPE = {T_OK: "ok", T_FAIL: "fail", T_INFO: "info"}


@dataclass(frozen=True)
class OpView:
    """What a model step sees of one op."""
    f: str
    value: Any       # the invoke's value
    result: Any      # the completion's value (None when it never completed ok)
    type: str        # "ok", "info" or (only under keep_fail) "fail"
    index: int
    key: Any = None


class PyModel(abc.ABC):
    """Subclass, set ``name``, and implement ``init`` and ``step``."""

    name = "python-model"
    partitioned = True   # split by op key when ops carry keys (independent objects)

    def init(self, init: Any) -> Hashable:
        return init

    @abc.abstractmethod
    def step(self, state: Hashable, op: OpView) -> tuple[bool, Hashable]:
        """(legal, new state).  For an ``info`` op, ``op.result`` is None: the
        step must accept any outcome it could have had."""

    def drop(self, op: OpView) -> bool:
        """Ops that constrain nothing and change nothing (default: failed ops)."""
        return op.type == "fail"

    def describe(self, state: Hashable) -> str:
        return repr(state)

    def expected(self, ctx: Ctx, row: int, states: list[str]) -> str:
        return f"{ctx.f_name(row)} is not legal from " + " or ".join(states)


class ExactCounter(PyModel):
    """The ``counter`` model in Python integers: what the compiled model hands
    over when a history's values or sums do not fit its 64-bit words."""

    name = "counter"

    def init(self, init: Any) -> Hashable:
        if init is None:
            return 0
        if isinstance(init, bool) or not isinstance(init, int):
            raise ModelError(f"the initial counter must be an integer, got {init!r}")
        return init

    def step(self, state: Hashable, op: OpView) -> tuple[bool, Hashable]:
        if op.f not in ("add", "read"):
            raise ModelError(f"model 'counter' has no operation '{op.f}' (op index "
                             f"{op.index}); expected one of: add, read")
        v = op.value if op.f == "add" else op.result
        if op.f == "read" and op.type != "ok":
            return True, state  # nobody saw what it read
        if isinstance(v, bool) or not isinstance(v, int):
            what = "an add's delta" if op.f == "add" else "a counter read"
            raise ModelError(f"{what} must be an integer, got {v!r} (op index {op.index})")
        if op.f == "add":
            return True, state + v
        return v == state, state

    def expected(self, ctx: Ctx, row: int, states: list[str]) -> str:
        if ctx.f_name(row) == "read":
            return "read " + " or ".join(states)
        return "counter was " + " or ".join(states)


def load_user_model(spec: str) -> PyModel:
    """``package.module:Class`` or ``path/to/file.py:Class``."""
    target, _, attr = spec.rpartition(":")
    try:
        if target.endswith(".py"):
            if not os.path.exists(target):
                raise ModelError(f"model file {target!r} does not exist")
            s = importlib.util.spec_from_file_location(
                "splitbrain_user_model_" + os.path.basename(target)[:-3], target)
            mod = importlib.util.module_from_spec(s)
            assert s.loader is not None
            s.loader.exec_module(mod)
        else:
            mod = importlib.import_module(target)
    except ModelError:
        raise
    except Exception as e:  # a user's module: any import error becomes one line
        raise ModelError(f"cannot load model {spec!r}: {type(e).__name__}: {e}") from None
    cls = getattr(mod, attr, None)
    if cls is None:
        raise ModelError(f"model {spec!r}: {target} has no attribute {attr!r}")
    inst = cls() if isinstance(cls, type) else cls
    if not isinstance(inst, PyModel):
        raise ModelError(f"model {spec!r} is not a checkers.linear.PyModel subclass")
    return inst


# Budgets are looked at every this many search steps (a step is one model call
# or one backtrack: microseconds, so the budget is overshot by milliseconds).
BUDGET_EVERY = 4096
# Bytes one memo entry costs beyond what sys.getsizeof sees of its parts: the
# set's own table is measured whole (sys.getsizeof(memo)); a (bitset, state)
# tuple is 56 bytes, plus the bitset int and the state's shallow size.
_MEMO_TUPLE_BYTES = sys.getsizeof((0, 0))


def run_python_model(m: PyModel, ctx: Ctx, rows: np.ndarray, *,
                     deadline: float | None,
                     memory_limit_mib: float | None = None) -> PartResult:
    """The search over one key's ops, within a time and a memory budget (the memo
    of configurations is what grows; it is measured, shallowly, as it grows — the
    same budget the compiled search counts its tables against)."""
    t0 = time.perf_counter()
    mem_limit = None if memory_limit_mib is None else memory_limit_mib * MIB
    ops = ctx.ops
    views: list[OpView] = []
    keep: list[int] = []
    for r in rows.tolist():
        st = int(ops.status[r])
        comp = int(ops.complete[r])
        kc = int(ops.key[r])
        v = OpView(f=ctx.f_name(r), value=ctx.inv_value(r),
                   result=ctx.ret_value(r) if st == T_OK and comp >= 0 else None,
                   type=_TYPE.get(st, "info"), index=int(ctx.col.index[int(ops.invoke[r])]),
                   key=ctx.col.keys[kc] if kc >= 0 else None)
        if not m.drop(v):
            views.append(v)
            keep.append(r)
    kept = np.array(keep, np.int64)
    n = len(views)
    inv = ops.invoke[kept].astype(np.int64)
    comp = ops.complete[kept]
    st = ops.status[kept]
    ret = np.where((st == T_INFO) | (comp < 0), ctx.n_positions + kept, comp).astype(np.int64)
    must = [int(s) != T_INFO for s in st.tolist()]
    # events: entry 0 is the head, entries 1..2n in real-time order
    order = np.argsort(np.concatenate([inv, ret]), kind="stable").tolist()
    ev_op = [-1] + [o % n for o in order]
    ev_call = [False] + [o < n for o in order]
    call_entry = [0] * n
    ret_entry = [0] * n
    for e, o in enumerate(order, start=1):
        if o < n:
            call_entry[o] = e
        else:
            ret_entry[o - n] = e
    nxt = list(range(1, 2 * n + 2))
    nxt[2 * n] = -1
    prv = list(range(-1, 2 * n))

    def unlink(e: int) -> None:
        nxt[prv[e]] = nxt[e]
        if nxt[e] >= 0:
            prv[nxt[e]] = prv[e]

    def relink(e: int) -> None:
        nxt[prv[e]] = e
        if nxt[e] >= 0:
            prv[nxt[e]] = e

    try:
        state = m.init(ctx.init)
    except Exception as e:
        raise ModelError(f"model {m.name!r} cannot start from init {ctx.init!r}: "
                         f"{type(e).__name__}: {e}") from None
    remain = sum(must)
    linearized = 0
    stack: list[tuple[int, Hashable]] = []
    memo: set[tuple[int, Hashable]] = set()
    memo_bytes = 0  # the memo's entries, beyond its table
    best_entry, best_prefix, best_states = 0, [], []
    entry = nxt[0]
    budget_hit = None
    status = None
    steps = 0
    while True:
        steps += 1
        if remain == 0:
            status = True
            break
        if steps % BUDGET_EVERY == 0:
            if deadline is not None and time.monotonic() > deadline:
                budget_hit = "time"
                break
            if mem_limit is not None and memo_bytes + sys.getsizeof(memo) > mem_limit:
                budget_hit = "memory"
                break
        o = ev_op[entry]
        if ev_call[entry]:
            try:
                legal, ns = m.step(state, views[o])
            except Exception as e:  # a user's code: report it as one line naming the op
                raise ModelError(f"model {m.name!r} failed on {ctx.op_where(int(kept[o]))} "
                                 f"({views[o].f}): {type(e).__name__}: {e}") from None
            if legal:
                lin2 = linearized | (1 << o)
                if (lin2, ns) not in memo:
                    memo.add((lin2, ns))
                    memo_bytes += _MEMO_TUPLE_BYTES + sys.getsizeof(lin2) + sys.getsizeof(ns)
                    stack.append((o, state))
                    state, linearized = ns, lin2
                    remain -= must[o]
                    unlink(call_entry[o])
                    unlink(ret_entry[o])
                    entry = nxt[0]
                    continue
            entry = nxt[entry]
            continue
        if entry > best_entry:
            best_entry, best_prefix, best_states = entry, [p for p, _ in stack], [state]
        elif entry == best_entry and state not in best_states and len(best_states) < 8:
            best_states.append(state)
        if not stack:
            status = False
            break
        p, state = stack.pop()
        linearized &= ~(1 << p)
        remain += must[p]
        relink(ret_entry[p])
        relink(call_entry[p])
        entry = nxt[call_entry[p]]

    res = PartResult(valid=status if budget_hit is None else "unknown", ops=n,
                     elapsed_s=time.perf_counter() - t0, configurations=len(memo), steps=steps,
                     budget_hit=budget_hit)
    if status is True:
        res.final_states = [state]
    elif best_entry > 0:
        fop = ev_op[best_entry]
        res.fail_op = fop
        res.prefix = best_prefix
        res.states = best_states
        pre = set(best_prefix)
        res.concurrent = [o for o in range(n) if o != fop and o not in pre and inv[o] < ret[fop]]
    res.rows = kept  # type: ignore[attr-defined]
    return res
