"""Clock skew through libfaketime, never by stepping the real clock.

Daemons are started with ``LD_PRELOAD`` of libfaketime and a per-node
``FAKETIME_TIMESTAMP_FILE``; with ``FAKETIME_NO_CACHE=1`` libfaketime re-reads
that file on every time call, so writing ``+90.000000s`` into it moves the
daemon's wall clock at once and removing the file returns it to real time
(both behaviours checked against libfaketime 0.9.10; see its README,
"Changing the fake time while a program runs").  Only realtime clocks are
faked (``FAKETIME_DONT_FAKE_MONOTONIC=1``): NTP steps move wall time, and a
jumping monotonic clock is a different, unrealistic fault.

The real clock of a namespace or container is the host's, so it is never
touched.
"""

from __future__ import annotations

import shlex
import threading
import uuid
from typing import Any, Mapping

from core.nodes import Node, NodeError

from .errors import NemesisError, UnsupportedFault

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
OFFSET_FILE_NAME = "splitbrain-faketime"


def offset_path(node: Node) -> str:
    return f"{node.data_dir.rstrip('/')}/{OFFSET_FILE_NAME}"


def clock_env(node: Node, library: str = LIBFAKETIME) -> dict[str, str]:
    """Environment a target passes to every daemon it starts on ``node``."""
    return {
        "LD_PRELOAD": library,
        "FAKETIME_TIMESTAMP_FILE": offset_path(node),
        "FAKETIME_NO_CACHE": "1",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


def format_offset(seconds: float) -> str:
    """libfaketime's relative format: a sign, seconds with fractions, 's'."""
    return f"{seconds:+.6f}s" if seconds else "+0s"


def write_offset_script(path: str, seconds: float) -> str:
    # Write-then-rename: libfaketime reads the file on every call and must
    # never see it half written.
    p = shlex.quote(path)
    tmp = shlex.quote(path + ".tmp")
    return f"printf '%s\\n' {shlex.quote(format_offset(seconds))} > {tmp} && mv -f {tmp} {p}\n"


def ensure_library(node: Node, library: str = LIBFAKETIME) -> None:
    r = node.exec(["test", "-r", library], timeout=10)
    if not r.ok:
        raise UnsupportedFault(f"clock: {node.name} has no libfaketime at {library} "
                               "(install the Debian packages faketime and libfaketime)")


_MEASURE = ('date +%s%N; env LD_PRELOAD="$1" FAKETIME_TIMESTAMP_FILE="$2" FAKETIME_NO_CACHE=1 '
            'date +%s%N; date +%s%N')


def _parse_measure(node: Node, text: str, err: bytes) -> float:
    try:
        before, faked, after = (int(x) for x in text.split()[-3:])
    except ValueError:
        raise NemesisError(f"clock: could not measure the offset on {node.name}: "
                           f"{text.strip()!r} {err.decode(errors='replace').strip()!r}") from None
    return round((faked - (before + after) / 2) / 1e9, 3)


def apply_offset(node: Node, seconds: float | None, library: str = LIBFAKETIME) -> float:
    """Set (or with ``None`` clear) the node's offset and measure it, in one round trip.

    One exec instead of three matters on docker and ssh nodes, where each
    costs tens to hundreds of milliseconds.
    """
    path = offset_path(node)
    if seconds is None:
        change = f"rm -f {shlex.quote(path)} {shlex.quote(path + '.tmp')}\n"
        check = ""
    else:
        change = write_offset_script(path, seconds)
        check = 'test -r "$1" || { echo "no-library" >&2; exit 3; }\n'
    r = node.exec(["sh", "-c", check + change + _MEASURE, "sh", library, path], timeout=15)
    if r.exit_code == 3:
        raise UnsupportedFault(f"clock: {node.name} has no libfaketime at {library} "
                               "(install the Debian packages faketime and libfaketime)")
    if not r.ok:
        raise NemesisError(f"clock: setting the offset on {node.name} failed: "
                           f"{r.stderr.decode(errors='replace').strip()[-300:]}")
    return _parse_measure(node, r.text(), r.stderr)


def measure_offset(node: Node, library: str = LIBFAKETIME) -> float:
    """Seconds the faked clock is ahead of the real one on ``node``, as a libc program sees it.

    The faked reading is bracketed by two real ones in the same shell, so
    the error is at most half the time ``date`` takes to start.
    """
    r = node.exec(["sh", "-c", _MEASURE, "sh", library, offset_path(node)], timeout=10)
    return _parse_measure(node, r.text(), r.stderr)


def strobe_script(path: str, a: float, b: float, period_s: float, duration_s: float,
                  stop_path: str, pid_path: str) -> str:
    """A loop run on the node that flips the offset file between a and b.

    It runs on the node so the flips are milliseconds apart whatever the
    controller's round-trip time; it is bounded by ``duration_s``, stops when
    ``stop_path`` appears, records its pid for a crash-time heal and removes
    the offset file when it ends.
    """
    p, tmp = shlex.quote(path), shlex.quote(path + ".tmp")
    fa, fb = shlex.quote(format_offset(a)), shlex.quote(format_offset(b))
    stop, pidf = shlex.quote(stop_path), shlex.quote(pid_path)
    return (
        f"echo $$ > {pidf}\n"
        f"end=$(( $(date +%s) + {max(1, int(round(duration_s)))} ))\n"
        "n=0\n"
        f"while [ ! -e {stop} ] && [ $(date +%s) -lt $end ]; do\n"
        f"  printf '%s\\n' {fa} > {tmp} && mv -f {tmp} {p}\n"
        f"  sleep {period_s:.3f}\n"
        f"  printf '%s\\n' {fb} > {tmp} && mv -f {tmp} {p}\n"
        f"  sleep {period_s:.3f}\n"
        "  n=$((n+2))\n"
        "done\n"
        f"rm -f {p} {tmp} {pidf} {stop}\n"
        "echo $n\n")


def stop_strobe_script(stop_path: str, pid_path: str, offset: str) -> str:
    """Stop a strobe loop even when its controller is gone, then reset the clock.

    The stop file is left in place when the loop has not started yet (no pid
    file), so a loop that starts late exits at once instead of strobing on.
    """
    stop, pidf, p = shlex.quote(stop_path), shlex.quote(pid_path), shlex.quote(offset)
    return (f"touch {stop}\n"
            f"if [ -r {pidf} ]; then pid=$(cat {pidf}); "
            f"i=0; while kill -0 \"$pid\" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.02; i=$((i+1)); done; "
            f"kill -9 \"$pid\" 2>/dev/null; rm -f {pidf} {stop}; fi\n"
            f"rm -f {p} {p}.tmp\n")


class Strobe:
    """One strobe on one node: a bounded background thread running the node-side loop."""

    def __init__(self, node: Node, a: float, b: float, period_s: float, duration_s: float):
        if not 0.001 <= period_s <= 10:
            raise NemesisError(f"clock strobe: period must be 1 ms .. 10 s, got {period_s}")
        if not 0 < duration_s <= 3600:
            raise NemesisError(f"clock strobe: duration must be 0 .. 3600 s, got {duration_s}")
        self.node = node
        self.a, self.b, self.period_s, self.duration_s = a, b, period_s, duration_s
        base = offset_path(node)
        token = uuid.uuid4().hex[:8]  # per strobe, so a stale stop file never stops the next
        self.stop_path = f"{base}.strobe-stop-{token}"
        self.pid_path = f"{base}.strobe-pid-{token}"
        self.flips: int | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"strobe-{node.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        script = strobe_script(offset_path(self.node), self.a, self.b, self.period_s,
                               self.duration_s, self.stop_path, self.pid_path)
        try:
            r = self.node.exec(["sh", "-c", script], timeout=self.duration_s + 15)
            self.flips = int(r.text().split()[-1]) if r.ok and r.text().split() else None
            if not r.ok:
                self.error = r.stderr.decode(errors="replace").strip()[-300:]
        except (NodeError, ValueError) as e:
            self.error = str(e)

    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        try:
            self.node.exec(["sh", "-c", stop_strobe_script(self.stop_path, self.pid_path,
                                                           offset_path(self.node))], timeout=10)
        finally:
            self._thread.join(timeout)

    def describe(self) -> Mapping[str, object]:
        return {"node": self.node.name, "offsets_s": [self.a, self.b],
                "period_ms": round(self.period_s * 1000, 3), "duration_s": self.duration_s}


def measured_offsets(result: Any) -> str:
    """`` (measured n1 +0.001s, n2 +0s)`` for a clock op's result, else ``""``: the
    final heal records what each clock read afterwards, like every other clock op."""
    offs = result.get("offsets_s") if isinstance(result, Mapping) else None
    if not isinstance(offs, Mapping) or not offs:
        return ""
    parts = [f"{n} {round(x, 3) + 0.0:+.3f}s" if isinstance(x, (int, float)) else f"{n} {x}"
             for n, x in sorted(offs.items())]
    return f" (measured {', '.join(parts)})"
