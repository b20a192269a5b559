"""A deterministic virtual-time interpreter: runs a generator against
instant, never-failing "clients" of fixed latency.  Used to show that a
generator's schedule (which thread gets which op, and when) depends only on
the seed, and to preview a spec's ops without a cluster."""

from __future__ import annotations

import heapq
import random
from typing import Any, Callable

from .core import NEMESIS_THREAD, PENDING, GenContext, Gen, bind, listens


def simulate(gen: Gen, *, concurrency: int, seed: int | random.Random | None = None,
             latency_s: float = 0.001, with_nemesis: bool = True, max_ops: int = 100_000,
             max_time_s: float = 3600.0,
             outcome: Callable[[dict], str] | None = None) -> list[dict]:
    """Run ``gen`` in virtual time; returns the invocations in order, each
    ``{"time", "thread", "process", "f", "key", "value"}``.  Binds ``gen``
    to ``seed`` first unless ``seed`` is None (already bound).  Every op ends
    ``outcome(op)`` (default "ok"), which listening generators hear (``Gen.update``)."""
    if seed is not None:
        bind(gen, seed)
    ctx = GenContext(concurrency, with_nemesis)
    lat = max(1, int(latency_s * 1e9))
    hears = listens(gen)
    end = int(max_time_s * 1e9)
    threads = list(ctx.threads)
    free = list(threads)
    done: set = set()
    busy: list[tuple[int, int, Any, dict]] = []  # (free_at, order, thread, op)
    order = 0
    out: list[dict] = []
    t = 0
    while len(out) < max_ops and t <= end:
        progressed = False
        wake: int | None = None
        for th in list(free):
            ctx.time = t
            ctx.thread = th
            ctx.process = th
            ctx.outstanding = len(busy)
            ctx.wake_at = None
            o = gen.op(ctx)
            if o is None:
                done.add(th)
                free.remove(th)
                continue
            if o is PENDING:
                if ctx.wake_at is not None and (wake is None or ctx.wake_at < wake):
                    wake = ctx.wake_at
                continue
            due = max(t, int(o.get("time", 0)))
            out.append({"time": due, "thread": th, "process": th, "f": o.get("f"),
                        "key": o.get("key"), "value": o.get("value")})
            free.remove(th)
            order += 1
            heapq.heappush(busy, (due + lat, order, th, o))
            progressed = True
            if len(out) >= max_ops:
                break
        if len(done) == len(threads):
            break
        if progressed:
            continue
        nxt = [x for x in (busy[0][0] if busy else None, wake) if x is not None]
        if not nxt:
            break  # every live thread waits on something that cannot happen
        t = max(t, min(nxt))
        while busy and busy[0][0] <= t:
            _, _, th, o = heapq.heappop(busy)
            if hears:
                gen.update(th, o, outcome(o) if outcome is not None else "ok")
            free.append(th)
        free.sort(key=lambda x: (x == NEMESIS_THREAD, x if x != NEMESIS_THREAD else 0))
    out.sort(key=lambda r: (r["time"], str(r["thread"])))
    return out
