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

import numpy as np

from .encode import Partition
from .search import PartResult, run_partition
from .ipc import recv, send

# Keys are checked in-process first; a pool of workers (each a fresh interpreter
# that loads the numba cache, ~0.5-1.5 s to start) takes over only the keys still
# left after this long, so easy histories never pay for the pool.
POOL_AFTER_S = 1.0

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
            workers: int | None) -> list[PartResult]:
    w = workers if workers is not None else (os.cpu_count() or 1)
    w = max(1, min(w, len(parts)))
    results: list[PartResult | None] = [None] * len(parts)
    t0 = time.monotonic()
    i = 0
    while i < len(parts) and (w == 1 or time.monotonic() - t0 < POOL_AFTER_S):
        results[i] = run_partition(parts[i], deadline=deadline, memory_limit_mib=memory_limit_mib)
        i += 1
    if i < len(parts):
        _run_pool(parts, i, results, min(w, len(parts) - i), deadline, memory_limit_mib)
    for j in range(i, len(parts)):  # whatever a failed pool left undone
        if results[j] is None:
            results[j] = run_partition(parts[j], deadline=deadline,
                                       memory_limit_mib=memory_limit_mib)
    return results  # type: ignore[return-value]


def _run_pool(parts: list[Partition], first: int, results: list, w: int,
              deadline: float | None, mem: float | None) -> None:
    batches = [[first + j for j in b] for b in _batches(parts[first:], w * 4)]
    env = dict(os.environ)
    pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = os.pathsep.join([pkg_root] + [p for p in [env.get("PYTHONPATH")] if p])
    procs = [subprocess.Popen([sys.executable, "-m", "checkers.linear.worker"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
             for _ in range(min(w, len(batches)))]
    sel = selectors.DefaultSelector()
    peaks = {pr.pid: 0 for pr in procs}
    todo = list(range(len(batches)))
    busy = 0
    try:
        for pr in procs:
            if todo:
                b = todo.pop(0)
                send(pr.stdin, (b, [parts[i] for i in batches[b]], deadline, mem))
                sel.register(pr.stdout, selectors.EVENT_READ, pr)
                busy += 1
        while busy:
            for sk, _ in sel.select():
                pr = sk.data
                msg = recv(pr.stdout)
                if msg is None:
                    raise EOFError(f"pool worker {pr.pid} exited")
                b, res, peak = msg
                peaks[pr.pid] = max(peaks[pr.pid], peak)
                for i, r in zip(batches[b], res):
                    results[i] = r
                busy -= 1
                if todo:
                    b = todo.pop(0)
                    send(pr.stdin, (b, [parts[i] for i in batches[b]], deadline, mem))
                    busy += 1
    except (OSError, EOFError) as e:
        # a lost worker costs time, not correctness: the caller redoes what is missing
        print(f"splitbrain: warning: linearizability pool failed ({e}); continuing "
              f"in-process", file=sys.stderr)
    finally:
        last_pool_peaks_mib[:] = [v / 1024.0 for v in peaks.values()]
        sel.close()
        for pr in procs:
            try:
                pr.stdin.close()
            except OSError:
                pass
        for pr in procs:
            try:
                pr.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pr.kill()
                pr.wait()
