"""Causal checker benchmark: seeded histories from the simulated causally
consistent store (checkers/causal/simulate.py) with replication lag,
50 sessions, 1,000 keys; 10k / 100k / 1M ops by default.

Each size runs in a fresh child process (so its peak RSS is its own):
the child simulates the history, then times the check.  Printed per size:
simulation time, check time (numba kernels are compiled/cached beforehand
by a warm-up run) and the child's peak RSS, which includes the history
itself (Python Op objects, ~2 records per op).

    python benchmarks/bench_causal.py [--sizes 10000,100000,1000000] [--mode lww|arrival]

Targets (issue 4): 100k ops < 10 s and < 2 GiB peak RSS; 1M ops < 120 s.
The machine is shared with other jobs, so wall-clock figures may be noisy;
the CPU-time column is the steadier one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _machine import machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))



def child(n: int, mode: str, seed: int, sessions: int, keys: int, lag: float) -> None:
    sys.path.insert(0, ROOT)
    from checkers.causal import check_causal
    from checkers.causal.simulate import simulate

    t0 = time.perf_counter()
    h = simulate(n, sessions=sessions, keys=keys, replicas=5, mean_lag=lag, mode=mode, seed=seed)
    t1 = time.perf_counter()
    c1 = time.process_time()
    res = check_causal(h)
    t2 = time.perf_counter()
    cpu = time.process_time() - c1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
    ev = res.evidence
    print(json.dumps({"n": n, "sim_s": t1 - t0, "check_s": t2 - t1, "cpu_s": cpu, "rss_mib": rss,
                      "satisfies": ev["satisfies"], "stats": ev["stats"]}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--mode", default="lww", choices=("lww", "arrival"))
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--lag", type=float, default=200.0, help="mean replication lag, in steps")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child is not None:
        child(a.child, a.mode, a.seed, a.sessions, a.keys, a.lag)
        return 0
    print(f"machine: {machine()}")
    print(f"store: 5 replicas, mode={a.mode}, mean lag {a.lag} steps, {a.sessions} sessions, "
          f"{a.keys} keys, seed {a.seed}; figures are noisy (shared machine)")
    base = [sys.executable, os.path.abspath(__file__), "--mode", a.mode, "--seed", str(a.seed),
            "--sessions", str(a.sessions), "--keys", str(a.keys), "--lag", str(a.lag)]
    subprocess.run(base + ["--child", "200"], check=True, capture_output=True)  # compile/cache
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    print(f"{'ops':>9} {'simulate s':>10} {'check s':>8} {'check cpu s':>11} {'peak RSS MiB':>12}"
          f"  verdict / stats")
    prev = None
    for n in (int(x) for x in a.sizes.split(",")):
        out = subprocess.run(base + ["--child", str(n)], check=True, capture_output=True, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        growth = f" x{r['check_s'] / prev:.1f} time" if prev else ""
        prev = r["check_s"]
        print(f"{n:>9} {r['sim_s']:>10.2f} {r['check_s']:>8.2f} {r['cpu_s']:>11.2f} "
              f"{r['rss_mib']:>12.0f}  "
              f"{r['satisfies']} cf_edges={r['stats']['cf_edges']} "
              f"hb_rounds={r['stats']['hb_rounds']}{growth}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
