"""P-compositionality (Horn & Kroening 2015): a history of independent
objects is linearizable iff each object's sub-history is, so each key is
searched on its own — in parallel across a pool of worker processes, with
results in key order whatever order the workers finish in."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections import deque
from typing import Callable

import numpy as np

from .encode import Partition
from .search import PartResult, run_partition, warm_up
from .ipc import recv, send

# Keys are checked in-process first; a pool of workers (each a fresh interpreter
# that loads the numba cache, ~0.5-1.5 s to start) takes over only the keys still
# left after this long, so easy histories never pay for the pool.
POOL_AFTER_S = 1.0
# ... and only when the keys left look like more than this much work: a worker is
# ready 1-3 s after it is started (this process keeps checking meanwhile, so on
# an idle core the start costs no wall time), and must then have work left to share
POOL_MIN_REMAINING_S = 2.0
# Whether this process works on batches while the pool runs (tests turn it off to
# make the workers do everything).
POOL_PARENT_WORKS = True

# peak RSS (MiB) of each worker of the last pool run, for benchmarks
last_pool_peaks_mib: list[float] = []


def split_rows(key_col: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(key code, op rows) per key, keys in order of first appearance."""
    if key_col.size == 0:
        return []
    order = np.argsort(key_col, kind="stable")
    sk = key_col[order]
    starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
    ends = np.r_[starts[1:], sk.size]
    groups = [(int(sk[s]), order[s:e]) for s, e in zip(starts, ends)]
    groups.sort(key=lambda g: int(g[1][0]))
    return groups


def _batches(parts: list[Partition], n: int) -> list[list[int]]:
    total = sum(len(p) for p in parts)
    target = max(1, total // n)
    out: list[list[int]] = [[]]
    size = 0
    for i, p in enumerate(parts):
        if size >= target:
            out.append([])
            size = 0
        out[-1].append(i)
        size += len(p)
    return out


def run_all(parts: list[Partition], *, deadline: float | None, memory_limit_mib: float | None,
            workers: int | None, on_start: Callable[[int], None] | None = None,
            on_done: Callable[[int, PartResult], None] | None = None) -> list[PartResult]:
    """Search every partition; ``on_start(i)`` / ``on_done(i, result)`` report
    each partition's start and end (for a progress display), in this thread."""
    start = on_start or (lambda i: None)
    done_cb = on_done or (lambda i, r: None)

    def run_here(j: int) -> PartResult:
        start(j)
        r = run_partition(parts[j], deadline=deadline, memory_limit_mib=memory_limit_mib)
        done_cb(j, r)
        return r

    w = workers if workers is not None else (os.cpu_count() or 1)
    w = max(1, min(w, len(parts)))
    results: list[PartResult | None] = [None] * len(parts)
    if w > 1:
        warm_up()  # so that the first key's time is search time, not cache loading
    t0 = time.monotonic()
    i = 0
    done = 0
    while i < len(parts) and (w == 1 or time.monotonic() - t0 < POOL_AFTER_S):
        results[i] = run_here(i)
        done += len(parts[i])
        i += 1
    if i < len(parts):
        # estimated time left at the rate so far
        left = sum(len(p) for p in parts[i:])
        rate = done / max(time.monotonic() - t0, 1e-6)
        if done == 0 or left / rate > POOL_MIN_REMAINING_S:
            # this process is one of the ``w``: it keeps checking alongside the workers
            n = min(w - 1 if POOL_PARENT_WORKS else w, len(parts) - i)
            if n > 0:
                _run_pool(parts, i, results, n, deadline, memory_limit_mib, run_here, start,
                          done_cb)
    for j in range(i, len(parts)):  # whatever a failed pool left undone
        if results[j] is None:
            results[j] = run_here(j)
    return results  # type: ignore[return-value]


def _run_pool(parts: list[Partition], first: int, results: list, w: int,
              deadline: float | None, mem: float | None, run_here: Callable[[int], PartResult],
              on_start: Callable[[int], None],
              on_done: Callable[[int, PartResult], None]) -> None:
    """Share parts[first:] between ``w`` worker processes and this one.  Workers
    say when they are ready (they start slowly); until then, and whenever all
    are busy, this process checks batches itself, so the pool never makes a
    check slower than doing it alone (beyond the cost of starting workers)."""
    batches = deque([first + j for j in b] for b in _batches(parts[first:], w * 8))
    env = dict(os.environ)
    pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join([pkg_root] + [p for p in [env.get("PYTHONPATH")] if p])
    procs = [subprocess.Popen([sys.executable, "-m", "checkers.linear.worker"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
             for _ in range(w)]
    sel = selectors.DefaultSelector()
    for pr in procs:
        sel.register(pr.stdout, selectors.EVENT_READ, pr)
    peaks = {pr.pid: 0 for pr in procs}
    idle: list[subprocess.Popen] = []
    inflight: dict[int, list[int]] = {}

    def store(b: list[int], res: list[PartResult]) -> None:
        for i, r in zip(b, res):
            results[i] = r
            on_done(i, r)

    # the batch this process is working through, one key at a time: between keys it
    # serves the workers, so a worker that finished never waits for a whole batch
    mine: deque[int] = deque()
    try:
        while batches or inflight or mine:
            busy_here = POOL_PARENT_WORKS and bool(batches or mine)
            for sk, _ in sel.select(timeout=0 if busy_here else None):
                pr = sk.data
                try:
                    msg = recv(pr.stdout)
                except (OSError, EOFError):
                    msg = None
                if msg is None:  # a lost worker costs time, not correctness
                    sel.unregister(pr.stdout)
                    lost = inflight.pop(pr.pid, None)
                    if lost is not None:
                        batches.appendleft(lost)
                    continue
                if msg != "ready":
                    _, res, peak = msg
                    store(inflight.pop(pr.pid), res)
                    peaks[pr.pid] = max(peaks[pr.pid], peak)
                idle.append(pr)
            while idle and batches:
                pr = idle.pop()
                b = batches.popleft()
                try:
                    send(pr.stdin, (0, [parts[i] for i in b], deadline, mem))
                    inflight[pr.pid] = b
                    for i in b:
                        on_start(i)
                except OSError:
                    batches.appendleft(b)
            if POOL_PARENT_WORKS and not mine and batches:
                mine.extend(batches.pop())
            if mine:
                j = mine.popleft()
                results[j] = run_here(j)
            elif inflight and not sel.get_map():
                break  # every worker is gone; the caller redoes what is missing
    finally:
        last_pool_peaks_mib[:] = [v / 1024.0 for v in peaks.values()]
        sel.close()
        for pr in procs:
            try:
                pr.stdin.close()
            except OSError:
                pass
            if pr.pid not in inflight and pr not in idle:
                pr.kill()  # still starting up: not needed any more
        for pr in procs:
            try:
                pr.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pr.kill()
                pr.wait()
