"""A pool worker: ``python -m checkers.linear.worker`` reads batches of
partitions from stdin and writes their results to stdout, each message a
pickle preceded by its 8-byte length.

Plain subprocesses rather than multiprocessing: a forked child would carry the
parent's whole history (and be charged for it in RSS), and multiprocessing's
spawn/forkserver re-import the caller's ``__main__``, which breaks any script
without a ``__main__`` guard.
"""

from __future__ import annotations

import sys

from .ipc import recv, send


def main() -> int:
    from .search import run_partition, warm_up
    warm_up()
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    send(out, "ready")
    while True:
        msg = recv(inp)
        if msg is None:
            return 0
        batch_id, parts, deadline, mem = msg
        res = [run_partition(p, deadline=deadline, memory_limit_mib=mem) for p in parts]
        send(out, (batch_id, res, peak_rss_kib()))


def peak_rss_kib() -> int:
    """This process's own peak RSS (VmHWM; ru_maxrss would include the parent's
    peak inherited across fork+exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
