"""Load a 1,000,000-op (2,000,000-line: an invoke and a completion each) JSONL history into
the columnar view: time and peak RSS.

Target (issue 2): < 5 s and < 1.5 GiB peak RSS on the 2-core reference machine;
issue 17: < 3 s and < 1 GiB (the compiled scanner, checkers/history/jsonl_scan.py).
``--lines N`` loads another size (issue 2's runs used 1,000,000 lines).
The history is generated once into a temp file by this script; the load is
timed in a fresh subprocess so that its peak RSS is the loader's alone.

``--check``: also time the whole ``splitbrain check --model cas-register`` (a
fresh process: start, load, validate, check, exit) on a 1,000,000-op (2M
lines) single-key register history with unique written values, cas included,
20 processes, 1 % crashed ops — issue 17's target: < 6 s and < 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)
from _machine import machine  # noqa: E402


def generate(path: str, n_lines: int, processes: int = 20, keys: int = 1000,
             seed: int = 1) -> None:
    rng = random.Random(seed)
    t = 0
    pending: dict[int, dict] = {}
    next_proc = list(range(processes))
    written = 0
    idx = 0
    with open(path, "w") as out:
        while written < n_lines:
            slot = rng.randrange(processes)
            p = next_proc[slot]
            t += rng.randrange(1000, 50000)
            if p in pending:
                inv = pending.pop(p)
                r = rng.random()
                typ = "ok" if r < 0.97 else ("fail" if r < 0.99 else "info")
                val = rng.randrange(100) if inv["f"] == "read" and typ == "ok" else inv["value"]
                op = {"index": idx, "time": t, "process": p, "type": typ, "f": inv["f"],
                      "key": inv["key"], "value": val}
                if typ == "info":
                    next_proc[slot] = p + processes
                    op["error"] = "timeout"
            else:
                f = rng.choice(("read", "write", "cas"))
                v = None if f == "read" else (rng.randrange(100) if f == "write"
                                              else [rng.randrange(100), rng.randrange(100)])
                op = {"index": idx, "time": t, "process": p, "type": "invoke", "f": f,
                      "key": rng.randrange(keys), "value": v}
                pending[p] = op
            out.write(json.dumps(op, separators=(",", ":")))
            out.write("\n")
            idx += 1
            written += 1


def load_child(path: str) -> None:
    from checkers.history import load_history
    from checkers.linear.worker import peak_rss_kib
    t0 = time.perf_counter()
    h = load_history(path)
    t1 = time.perf_counter()
    c = h.columnar()
    ops = c.operations()
    t2 = time.perf_counter()
    rss = peak_rss_kib() / 1024  # VmHWM: ru_maxrss keeps the parent's peak across exec
    print(json.dumps({"ops": len(h), "operations": len(ops), "parse_s": t1 - t0,
                      "columnar_s": t2 - t1, "total_s": t2 - t0, "peak_rss_mib": rss}))


# `splitbrain check PATH --model cas-register`, then its own peak RSS (VmHWM) on stderr
_CHECK_AND_PEAK = """
import sys
from checkers.linear.worker import peak_rss_kib
from harness.cli import main
sys.argv = ["splitbrain", "check", sys.argv[1], "--model", "cas-register"]
try:
    rc = main()
finally:
    print(peak_rss_kib(), file=sys.stderr)
sys.exit(rc)
"""


def whole_check(d: str) -> None:
    from checkers.history import save_history
    from checkers.linear.simulate import simulate_unique_register_history
    path = os.path.join(d, "unique.jsonl")
    save_history(simulate_unique_register_history(6, 1_000_000, processes=20, info_rate=0.01),
                 path)
    print(f"unique register history: 1000000 ops, {os.path.getsize(path) / 2**20:.0f} MiB JSONL")
    for run in ("first", "second"):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", _CHECK_AND_PEAK, path], capture_output=True,
                             text=True, cwd=ROOT)
        wall = time.perf_counter() - t
        if out.returncode not in (0, 1):
            raise SystemExit(out.stderr)
        peak_kib = int(out.stderr.strip().splitlines()[-1])
        print(f"{run} 'splitbrain check': {wall:.2f} s wall, peak RSS {peak_kib / 1024:.0f} MiB"
              f"  (target < 6 s, < 1024 MiB)  [load avg {os.getloadavg()[0]:.1f}]"
              f"  -> {out.stdout.strip()}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=2_000_000,
                    help="JSON lines to generate (an op is two: its invoke and its completion)")
    ap.add_argument("--check", action="store_true",
                    help="also time the whole check command on a 1M-op register history")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        load_child(args.child)
        return
    print(f"machine: {machine()}")
    if args.check:
        with tempfile.TemporaryDirectory() as d:
            whole_check(d)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "history.jsonl")
        generate(path, args.lines)
        for run in ("first", "second"):
            out = subprocess.run([sys.executable, __file__, "--child", path], check=True,
                                 capture_output=True, text=True).stdout
            r = json.loads(out)
            if run == "first":
                print(f"history: {args.lines} lines, {r['operations']} ops, "
                      f"{os.path.getsize(path) / 2**20:.0f} MiB JSONL")
            print(f"{run} load: parse+validate+columnar {r['parse_s']:.2f} s + pairing {r['columnar_s']:.2f} s"
                  f" = {r['total_s']:.2f} s, peak RSS {r['peak_rss_mib']:.0f} MiB"
                  f"  (target < 3 s, < 1024 MiB)  [load avg {os.getloadavg()[0]:.1f}]")


if __name__ == "__main__":
    main()
