"""P-compositionality (Horn & Kroening 2015): a history of independent
objects is linearizable iff each object's sub-history is, so each key is
searched on its own — in parallel across a process pool, with results in key
order whatever order the workers finish in."""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from .encode import Partition
from .search import PartResult, run_partition

# Below this many ops in total a pool costs more than it saves.
POOL_MIN_OPS = 20_000


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


def _run_batch(args: tuple[list[Partition], float | None, float | None]) -> list[PartResult]:
    parts, deadline, mem = args
    return [run_partition(p, deadline=deadline, memory_limit_mib=mem) for p in parts]


def run_all(parts: list[Partition], *, deadline: float | None, memory_limit_mib: float | None,
            workers: int | None) -> list[PartResult]:
    total = sum(len(p) for p in parts)
    w = workers if workers is not None else (os.cpu_count() or 1)
    w = max(1, min(w, len(parts)))
    if w == 1 or total < POOL_MIN_OPS or "fork" not in mp.get_all_start_methods():
        return [run_partition(p, deadline=deadline, memory_limit_mib=memory_limit_mib)
                for p in parts]
    # compile/load the kernel once here so forked workers inherit it
    run_partition(parts[0], deadline=deadline, memory_limit_mib=memory_limit_mib)
    # batches of similar total size, in key order, several per worker for balance
    target = max(1, total // (w * 4))
    batches: list[list[Partition]] = [[]]
    size = 0
    for p in parts:
        if size >= target:
            batches.append([])
            size = 0
        batches[-1].append(p)
        size += len(p)
    ctx = mp.get_context("fork")
    with ProcessPoolExecutor(max_workers=w, mp_context=ctx) as ex:
        out: list[PartResult] = []
        for res in ex.map(_run_batch, [(b, deadline, memory_limit_mib) for b in batches]):
            out.extend(res)
    return out
