"""scripts/install.sh touches only what it owns: run twice beside processes named like the
packaged daemons (a user's own etcd or redis service), they survive; a failed pip step stops
the script instead of printing "install done"."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "scripts" / "install.sh"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="scripts/install.sh runs as root"),
    pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs a Debian/Ubuntu machine"),
]

# What the old script's `pkill -f "^/usr/bin/<daemon>( |$)"` matched: a command line that
# starts with the packaged binary's path, as a host service's does.
DAEMON_PATHS = ["/usr/bin/etcd", "/usr/bin/redis-server", "/usr/bin/redis-sentinel",
                "/usr/bin/zookeeper"]


def _impostor(path: str) -> subprocess.Popen:
    # `exec -a` sets argv[0], so /proc/<pid>/cmdline reads "/usr/bin/etcd 600".
    return subprocess.Popen(["bash", "-c", f"exec -a {path} sleep 600"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _run_install(env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(INSTALL)], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env={**os.environ, **(env or {})})


def test_install_twice_leaves_processes_named_like_daemons_alone():
    procs = [_impostor(p) for p in DAEMON_PATHS]
    try:
        time.sleep(0.2)
        for p, path in zip(procs, DAEMON_PATHS):
            cmdline = Path(f"/proc/{p.pid}/cmdline").read_bytes().split(b"\0")[0].decode()
            assert cmdline == path  # the impostor really looks like the daemon
        for attempt in (1, 2):
            r = _run_install()
            assert r.returncode == 0, (attempt, r.stdout[-2000:], r.stderr[-2000:])
            assert "splitbrain: install done" in r.stdout
            for p, path in zip(procs, DAEMON_PATHS):
                assert p.poll() is None, f"run {attempt} of install.sh killed {path} (pid {p.pid})"
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_a_failed_pip_step_stops_the_script(tmp_path):
    # A constraint no release satisfies makes pip fail for real.
    bad = tmp_path / "constraints.txt"
    bad.write_text("numpy==0.0.0.1\n")
    r = _run_install({"PIP_CONSTRAINT": str(bad)})
    assert r.returncode != 0, r.stdout[-2000:]
    assert "install done" not in r.stdout
    assert "pip install of splitbrain failed" in r.stderr
