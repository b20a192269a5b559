"""Causal checker benchmark: seeded histories from the simulated causally
consistent store (checkers/causal/simulate.py) with replication lag,
50 sessions, 1,000 keys; 10k / 100k / 1M ops and each level (CC, CM,
CCv) on its own by default.

Each (size, level) runs in a fresh child process (so its peak RSS is its
own): the child simulates the history, builds its columnar view (what
loading a history file does; timed apart as "columnar s"), then times
``check_causal(h, level=...)`` — numba kernels are compiled/cached
beforehand by a warm-up run.  Printed: check wall and CPU time, the peak
RSS while checking (the history's own memory included; Linux resets the
high-water mark before the check) and the child's whole peak RSS (the
simulation's Op objects included), and the growth of the check time from
the previous size.

    python benchmarks/bench_causal.py [--sizes 10000,100000,1000000]
        [--levels CC,CM,CCv] [--mode lww|arrival] [--lean]

``--lean`` simulates straight into the columnar view (same seed, same
history, no Op objects): for 10M ops, whose Op objects and record dicts
alone would need over 10 GiB.

Targets (issue 15, 2-core machine): 1M ops: CC and CCv < 10 s, CM < 30 s,
peak RSS < 2 GiB, 100k -> 1M growth within 11x; 10M ops CC completes.
The machine is shared with other jobs: wall-clock figures are noisy, the
load average is printed before every run and the CPU-time column is the
steadier one.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _machine import machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mib() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def child(n: int, level: str, mode: str, seed: int, sessions: int, keys: int, lag: float,
          lean: bool) -> None:
    sys.path.insert(0, ROOT)
    from checkers.causal import check_causal
    from checkers.causal.simulate import simulate, simulate_columnar

    sim = simulate_columnar if lean else simulate
    t0 = time.perf_counter()
    h = sim(n, sessions=sessions, keys=keys, replicas=5, mean_lag=lag, mode=mode, seed=seed)
    t1 = time.perf_counter()
    h.columnar()
    t2 = time.perf_counter()
    gc.collect()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB -> MiB
    reset = _reset_peak_rss()   # (resets ru_maxrss too)
    c1 = time.process_time()
    res = check_causal(h, level=level)
    t3 = time.perf_counter()
    cpu = time.process_time() - c1
    ev = res.evidence
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n": n, "level": level, "sim_s": t1 - t0, "columnar_s": t2 - t1,
                      "check_s": t3 - t2, "cpu_s": cpu,
                      "check_rss_mib": _peak_rss_mib() if reset else None,
                      "rss_mib": max(before, after),
                      "satisfies": ev["satisfies"], "stats": ev["stats"]}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--levels", default="CC,CM,CCv")
    ap.add_argument("--mode", default="lww", choices=("lww", "arrival"))
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--lag", type=float, default=200.0, help="mean replication lag, in steps")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lean", action="store_true", help="simulate into the columnar view only")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-level", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child is not None:
        child(a.child, a.child_level, a.mode, a.seed, a.sessions, a.keys, a.lag, a.lean)
        return 0
    print(f"machine: {machine()}")
    print(f"store: 5 replicas, mode={a.mode}, mean lag {a.lag} steps, {a.sessions} sessions, "
          f"{a.keys} keys, seed {a.seed}{', lean' if a.lean else ''}; figures are noisy "
          f"(shared machine)")
    base = [sys.executable, os.path.abspath(__file__), "--mode", a.mode, "--seed", str(a.seed),
            "--sessions", str(a.sessions), "--keys", str(a.keys), "--lag", str(a.lag)]
    if a.lean:
        base.append("--lean")
    levels = a.levels.split(",")
    for lv in levels:   # compile/cache every level's kernels
        subprocess.run(base + ["--child", "200", "--child-level", lv], check=True,
                       capture_output=True)
    print(f"{'ops':>9} {'level':>5} {'load':>5} {'simulate s':>10} {'columnar s':>10} "
          f"{'check s':>8} {'check cpu s':>11} {'check RSS MiB':>13} {'peak RSS MiB':>12}"
          f"  growth / verdict / stats")
    prev: dict[str, float] = {}
    for n in (int(x) for x in a.sizes.split(",")):
        for lv in levels:
            load = os.getloadavg()[0]
            out = subprocess.run(base + ["--child", str(n), "--child-level", lv], check=True,
                                 capture_output=True, text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            growth = f"x{r['check_s'] / prev[lv]:.1f} " if lv in prev else ""
            prev[lv] = r["check_s"]
            crss = r["check_rss_mib"]
            print(f"{n:>9} {lv:>5} {load:>5.1f} {r['sim_s']:>10.2f} {r['columnar_s']:>10.2f} "
                  f"{r['check_s']:>8.2f} {r['cpu_s']:>11.2f} "
                  f"{crss if crss is not None else float('nan'):>13.0f} {r['rss_mib']:>12.0f}"
                  f"  {growth}{r['satisfies']} cf_edges={r['stats']['cf_edges']} "
                  f"hb_rounds={r['stats']['hb_rounds']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
