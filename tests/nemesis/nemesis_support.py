"""Helpers for the nemesis tests: a tiny real target on real nodes, and packet probes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import pytest

HERE = Path(__file__).parent
PORT = 7411
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def netns_missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return None


class PeerTarget:
    """A real (if tiny) target: the peer server on each node, optionally behind a wrapper.

    ``wrapper`` is an argv prefix such as ``["runuser", "-u", "nobody", "--"]``
    so the server is a child of another process, as databases started through
    runuser or a shell are.
    """

    name = "peer"

    def __init__(self, nodes, wrapper: Sequence[str] = (), refused: Mapping[str, str] | None = None,
                 env_hook=None, udp: bool = True):
        self.nodes = list(nodes)
        self.wrapper = list(wrapper)
        self.refused = dict(refused or {})
        self.env_hook = env_hook
        self.udp = udp
        self._daemons: dict[str, list] = {}

    def argv(self, node) -> list[str]:
        udp_log = [f"{node.data_dir}/udp.log"] if self.udp else []
        return [*self.wrapper, PY, f"{node.data_dir}/peer.py", str(PORT), node.data_dir, *udp_log]

    def start(self, node) -> None:
        env = dict(self.env_hook(node)) if self.env_hook else {}
        d = node.start_daemon("peer", self.argv(node), env=env)
        self._daemons[node.name] = [d]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if b"ready" in node.get_file(d.log_path):
                return
            time.sleep(0.02)
        raise RuntimeError(f"peer server on {node.name} did not start: "
                           f"{node.get_file(d.log_path)[-500:]!r}")

    def kill(self, node) -> None:
        for d in self._daemons.get(node.name, []):
            node.signal(d, signal.SIGKILL, group=True)
        deadline = time.monotonic() + 10
        for d in self._daemons.get(node.name, []):
            while node.is_running(d) and time.monotonic() < deadline:
                time.sleep(0.01)
        self._daemons[node.name] = [d for d in self._daemons.get(node.name, [])
                                    if node.is_running(d)]

    def daemons(self, node) -> list:
        return [d for d in self._daemons.get(node.name, []) if node.is_running(d)]

    def primaries(self, nodes) -> list:
        return [n for n in nodes if n.name == "n2"]

    def supports(self, fault: str) -> tuple[bool, str]:
        for k, why in self.refused.items():
            if fault == k or fault.startswith(k + "-"):
                return False, why
        return True, ""

    def stop_all(self) -> None:
        for n in self.nodes:
            for d in self._daemons.get(n.name, []):
                node_signal_quiet(n, d, signal.SIGCONT)
            self.kill(n)


def node_signal_quiet(node, d, sig) -> None:
    try:
        node.signal(d, sig, group=True)
    except Exception:  # noqa: BLE001 - teardown
        pass


def probe(node, nodes, mode: str = "tcp", timeout: float = 0.5, token: str = "x") -> dict[str, Any]:
    """From ``node``, connect (or send) to every other node; {node name: result}."""
    others = [n for n in nodes if n.name != node.name]
    r = node.exec([PY, f"{node.data_dir}/probe.py", mode, str(PORT), str(timeout), token,
                   *[n.ip for n in others]], timeout=timeout + 15)
    assert r.ok, r.stderr
    by_ip = json.loads(r.text())
    return {n.name: by_ip[n.ip] for n in others}


def all_processes() -> list[tuple[int, str, str]]:
    """(pid, state, cmdline) of every process on the host (netns nodes share it)."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_bytes()
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state = stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3].decode()
        out.append((int(p.name), state, cmd))
    return out
