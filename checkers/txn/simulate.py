"""A seeded, strictly serializable list-append store, for benchmarks and tests.

Processes invoke transactions of 1–4 micro-ops (reads and appends over a
pool of live keys); each transaction takes effect atomically at one moment
between its invoke and its completion, so the history is strict
serializable by construction.  As Jepsen's list-append generator does, a
key is retired after ``max_writes_per_key`` appends and a fresh one takes
its place, which keeps reads short.

Injected anomalies pair two concurrent transactions and run them as one
step: ``g1c`` — each appends to a key the other then reads (both see both
appends: circular information flow); ``g2`` — each reads the key the other
appends, before either append lands (write skew, G2-item).
"""

from __future__ import annotations

import random
from typing import Any


def simulate_list_append(n: int, *, processes: int = 10, keys: int = 1000,
                         max_writes_per_key: int = 32, seed: int = 0, inject_g1c: int = 0,
                         inject_g2: int = 0, info_rate: float = 0.0) -> list[dict[str, Any]]:
    """``n`` transactions as JSON-able op records (invokes and completions)."""
    rnd = random.Random(seed)
    state: dict[int, list[int]] = {}
    live = list(range(keys))
    writes = [0] * keys
    next_key = keys
    next_val = [1]
    out: list[dict[str, Any]] = []
    pending: dict[int, tuple[int, list]] = {}   # process -> (txn no., invoke mops)
    done: dict[int, list] = {}                  # process -> completed mops (not yet logged)
    proc_id = list(range(processes))
    started = 0
    special = sorted(rnd.sample(range(max(n - 10, 1)), min(inject_g1c + inject_g2, max(n - 10, 1))))
    kinds = ["g1c"] * inject_g1c + ["g2"] * inject_g2
    rnd.shuffle(kinds)
    special_kind = dict(zip(special, kinds))

    def pick_key() -> int:
        nonlocal next_key
        i = rnd.randrange(len(live))
        return i

    def append_to(slot: int) -> tuple[int, int]:
        nonlocal next_key
        k = live[slot]
        v = next_val[0]
        next_val[0] += 1
        writes[slot] += 1
        if writes[slot] >= max_writes_per_key:
            live[slot] = next_key
            writes[slot] = 0
            next_key += 1
        return k, v

    def emit(p: int, typ: str, value: list) -> None:
        out.append({"index": len(out), "time": len(out), "process": proc_id[p], "type": typ,
                    "f": "txn", "value": value})

    def invoke(p: int, mops: list) -> None:
        emit(p, "invoke", [[f, k, None if f == "r" else v] for f, k, v in mops])

    def run(mops: list) -> list:
        res = []
        for f, k, v in mops:
            if f == "r":
                res.append(["r", k, list(state.get(k, ()))])
            else:
                state.setdefault(k, []).append(v)
                res.append(["append", k, v])
        return res

    def fresh_mops() -> list:
        mops = []
        for _ in range(rnd.randint(1, 4)):
            slot = pick_key()
            if rnd.random() < 0.5:
                mops.append(["r", live[slot], None])
            else:
                k, v = append_to(slot)
                mops.append(["append", k, v])
        return mops

    while started < n or pending or done:
        p = rnd.randrange(processes)
        if p in done:
            mops = done.pop(p)
            typ = "ok"
            if info_rate and rnd.random() < info_rate:
                typ = "info"
            emit(p, typ, mops)
            if typ == "info":
                proc_id[p] += processes   # a crashed process continues under a new id
            continue
        if p in pending:
            _, mops = pending.pop(p)
            done[p] = run(mops)
            continue
        if started >= n:
            continue
        kind = special_kind.get(started)
        q = next((x for x in range(processes) if x != p and x not in pending and x not in done),
                 None)
        if kind is not None and q is not None and started + 1 < n:
            # two concurrent transactions executed as one anomalous step
            a, b = pick_key(), pick_key()
            while live[b] == live[a]:
                b = pick_key()
            ka, kb = live[a], live[b]
            _, va = append_to(a)
            _, vb = append_to(b)
            if kind == "g1c":
                m1 = [["append", ka, va], ["r", kb, None]]
                m2 = [["append", kb, vb], ["r", ka, None]]
                invoke(p, m1)
                invoke(q, m2)
                state.setdefault(ka, []).append(va)
                state.setdefault(kb, []).append(vb)
                done[p] = [m1[0], ["r", kb, list(state[kb])]]
                done[q] = [m2[0], ["r", ka, list(state[ka])]]
            else:
                m1 = [["r", ka, None], ["append", kb, vb]]
                m2 = [["r", kb, None], ["append", ka, va]]
                invoke(p, m1)
                invoke(q, m2)
                r1 = ["r", ka, list(state.get(ka, ()))]
                r2 = ["r", kb, list(state.get(kb, ()))]
                state.setdefault(kb, []).append(vb)
                state.setdefault(ka, []).append(va)
                done[p] = [r1, m1[1]]
                done[q] = [r2, m2[1]]
            started += 2
            continue
        mops = fresh_mops()
        invoke(p, mops)
        pending[p] = (started, mops)
        started += 1
    return out
