"""Daemon handling for nodes reached only through ``exec`` (docker, ssh).

A daemon is started by a small POSIX sh wrapper: ``setsid -f`` puts it in a
new session (pid == pgid, so a group signal reaches all it forks), the
wrapper writes its own pid to a pid file and then ``exec``s the server, so
the recorded pid *is* the server's.  The starting command waits for the pid
file and prints it; nothing of the server is tied to the exec channel.
"""

from __future__ import annotations

import signal as _signal
import time
from typing import Mapping, Sequence

from core.nodes import Daemon, ExecResult, Node, NodeError

# $1 = pid file, $2 = log file, $3 = working directory, rest = argv.
_INNER = ('pidf=$1; log=$2; dir=$3; shift 3; cd "$dir" || exit 1; '
          'echo $$ > "$pidf.tmp" && mv "$pidf.tmp" "$pidf"; '
          'exec "$@" >>"$log" 2>&1 </dev/null')
# $1 = the inner script, then the inner script's arguments.
_OUTER = ('inner=$1; shift; pidf=$1; log=$2; rm -f "$pidf"; mkdir -p "${log%/*}" "${pidf%/*}" || exit 1; '
          'setsid -f sh -c "$inner" sh "$@" || exit 1; i=0; '
          'while [ ! -s "$pidf" ] && [ $i -lt 1000 ]; do sleep 0.005; i=$((i+1)); done; '
          'cat "$pidf"')
_STATE = 'sed -n "s/.*) \\(.\\).*/\\1/p" /proc/$1/stat 2>/dev/null'


def signal_name(sig: int) -> str:
    return _signal.Signals(sig).name[3:]


class ExecNode(Node):
    """A node whose daemons are managed with shell commands run through :meth:`exec`."""

    log_dir: str
    run_dir: str

    def __init__(self) -> None:
        self._logs: list[str] = []

    def start_daemon(self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                     cwd: str | None = None, log_path: str | None = None) -> Daemon:
        argv = [str(a) for a in argv]
        if not argv:
            raise NodeError(f"{self.name}: daemon {name} has an empty argv")
        log = log_path or f"{self.log_dir}/{name}.log"
        # One pid file per start, so a restart never hides an earlier instance from cleanup.
        pidf = f"{self.run_dir}/{name}.{time.time_ns()}.pid"
        r = self.exec(["sh", "-c", _OUTER, "sh", _INNER, pidf, log, cwd or self.data_dir, *argv],
                      env=env, timeout=30)
        out = r.stdout.decode(errors="replace").strip()
        if r.exit_code != 0 or not out.isdigit():
            raise NodeError(f"{self.name}: could not start {name} ({' '.join(argv)}): exit "
                            f"{r.exit_code}, {r.stderr.decode(errors='replace').strip()[-300:]}")
        pid = int(out)
        if log not in self._logs:
            self._logs.append(log)
        return Daemon(node=self.name, name=name, argv=argv, pid=pid, pgid=pid, log_path=log,
                      env=dict(env or {}))

    def signal(self, daemon: Daemon, sig: int = _signal.SIGTERM, *, group: bool = True) -> None:
        target = f"-{daemon.pgid}" if group and daemon.pgid else str(daemon.pid)
        # The shell's kill builtin: procps' kill(1) rejects "-s SIG -- -PGID".
        # A dead target makes kill exit 1; for a fault that is not an error.
        self.exec(["sh", "-c", 'kill -s "$1" -- "$2"', "sh", signal_name(sig), target], timeout=15)

    def process_state(self, pid: int) -> str:
        return self.exec(["sh", "-c", _STATE, "sh", str(pid)], timeout=15).text().strip()

    def is_running(self, daemon: Daemon) -> bool:
        st = self.process_state(daemon.pid)
        return st not in ("", "Z", "X")

    def log_files(self) -> list[str]:
        r: ExecResult = self.exec(["find", self.log_dir, "-maxdepth", "1", "-type", "f"], timeout=15)
        found = set(self._logs) | {ln for ln in r.text().splitlines() if ln}
        return sorted(found)
