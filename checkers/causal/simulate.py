"""A simulated causally consistent key/value store with replication lag,
recorded as a history — valid input for the causal checker by construction.

Replicas apply their own clients' writes at once and ship them to the
other replicas, which apply them after a random lag and only in causal
order: a write carries the origin replica's applied-vector at the time it
was made (the classic causal broadcast of Birman/Schiper/Ahamad et al.),
and a replica holds a remote write back until it has applied all of them.
Sessions (client processes) stick to one replica.

``mode="lww"``: replicas keep, per key, the write with the largest
(Lamport time, origin) — a single arbitration order extending causality,
so histories satisfy CCv (and CC).  ``mode="arrival"``: replicas keep the
last write applied, so each replica's apply order serialises its own
sessions' views — histories satisfy CM (and CC) but may violate CCv.

``info_rate``: a write times out; it took effect or not (a coin), the
completion is ``info`` and the process is retired: the next op of that
client runs as a new process (Jepsen's convention), i.e. a new session.
``fail_rate``: an op fails without effect.

:func:`simulate_columnar` runs the same store (same seed, same history)
but records straight into the columnar view the checkers read, without
an Op object or a record dict per op: ten million ops fit in a few GiB.
"""

from __future__ import annotations

import random
from array import array
from collections import deque
from typing import Any, Callable

import numpy as np

from checkers.history import Columnar, History, Interner, Op

# emit(time, process, type, f, key, value, error, invoke position or -1)
Emit = Callable[[int, int, str, str, int, Any, Any, int], int]


def simulate(n_ops: int, **options: Any) -> History:
    """Run ``n_ops`` client operations; returns their history (invoke +
    completion each).  Options: see :func:`_run`."""
    ops: list[Op] = []

    def emit(t: int, p: int, typ: str, f: str, key: int, val: Any, error: Any, inv: int) -> int:
        ops.append(Op(len(ops), t, p, typ, f, key, val, error=error))
        return len(ops) - 1

    _run(n_ops, emit, **options)
    return History(ops=ops, source=f"simulate(seed={options.get('seed', 0)})")


def simulate_columnar(n_ops: int, **options: Any) -> History:
    """:func:`simulate`'s history as a columnar view only (``ops`` empty):
    for histories too large for Op objects, checked without a violation
    (the evidence of one names ops through them)."""
    cols = {name: array("q") for name in ("time", "process", "type", "f", "key", "value", "pair")}
    types = {"invoke": 0, "ok": 1, "fail": 2, "info": 3}
    f_codes = {"read": 0, "write": 1}
    keys, values = Interner(none_first=False), Interner(none_first=True)
    kcodes: dict[int, int] = {}
    vcodes: dict[Any, int] = {None: 0}
    append = [cols[c].append for c in ("time", "process", "type", "f", "key", "value", "pair")]
    pair = cols["pair"]

    def emit(t: int, p: int, typ: str, f: str, key: int, val: Any, error: Any, inv: int) -> int:
        kc = kcodes.get(key)
        if kc is None:
            kc = kcodes[key] = keys.code(key)
        vc = vcodes.get(val)
        if vc is None:
            vc = vcodes[val] = values.code(val)
        pos = len(pair)
        for a, v in zip(append, (t, p, types[typ], f_codes[f], kc, vc, inv)):
            a(v)
        if inv >= 0:
            pair[inv] = pos
        return pos

    _run(n_ops, emit, **options)
    arr = {c: np.frombuffer(cols[c], np.int64).copy() for c in cols}
    col = Columnar(index=np.arange(len(pair), dtype=np.int64), time=arr["time"],
                   process=arr["process"], type=arr["type"].astype(np.int8),
                   f=arr["f"].astype(np.int32), key=arr["key"], value=arr["value"],
                   pair=arr["pair"], f_names=list(f_codes), keys=keys.items,
                   values=values.items, _f_codes=dict(f_codes), _values=values, _keys=keys)
    return History(records=[], source=f"simulate_columnar(seed={options.get('seed', 0)})",
                   columnar=col)


def _run(n_ops: int, emit: Emit, *, sessions: int = 50, keys: int = 1000, replicas: int = 5,
         mean_lag: float = 50.0, read_ratio: float = 0.5, mode: str = "lww",
         info_rate: float = 0.0, fail_rate: float = 0.0, seed: int = 0,
         init: object = None) -> None:
    if mode not in ("lww", "arrival"):
        raise ValueError(f"mode must be 'lww' or 'arrival', got {mode!r}")
    rng = random.Random(seed)
    R = max(1, replicas)
    store: list[dict] = [{} for _ in range(R)]          # key -> (value, lamport, origin)
    applied = [[0] * R for _ in range(R)]                 # applied[q][o]: writes of o applied at q
    lamport = [0] * R
    pending = [[deque() for _ in range(R)] for _ in range(R)]  # [q][o] FIFO of messages
    next_val = [0] * keys
    replica_of = [s % R for s in range(sessions)]
    process = list(range(sessions))
    next_process = sessions
    inflight: list[tuple | None] = [None] * sessions
    step = 0
    done = 0

    def deliver(q: int) -> None:
        aq = applied[q]
        progress = True
        while progress:
            progress = False
            for o in range(R):
                pq = pending[q][o]
                while pq:
                    due, seq, deps, key, val, lam = pq[0]
                    if due > step or aq[o] != seq - 1:
                        break
                    if any(deps[j] > aq[j] for j in range(R) if j != o):
                        break
                    pq.popleft()
                    aq[o] = seq
                    apply(q, key, val, lam, o)
                    progress = True

    def apply(q: int, key: int, val: int, lam: int, origin: int) -> None:
        if lam > lamport[q]:
            lamport[q] = lam
        cur = store[q].get(key)
        if mode == "arrival" or cur is None or (lam, origin) > (cur[1], cur[2]):
            store[q][key] = (val, lam, origin)

    def local_write(q: int, key: int, val: int) -> None:
        lamport[q] += 1
        lam = lamport[q]
        applied[q][q] += 1
        deps = tuple(applied[q])
        apply(q, key, val, lam, q)
        for r in range(R):
            if r != q:
                lag = int(rng.expovariate(1.0 / mean_lag)) if mean_lag > 0 else 0
                pending[r][q].append((step + lag, applied[q][q], deps, key, val, lam))

    while done < n_ops or any(f is not None for f in inflight):
        step += 1
        s = rng.randrange(sessions)
        q = replica_of[s]
        fl = inflight[s]
        if fl is None:
            if done >= n_ops:
                continue
            done += 1
            key = rng.randrange(keys)
            if rng.random() < read_ratio:
                at = emit(step * 1000, process[s], "invoke", "read", key, None, None, -1)
                inflight[s] = ("read", key, None, at)
            else:
                next_val[key] += 1
                val = next_val[key]
                at = emit(step * 1000, process[s], "invoke", "write", key, val, None, -1)
                inflight[s] = ("write", key, val, at)
            continue
        f, key, val, at = fl
        inflight[s] = None
        deliver(q)
        p = process[s]
        t = step * 1000
        if fail_rate and rng.random() < fail_rate:
            emit(t, p, "fail", f, key, val, "simulated-failure", at)
            continue
        if f == "read":
            cur = store[q].get(key)
            emit(t, p, "ok", "read", key, init if cur is None else cur[0], None, at)
            continue
        if info_rate and rng.random() < info_rate:
            if rng.random() < 0.5:
                local_write(q, key, val)
            emit(t, p, "info", "write", key, val, "simulated-timeout", at)
            process[s] = next_process
            next_process += 1
            continue
        local_write(q, key, val)
        emit(t, p, "ok", "write", key, val, None, at)
