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
"""

from __future__ import annotations

import random
from collections import deque

from checkers.history import History, Op


def simulate(n_ops: int, *, sessions: int = 50, keys: int = 1000, replicas: int = 5,
             mean_lag: float = 50.0, read_ratio: float = 0.5, mode: str = "lww",
             info_rate: float = 0.0, fail_rate: float = 0.0, seed: int = 0,
             init: object = None) -> History:
    """Run ``n_ops`` client operations; returns their history (invoke + completion each)."""
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
    ops: list[Op] = []
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
                ops.append(Op(len(ops), step * 1000, process[s], "invoke", "read", key, None))
                inflight[s] = ("read", key, None)
            else:
                next_val[key] += 1
                val = next_val[key]
                ops.append(Op(len(ops), step * 1000, process[s], "invoke", "write", key, val))
                inflight[s] = ("write", key, val)
            continue
        f, key, val = fl
        inflight[s] = None
        deliver(q)
        p = process[s]
        t = step * 1000
        if fail_rate and rng.random() < fail_rate:
            ops.append(Op(len(ops), t, p, "fail", f, key, val, error="simulated-failure"))
            continue
        if f == "read":
            cur = store[q].get(key)
            ops.append(Op(len(ops), t, p, "ok", "read", key, init if cur is None else cur[0]))
            continue
        if info_rate and rng.random() < info_rate:
            if rng.random() < 0.5:
                local_write(q, key, val)
            ops.append(Op(len(ops), t, p, "info", "write", key, val, error="simulated-timeout"))
            process[s] = next_process
            next_process += 1
            continue
        local_write(q, key, val)
        ops.append(Op(len(ops), t, p, "ok", "write", key, val))
    return History(ops=ops, source=f"simulate(seed={seed})")
