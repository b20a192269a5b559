"""The lazyfs layer's cost to a real database: the same no-fault run with and without it.

    python benchmarks/bench_lazyfs.py [--targets etcd,redis] [--seconds 15] [--rate 5000]

Per target, two runs of the set workload on 3 netns nodes from one seed: plain, then with the
target's durable directory on lazyfs (listed through `slow-disk` with zero delays, which mounts
the layer and changes nothing else).  Prints ok ops/s of each and their ratio, and the per-call
figures the run itself notes.  Needs root, python3-pyfuse3 and the targets' servers.  The machine
is shared with other jobs: figures are noisy; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine  # noqa: E402

TARGET_OPTIONS = {"redis": {"appendfsync": "always"}}   # a durable redis: every write fsynced


def one_run(store: Path, target: str, seconds: float, rate: float, lazy: bool) -> dict:
    spec = {"name": f"bench-lazyfs-{target}-{'on' if lazy else 'off'}",
            "target": {"name": target, **TARGET_OPTIONS.get(target, {})},
            "nodes": {"provider": "netns", "count": 3},
            "workload": {"name": "set"}, "concurrency": 10, "rate": rate,
            "time_limit": f"{seconds:g}s", "op_timeout": "2s", "seed": 1}
    if lazy:
        spec["nemesis"] = {"faults": ["slow-disk"], "interval": f"{seconds * 4:g}s",
                           "slow_disk_fsync_s": 0, "slow_disk_write_s": 0}
    path = store / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec))
    env = dict(os.environ, PYTHONPATH=str(ROOT), SPLITBRAIN_STORE=str(store),
               SPLITBRAIN_STATE_DIR=str(store / "state"))
    p = subprocess.run([sys.executable, "-m", "harness", "run", str(path), "--no-live"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 300)
    run_dir = Path(p.stdout.strip().splitlines()[-1]) if p.stdout.strip() else None
    if run_dir is None or not (run_dir / "run.json").exists():
        raise SystemExit(f"{spec['name']}: the run failed: {p.stderr[-800:]}")
    meta = json.loads((run_dir / "run.json").read_text())
    if "main" not in meta.get("summary", {}):
        raise SystemExit(f"{spec['name']}: no main phase: {meta.get('errors')}")
    main = meta["summary"]["main"]
    return {"ok_per_s": main["ok"] / main["elapsed_s"], "verdict": meta.get("verdict"),
            "notes": [n for n in meta.get("notes", []) if n.startswith("lazyfs overhead")]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="etcd,redis")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--rate", type=float, default=5000.0)
    a = ap.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="bench-lazyfs-") as tmp:
        for target in a.targets.split(","):
            off = one_run(Path(tmp), target, a.seconds, a.rate, lazy=False)
            on = one_run(Path(tmp), target, a.seconds, a.rate, lazy=True)
            print(f"{target}: set, 3 netns nodes, concurrency 10, {a.seconds:g} s each: "
                  f"{off['ok_per_s']:.0f} ok ops/s without lazyfs, {on['ok_per_s']:.0f} with "
                  f"({on['ok_per_s'] / max(off['ok_per_s'], 1e-9):.2f}x); verdicts "
                  f"{off['verdict']}/{on['verdict']}")
            for n in on["notes"]:
                print(f"  {n}")
    print(f"load avg after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
