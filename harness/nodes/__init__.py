"""Node providers behind one contract (see :mod:`core.nodes`).

``get_provider(name, store_root, test_id, options)`` returns a provider; its
``create(n)`` gives nodes, ``destroy()`` removes them.  ``reclaim_all`` is
what ``splitbrain clean`` uses to destroy whatever crashed controllers left
recorded in the machine-wide state directory (core.machine_state).

Provider options (a dict; each provider's ``OPTIONS``, and a spec naming any
other is refused):

* netns: ``subnet`` (10.77.0.0/16; a free /24 is taken per test),
  ``data_root`` (/tmp/splitbrain-nodes), ``forward_rule`` (True: one iptables
  FORWARD ACCEPT for the test's bridge, removed at teardown).
* docker: ``image`` (run as is) or ``packages`` (apt packages baked into a
  built image), ``sys_time``, ``fuse``, ``subnet`` (10.78.0.0/16), ``suite``,
  ``mirror``, ``allow_pull`` (False), ``log`` (callable for build progress).
* ssh: ``hosts``, ``user``, ``port``, ``key_file``, ``password``,
  ``known_hosts``, ``insecure_accept_host_keys``, ``sudo``,
  ``connect_timeout``, ``data_root``.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Any, Mapping

from core.errors import UnknownName
from core.nodes import Daemon, ExecResult, Node, NodeError, Provider, ProviderUnavailable
from core.registry import Registry
from core.store import state_dir
from .state import all_states, controller_alive

__all__ = ["Daemon", "ExecResult", "Node", "NodeError", "Provider", "ProviderUnavailable",
           "PROVIDERS", "get_provider", "new_test_id", "reclaim_all", "reclaim_state"]

class UnknownProvider(UnknownName, NodeError):
    pass


# Entry points (pyproject.toml), imported lazily so netns users never import docker/paramiko.
PROVIDERS = Registry("node provider", group="splitbrain.providers",
                     order=("netns", "docker", "ssh"), error=UnknownProvider)


def new_test_id(store_root: Path | None = None) -> str:
    """Eight lowercase hex digits, unused by any state file in the store."""
    for _ in range(100):
        tid = secrets.token_hex(4)
        if store_root is None or not (state_dir(Path(store_root), "nodes") / f"{tid}.json").exists():
            return tid
    raise NodeError("cannot find an unused test id")  # pragma: no cover - 2^32 ids


def get_provider(name: str, store_root: Path | str, test_id: str | None = None,
                 options: Mapping[str, Any] | None = None) -> Provider:
    root = Path(store_root)
    return PROVIDERS.get(name)(root, test_id or new_test_id(root), dict(options or {}))


def reclaim_state(store_root: Path, path: Path, state: Mapping[str, Any]) -> list[str]:
    """Destroy what one state file names, then remove the file; returns what was removed."""
    prov = state.get("provider")
    if prov not in PROVIDERS:
        path.unlink(missing_ok=True)
        return [f"unreadable state file {path.name} removed"]
    # A provider's module knows how to remove what its state file names.
    done = sys.modules[PROVIDERS.get(prov).__module__].reclaim(state)
    path.unlink(missing_ok=True)
    return [f"{prov} {state.get('test_id')}: {d}" for d in done] or \
        [f"{prov} {state.get('test_id')}: nothing left to remove"]


def reclaim_all(store_root: Path | str, test_id: str | None = None, *,
                force: bool = True) -> list[str]:
    """Reclaim every state file in the store (or only ``test_id``'s).

    Without ``force``, nodes of a controller that is still running are left
    alone (and named in the result).  A state file whose resources cannot all be removed (engine down, host
    unreachable) is kept for a later attempt; NodeError then names every such
    failure after the others have been reclaimed.
    """
    out: list[str] = []
    failures: list[str] = []
    for path, st in all_states(Path(store_root)):
        if test_id is not None and path.stem != test_id:
            continue
        if not force and controller_alive(st):
            out.append(f"{st.get('provider')} {path.stem}: skipped, its controller (pid "
                       f"{st.get('controller_pid')}) is still running (use --force)")
            continue
        try:
            out.extend(reclaim_state(Path(store_root), path, st))
        except NodeError as e:
            failures.append(f"{path.stem}: {e}")
    if failures:
        raise NodeError("; ".join(failures) + (f" (reclaimed: {'; '.join(out)})" if out else ""))
    return out
