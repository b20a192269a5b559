"""Latency with ``tc netem``, only where the kernel has it.

netem is a kernel module (sch_netem); many CI and VM kernels ship without
it, and then ``tc`` says "Specified qdisc kind is unknown".  Detection runs
the real command — in a throwaway network namespace on the host for spec
validation, and on the node itself before applying — rather than guessing
from module lists, which a built-in or absent /lib/modules makes unreliable.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess

from core.nodes import Node

from .errors import UnsupportedFault

UNSUPPORTED = "latency: tc netem is not supported on this kernel ({kernel}): {why}"


@functools.lru_cache(maxsize=1)
def host_netem() -> tuple[bool | None, str]:
    """(True/False, reason) when the host kernel was probed; (None, why) when it could not be."""
    if shutil.which("tc") is None:
        return False, "tc (iproute2) is not installed"
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return None, "cannot probe without root and unshare"
    try:
        r = subprocess.run(["unshare", "-n", "tc", "qdisc", "add", "dev", "lo", "root", "netem",
                            "delay", "1ms"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"probe failed: {e}"
    if r.returncode == 0:
        return True, ""
    return False, r.stderr.decode(errors="replace").strip() or f"tc exited {r.returncode}"


def unsupported_message(why: str) -> str:
    return UNSUPPORTED.format(kernel=platform.release(), why=why)


def netem_script(dev: str, delay_ms: float, jitter_ms: float) -> list[str]:
    argv = ["tc", "qdisc", "replace", "dev", dev, "root", "netem", "delay", f"{delay_ms:g}ms"]
    if jitter_ms:
        argv += [f"{jitter_ms:g}ms", "distribution", "normal"]
    return argv


def apply_latency(node: Node, dev: str, delay_ms: float, jitter_ms: float) -> None:
    r = node.exec(netem_script(dev, delay_ms, jitter_ms), timeout=15)
    if not r.ok:
        why = r.stderr.decode(errors="replace").strip()
        if "unknown" in why.lower() or "not supported" in why.lower() or r.exit_code == 127:
            raise UnsupportedFault(unsupported_message(f"{node.name}: {why}"))
        raise UnsupportedFault(f"latency: tc netem on {node.name} failed: {why}")


def remove_latency(node: Node, dev: str) -> None:
    node.exec(["tc", "qdisc", "del", "dev", dev, "root"], timeout=15)
