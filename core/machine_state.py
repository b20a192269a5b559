"""Where the record of machine-wide resources lives.

Network namespaces, bridges, iptables chains, FUSE mounts and containers
belong to the machine, not to a directory: ``splitbrain nodes up`` run in
one directory and ``clean`` run in another must find the same record.  So
the node state files and nemesis journals live in one place per machine —
``/var/lib/splitbrain/state`` (persistent: a container or a remote daemon
outlives a reboot of this host, and reclaiming tolerates what is already
gone) — while histories and reports stay in the store the user chose.

``SPLITBRAIN_STATE_DIR`` overrides the place (tests give each test its own);
a user who cannot write under /var/lib gets ``$XDG_STATE_HOME/splitbrain``
(default ``~/.local/state/splitbrain``), which is per user but still
independent of the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_ENV = "SPLITBRAIN_STATE_DIR"
SYSTEM_STATE = Path("/var/lib/splitbrain/state")


def _user_state() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "splitbrain"


def state_root() -> Path:
    """The machine-wide state directory (created on first use)."""
    explicit = os.environ.get(STATE_ENV)
    if explicit:
        root = Path(explicit).absolute()
        root.mkdir(parents=True, exist_ok=True)
        return root
    try:
        SYSTEM_STATE.mkdir(parents=True, exist_ok=True)
        if os.access(SYSTEM_STATE, os.W_OK | os.X_OK):
            return SYSTEM_STATE
    except OSError:
        pass
    root = _user_state()
    root.mkdir(parents=True, exist_ok=True)
    return root


def state_dir(kind: str) -> Path:
    """``<state root>/<kind>`` (``nodes``, ``nemesis``), created on first use.

    Owner-only: a state file may hold how to reach a host (never a password).
    """
    d = state_root() / kind
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d
