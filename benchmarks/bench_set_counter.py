"""The ``set`` and ``counter`` checkers on simulated histories: seconds per check.

    python benchmarks/bench_set_counter.py --ops 200000 --keys 4

Histories are built in memory (concurrent adds and reads over ``--processes``
clients, every op ok), so the figures are checking time, not loading.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._machine import machine  # noqa: E402
from checkers import registry  # noqa: E402
from checkers.history import History, Op  # noqa: E402


def _apply(kind: str, state: dict, f: str, key: str, v: object) -> object:
    """The op's effect on ``state``; the value its completion records."""
    if f == "add":
        if kind == "set":
            state.setdefault(key, set()).add(v)
        else:
            state[key] = state.get(key, 0) + v
        return v
    cur = state.get(key, set() if kind == "set" else 0)
    return sorted(cur) if kind == "set" else cur


def simulate(kind: str, ops: int, keys: int, processes: int, read_every: int,
             seed: int) -> History:
    """Each process invokes, then completes a little later; reads see the exact
    state at their completion (a valid history)."""
    rng = random.Random(seed)
    out: list[Op] = []
    state: dict[str, object] = {}
    pending: dict[int, tuple[str, str, object]] = {}
    next_elem = 0
    for _ in range(ops):
        p = rng.randrange(processes)
        if p in pending:
            f, key, v = pending.pop(p)
            out.append(Op(index=len(out), time=len(out), process=p, type="ok", f=f, key=key,
                          value=_apply(kind, state, f, key, v)))
            continue
        key = f"k{rng.randrange(keys)}"
        if rng.randrange(read_every) == 0:
            pending[p] = ("read", key, None)
        else:
            v = next_elem if kind == "set" else rng.randrange(1, 5)
            next_elem += 1
            pending[p] = ("add", key, v)
        f, key, v = pending[p]
        out.append(Op(index=len(out), time=len(out), process=p, type="invoke", f=f, key=key,
                      value=v))
    for p, (f, key, v) in sorted(pending.items()):  # complete what is in flight
        out.append(Op(index=len(out), time=len(out), process=p, type="ok", f=f, key=key,
                      value=_apply(kind, state, f, key, v)))
    for k in range(keys):  # a final read of every key
        out.append(Op(index=len(out), time=len(out), process=0, type="invoke", f="read",
                      key=f"k{k}"))
        out.append(Op(index=len(out), time=len(out), process=0, type="ok", f="read",
                      key=f"k{k}", value=_apply(kind, state, "read", f"k{k}", None)))
    return History(ops=out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", type=int, default=200_000)
    ap.add_argument("--keys", type=int, default=4)
    ap.add_argument("--processes", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(machine())
    for kind, read_every in (("set", 50), ("counter", 5)):
        h = simulate(kind, args.ops, args.keys, args.processes, read_every, seed=1)
        h.columnar()  # loading, not checking
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            r = registry.run(kind, h)
            best = min(best, time.perf_counter() - t0)
        print(f"{kind}: {len(h)} ops, {args.keys} keys: {r.valid} — best of {args.repeat}: "
              f"{best:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
