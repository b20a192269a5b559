"""Node provider benchmark: per provider, 5 nodes up, 100 sequential execs, teardown.

    python benchmarks/bench_nodes.py [--providers netns,docker,ssh] [--nodes 5] [--execs 100]

Needs root.  docker needs a running engine (``dockerd &``); the node image is
built first when missing and its build time is printed separately.  The ssh
leg runs against sshd started inside netns nodes (host setup is not counted
in "up").  Targets (issue 8): netns up < 2 s; docker up < 5 s once the image
exists; 100 ssh execs < 1 s.  The machine is shared with other jobs, so
figures may be noisy.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import machine  # noqa: E402

from harness.nodes import NodeError, get_provider  # noqa: E402


def bench(kind: str, store: Path, count: int, execs: int) -> None:
    helpers = []
    opts: dict = {}
    if kind == "docker":
        from harness.nodes.docker import connect
        from harness.nodes.images import ensure_image
        t0 = time.monotonic()
        opts["image"] = ensure_image(connect(), ["netcat-openbsd"])
        print(f"  docker image {opts['image']} ready in {time.monotonic() - t0:.1f}s "
              "(0 when already built)")
    if kind == "ssh":
        from harness.nodes.sshd import start_sshd
        hostp = get_provider("netns", store)
        helpers.append(hostp)
        opts = start_sshd(hostp.create(count), store / "sshkeys")
    p = get_provider(kind, store, options=opts)
    try:
        t0 = time.monotonic()
        nodes = p.create(count)
        up = time.monotonic() - t0
        n = nodes[0]
        n.exec(["true"])
        t0 = time.monotonic()
        for _ in range(execs):
            n.exec(["true"])
        ex = time.monotonic() - t0
    finally:
        t0 = time.monotonic()
        p.destroy()
        down = time.monotonic() - t0
        for h in helpers:
            h.destroy()
    print(f"  {kind:<7} {count} nodes up {up:6.2f}s   {execs} execs {ex:6.2f}s "
          f"({ex / execs * 1000:.1f} ms each)   teardown {down:6.2f}s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--providers", default="netns,docker,ssh")
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--execs", type=int, default=100)
    args = ap.parse_args()
    print("bench_nodes on", machine())
    store = Path(tempfile.mkdtemp(prefix="sb-bench-nodes-"))
    for kind in [k for k in args.providers.split(",") if k]:
        try:
            bench(kind, store, args.nodes, args.execs)
        except NodeError as e:
            print(f"  {kind:<7} skipped: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
