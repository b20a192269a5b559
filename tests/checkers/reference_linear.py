"""A slow, obviously-correct linearizability checker to test the real one against.

It pairs invokes with completions by process, then tries every order of the
ops consistent with real time: an op may go next only if no op that *must*
happen (an ``ok`` one) and has not been placed yet returned before it was
invoked.  ``fail`` ops are left out; ``info`` ops (and invokes never
completed) may be placed or left out.  Models are written here from scratch
on plain Python values, independently of ``checkers.linear``.  The only
optimisation is remembering (ops left, state) pairs that already failed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from checkers.history import History


@dataclass(frozen=True)
class ROp:
    f: str
    value: Any
    result: Any
    type: str      # ok / info / fail
    inv: int
    ret: float
    key: Any = None
    error: Any = None  # the completion's


def pair_ops(history: History) -> list[ROp]:
    open_: dict[Any, tuple[int, Any]] = {}
    out: list[ROp] = []
    for pos, op in enumerate(history.ops):
        if op.process == "nemesis":
            continue
        if op.type == "invoke":
            open_[op.process] = (pos, op)
        else:
            ipos, inv = open_.pop(op.process)
            ret = math.inf if op.type == "info" else pos
            out.append(ROp(inv.f, _freeze(inv.value), _freeze(op.value), op.type, ipos, ret,
                            inv.key, op.error))
    for ipos, inv in open_.values():
        out.append(ROp(inv.f, _freeze(inv.value), None, "info", ipos, math.inf, inv.key))
    return out


def _freeze(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v


# ---------------------------------------------------------------- models: (legal, state)

def _register(state, op: ROp, nil_unknown: bool, cas_fail_observes: bool):
    if op.f == "read":
        if op.type != "ok":
            return True, state
        if op.result is None and nil_unknown:
            return True, state
        return op.result == state, state
    if op.f == "write":
        return True, op.value
    if op.f == "cas":
        frm, to = op.value
        if op.type == "fail":
            return state != frm, state
        return (True, to) if state == frm else (False, state)
    raise ValueError(op.f)


def _counter(state, op: ROp):
    if op.f == "add":
        return True, state + op.value
    return (op.type != "ok" or op.result == state), state


def _mutex(state, op: ROp):
    if op.f == "acquire":
        return (not state), True
    return bool(state), False


def _queue(state, op: ROp):
    if op.f == "enqueue":
        return True, state + (op.value,)
    if op.type != "ok":                       # crashed dequeue: removed the head, if any
        return True, state[1:]
    if not state:
        return op.result is None, state
    return (state[0] == op.result), state[1:]


def _set(state, op: ROp):
    if op.f == "add":
        return True, state | {op.value}
    return (op.type != "ok" or frozenset(op.result) == state), state


def _append_kv(state, op: ROp):
    if op.f == "get":
        return (op.type != "ok" or (op.result or "") == state), state
    if op.f == "put":
        return True, op.value
    return True, state + op.value


def _kv(state, op: ROp, cas_fail_observes: bool):
    # the whole map as one state: no per-key splitting in the reference
    d = dict(state)
    ok, v = _register(d.get(op.key), op, False, cas_fail_observes)
    d[op.key] = v
    return ok, tuple(sorted(d.items(), key=repr))


def _multi(state, op: ROp):
    d = dict(state)
    mops = op.result if op.type == "ok" else op.value
    for f, k, v in mops:
        if f == "read":
            if op.type == "ok" and d.get(k) != v:
                return False, state
        else:
            d[k] = v
    return True, tuple(sorted(d.items()))


def _observes(op: ROp, cas_fail_observes: bool) -> bool:
    """A failed cas is an observation only when its compare failed (the client says so)."""
    return cas_fail_observes and op.f == "cas" and op.error == "cas-mismatch"


def reference_check(history: History, model: str, init: Any = None,
                    cas_fail_observes: bool = False) -> bool:
    ops = pair_ops(history)
    if model in ("register", "cas-register"):
        # Knossos' convention (see checkers/linear/models.py): when nil can never be
        # the register's value, an ok read of nil observed nothing
        written_nil = any(o.type != "fail" and ((o.f == "write" and o.value is None)
                                                or (o.f == "cas" and o.value[1] is None))
                          for o in ops)
        nil_unknown = init is not None and not written_nil
        keep = [o for o in ops if o.type != "fail" or _observes(o, cas_fail_observes)]

        def step(s, o):
            return _register(s, o, nil_unknown, cas_fail_observes)
        state0 = init
    elif model == "kv":
        keep = [o for o in ops if o.type != "fail" or _observes(o, cas_fail_observes)]

        def step(s, o):
            return _kv(s, o, cas_fail_observes)
        state0 = ()
    elif model == "counter":
        keep, step, state0 = [o for o in ops if o.type != "fail"], _counter, init or 0
    elif model == "mutex":
        keep, step, state0 = [o for o in ops if o.type != "fail"], _mutex, bool(init)
    elif model == "fifo-queue":
        keep, step, state0 = [o for o in ops if o.type != "fail"], _queue, tuple(init or ())
    elif model == "set":
        keep, step, state0 = [o for o in ops if o.type != "fail"], _set, frozenset(init or ())
    elif model == "append-kv":
        keep, step, state0 = [o for o in ops if o.type != "fail"], _append_kv, init or ""
    elif model == "multi-register":
        keep, step = [o for o in ops if o.type != "fail"], _multi
        state0 = tuple(sorted((init or {}).items()))
    else:
        raise ValueError(model)

    must = [o.type in ("ok", "fail") for o in keep]
    failed: set = set()

    def search(left: frozenset, state) -> bool:
        if not any(must[i] for i in left):
            return True
        if (left, state) in failed:
            return False
        earliest_ret = min(keep[i].ret for i in left if must[i])
        for i in left:
            if keep[i].inv > earliest_ret:
                continue
            legal, ns = step(state, keep[i])
            if legal and search(left - {i}, ns):
                return True
        failed.add((left, state))
        return False

    return search(frozenset(range(len(keep))), state0)
