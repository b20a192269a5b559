"""Name discovery benchmark: the cold entry-point scan every process pays once
(built-ins are entry points too), a cached lookup, and ``splitbrain list``.

    python benchmarks/bench_registry.py [--repeat 5]

Each cold figure is a fresh interpreter (the scan is cached per process).  The
machine is shared with other jobs, so figures may be noisy; the load is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine  # noqa: E402

COLD = ("import time; t = time.perf_counter(); from checkers.entry_points import entry_points; "
        "[entry_points('splitbrain.' + g) for g in "
        "('targets', 'workloads', 'checkers', 'faults', 'providers')]; "
        "print((time.perf_counter() - t) * 1e3)")
CACHED = ("import time; from checkers.entry_points import entry_points; "
          "entry_points('splitbrain.targets'); t = time.perf_counter(); "
          "[entry_points('splitbrain.targets') for _ in range(10000)]; "
          "print((time.perf_counter() - t) * 1e3 / 10000 * 1e3)")


def _py(code: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT, env=env).stdout
    return float(out.strip())


def _list_s() -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness", "list", "--json"], capture_output=True,
                   check=True, cwd=ROOT, env=env)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    from importlib.metadata import distributions
    print(machine())
    print(f"installed distributions: {sum(1 for _ in distributions())}")
    cold = [_py(COLD) for _ in range(a.repeat)]
    print(f"cold scan, 5 groups: median {statistics.median(cold):.1f} ms "
          f"(min {min(cold):.1f}, max {max(cold):.1f}; {a.repeat} fresh interpreters)")
    print(f"cached lookup: {_py(CACHED):.2f} µs")
    lists = [_list_s() for _ in range(max(1, a.repeat // 2))]
    print(f"splitbrain list --json (imports every name): median {statistics.median(lists):.2f} s")


if __name__ == "__main__":
    main()
