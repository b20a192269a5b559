"""How to reach a node again when its Node object is gone.

The journal stores, per node, a small JSON "reference" naming the network
namespace, container or ssh host; :func:`ref_executor` turns it back into a
way to run argv on the node, which is all healing after a crashed
controller needs.  Providers may define ``Node.reach_ref()`` to supply the
reference themselves; otherwise it is read from the well-known attributes
of the netns, docker and ssh nodes.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import Any, Callable, Mapping, Sequence

from core.nodes import Node

Executor = Callable[[Sequence[str], float], "tuple[int, str]"]


def node_ref(node: Node) -> dict[str, Any]:
    custom = getattr(node, "reach_ref", None)
    if callable(custom):
        ref = dict(custom())
        ref.setdefault("name", node.name)
        if ref.get("kind") == "ssh":
            # Host-key settings, so a heal verifies the host as the provider did.
            cfg = getattr(node, "cfg", None)
            for key, attr in (("known_hosts", "known_hosts"),
                              ("insecure_accept_host_keys", "insecure")):
                if cfg is not None and hasattr(cfg, attr):
                    ref.setdefault(key, getattr(cfg, attr))
        return ref
    base: dict[str, Any] = {"name": node.name, "ip": getattr(node, "ip", None),
                            "data_dir": getattr(node, "data_dir", None)}
    ns = getattr(node, "ns", None) or getattr(node, "netns", None)
    if isinstance(ns, str) and ns:
        # Namespaces share the host's process table and filesystem.
        return {**base, "kind": "netns", "ns": ns, "host_pids": True, "host_files": True}
    for attr in ("container_name", "container_id", "container", "cid"):
        cid = getattr(node, attr, None)
        if isinstance(cid, str) and cid:
            return {**base, "kind": "docker", "container": cid, "host_pids": False,
                    "host_files": False}
        cid = getattr(cid, "id", None)
        if isinstance(cid, str) and cid:
            return {**base, "kind": "docker", "container": cid, "host_pids": False,
                    "host_files": False}
    host = getattr(node, "ssh_host", None) or getattr(node, "host", None)
    if isinstance(host, str) and host:
        return {**base, "kind": "ssh", "host": host,
                "port": getattr(node, "port", None) or getattr(node, "ssh_port", None) or 22,
                "user": getattr(node, "user", None) or getattr(node, "ssh_user", None) or "root",
                "key": getattr(node, "key_path", None) or getattr(node, "ssh_key", None),
                "host_pids": False, "host_files": False}
    local = getattr(node, "local", False)
    if local:
        return {**base, "kind": "local", "host_pids": True, "host_files": True}
    return {**base, "kind": "unknown"}


class Unreachable(Exception):
    """The node no longer exists (its namespace or container is gone)."""


def ref_argv(ref: Mapping[str, Any], argv: Sequence[str]) -> list[str]:
    kind = ref.get("kind")
    argv = [str(a) for a in argv]
    if kind == "netns":
        if not os.path.exists(f"/run/netns/{ref['ns']}"):
            raise Unreachable(f"namespace {ref['ns']} no longer exists")
        return ["ip", "netns", "exec", str(ref["ns"]), *argv]
    if kind == "docker":
        r = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", str(ref["container"])],
                           capture_output=True, timeout=20)
        if r.returncode != 0:
            raise Unreachable(f"container {ref['container']} no longer exists")
        return ["docker", "exec", str(ref["container"]), *argv]
    if kind == "ssh":
        cmd = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
               "-p", str(ref.get("port") or 22)]
        if ref.get("insecure_accept_host_keys"):
            cmd += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        else:
            cmd += ["-o", "StrictHostKeyChecking=yes"]
            if ref.get("known_hosts"):
                cmd += ["-o", f"UserKnownHostsFile={ref['known_hosts']}"]
        if ref.get("key"):
            cmd += ["-i", str(ref["key"])]
        if ref.get("sudo"):
            argv = ["sudo", "-n", "--", *argv]
        return cmd + ["-l", str(ref.get("user") or "root"), str(ref["host"]), shlex.join(argv)]
    if kind == "local":
        return argv
    raise Unreachable(f"node {ref.get('name')}: the journal does not say how to reach it "
                      f"(kind {kind!r})")


def run_on(ref: Mapping[str, Any], argv: Sequence[str], timeout: float = 30.0) -> tuple[int, str]:
    """Run argv on the referenced node; (exit code, stderr+stdout tail)."""
    full = ref_argv(ref, argv)
    try:
        r = subprocess.run(full, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError as e:
        return 127, str(e)
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout}s"
    out = (r.stdout + r.stderr).decode(errors="replace").strip()
    return r.returncode, out[-500:]
