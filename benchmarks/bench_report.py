"""How long the HTML report of a large run takes, and how big it gets.

Builds a 100,000-op register history (8 processes, 10 keys, periodic
partitions) in a temporary run directory, checks it with the real
linearizability checker when it is available (else attaches a hand-made
invalid result in docs/evidence.md's shape), and times ``write_report``.
The target from issue 6: < 10 s and < 15 MB.  The machine is shared with
other jobs while this runs, so figures are noisy.

    python benchmarks/bench_report.py [--ops 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkers import registry  # noqa: E402
from checkers.history import load_history  # noqa: E402
from core.store import new_run  # noqa: E402
from reports.html import render_report, write_report  # noqa: E402
from tests.reports.report_histories import random_register  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _machine import machine  # noqa: E402



def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=100_000, help="client operations")
    ap.add_argument("--keys", type=int, default=10)
    args = ap.parse_args()
    print(f"machine: {machine()} (shared with other jobs: figures are noisy)")
    h = random_register(args.ops, keys=args.keys)
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        run = new_run(Path(tmp) / "store", "bench")
        run.history.write_text("".join(json.dumps(o.to_dict()) + "\n" for o in h.ops))
        run.spec.write_text("name: bench\nseed: 1\n")
        results = []
        if "linearizable" in registry.names():
            t0 = time.perf_counter()
            res = registry.run("linearizable", load_history(run.history), model="cas-register",
                               time_limit=60)
            print(f"linearizable check: {res.valid} in {time.perf_counter() - t0:.2f} s "
                  f"({res.summary[:100]})")
            results.append(res)
        else:
            print("linearizable checker not registered: rendering without a counterexample")
        run.write_results(results)
        run.write_meta(target="bench", ops=len(h), seed=1)
        t0 = time.perf_counter()
        out = write_report(run.path)
        dt = time.perf_counter() - t0
        size = out.stat().st_size
        print(f"history: {len(h):,} history lines ({args.ops:,} client ops)")
        print(f"report: {dt:.2f} s to load the run and render report.html (target < 10 s)")
        t0 = time.perf_counter()
        loaded = load_history(run.history)
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        render_report(loaded, results, run.read_meta(), None)
        print(f"  of which: load history.jsonl {t_load:.2f} s, render {time.perf_counter() - t0:.2f} s;"
              f" load average {os.getloadavg()[0]:.1f}")
        print(f"report: {size / 2**20:.2f} MiB (target < 15 MB)")
    return 0 if dt < 10 and size < 15e6 else 1


if __name__ == "__main__":
    sys.exit(main())
