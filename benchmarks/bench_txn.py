"""List-append checker benchmark: seeded strict-serializable histories from
checkers/txn/simulate.py — 10 processes, 1,000 live keys (each retired after
32 appends, as Jepsen's generator does), 1–4 micro-ops a transaction — clean,
and with injected G1c / G2-item pairs (one of each per 10,000 transactions).

Each size and variant runs in a fresh child process, so its peak RSS is its
own: the child simulates the history, builds the columnar view a loaded
JSONL history has (``load``), warms the numba kernels on a tiny history, then
times ``check_list_append`` (``elapsed_s``: the checker's own time, loading
excluded; CPU seconds beside it, steadier on a shared machine).

    python benchmarks/bench_txn.py [--sizes 100000,1000000] [--variants clean,injected]

Targets (issue 13): 100k transactions < 5 s; 1M < 60 s and < 4 GiB peak RSS.
For scale, Elle (Kingsbury & Alvaro, VLDB 2020) reports about 100,000
transactions checked in tens of seconds in the paper, and its README about
22 million in about 2 minutes on a 60 GB heap on a large machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _machine import machine, peak_rss_mib  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Elle's published figures, as transactions per second (order of magnitude):
ELLE_PAPER_TPS = 100_000 / 30        # ~100k txns in "tens of seconds"
ELLE_README_TPS = 22_000_000 / 120   # 22M txns in ~2 minutes, 60 GB heap


def child(n: int, variant: str, seed: int) -> None:
    sys.path.insert(0, ROOT)
    from checkers.history import History
    from checkers.history.columnar import build_columnar_from_records
    from checkers.txn import check_list_append
    from checkers.txn.simulate import simulate_list_append

    def history(recs):
        return History(records=recs, columnar=build_columnar_from_records(recs))

    check_list_append(history(simulate_list_append(50, seed=1, inject_g1c=1, inject_g2=1)))
    inject = max(1, n // 10_000) if variant == "injected" else 0
    t0 = time.perf_counter()
    recs = simulate_list_append(n, seed=seed, inject_g1c=inject, inject_g2=inject)
    t1 = time.perf_counter()
    h = history(recs)
    t2 = time.perf_counter()
    c0 = time.process_time()
    res = check_list_append(h)
    cpu = time.process_time() - c0
    print(json.dumps({"n": n, "variant": variant, "simulate_s": t1 - t0, "load_s": t2 - t1,
                      "elapsed_s": res.elapsed_s, "cpu_s": cpu, "valid": res.valid,
                      "anomalies": res.evidence.get("anomaly_counts", {}),
                      "edges": res.evidence["stats"]["edges"],
                      "rss_mib": peak_rss_mib()}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--variants", default="clean,injected")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--child", nargs=2, metavar=("N", "VARIANT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(int(args.child[0]), args.child[1], args.seed)
        return 0
    print(f"# {machine()}")
    print(f"# Elle for scale: paper ~{ELLE_PAPER_TPS:,.0f} txns/s (100k in tens of seconds); "
          f"README ~{ELLE_README_TPS:,.0f} txns/s (22M in ~2 min, 60 GB heap, large machine)")
    print(f"{'txns':>9} {'variant':>9} {'sim s':>7} {'load s':>7} {'check s':>8} {'cpu s':>7} "
          f"{'txns/s':>10} {'RSS MiB':>8}  verdict / anomalies")
    failed = False
    for n in (int(x) for x in args.sizes.split(",")):
        for variant in args.variants.split(","):
            out = subprocess.run([sys.executable, __file__, "--child", str(n), variant,
                                  "--seed", str(args.seed)], capture_output=True, text=True,
                                 env={**os.environ, "PYTHONPATH": ROOT})
            if out.returncode != 0:
                print(f"{n:>9} {variant:>9} child failed: {out.stderr.strip()[-400:]}")
                failed = True
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            tps = n / r["elapsed_s"] if r["elapsed_s"] else float("inf")
            target = 5.0 if n <= 100_000 else 60.0
            meets = r["elapsed_s"] < target and (n < 1_000_000 or r["rss_mib"] < 4096)
            expect_valid = variant == "clean"
            right = (r["valid"] is True) == expect_valid
            failed |= not right
            print(f"{n:>9} {variant:>9} {r['simulate_s']:>7.1f} {r['load_s']:>7.1f} "
                  f"{r['elapsed_s']:>8.2f} {r['cpu_s']:>7.2f} {tps:>10,.0f} {r['rss_mib']:>8.0f}  "
                  f"{r['valid']} {r['anomalies']} {'meets target' if meets else 'MISSES target'}"
                  f"{'' if right else ' WRONG VERDICT'}")
    print(f"# load avg after: {os.getloadavg()[0]:.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
