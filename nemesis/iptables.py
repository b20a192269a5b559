"""iptables rules inside a node, in chains of splitbrain's own.

Only chains named ``SPLITBRAIN*`` and the single jump into each from INPUT
are ever added or removed, so the host's and the image's rules stay as they
were.  Each change is one shell script run on the node (one round trip) and
is idempotent: re-running it after a restart or a crash converges on the
same rules.
"""

from __future__ import annotations

import shlex
from typing import Iterable

PREFIX = "SPLITBRAIN"
PARTITION_CHAIN = "SPLITBRAIN-PART"
LOSS_CHAIN = "SPLITBRAIN-LOSS"


def _ensure_chain(chain: str) -> str:
    c = shlex.quote(chain)
    # -N fails when the chain exists; -F then empties it so the script is a
    # "replace", not an "append".
    return (f"iptables -w -N {c} 2>/dev/null || true\n"
            f"iptables -w -F {c}\n"
            f"iptables -w -C INPUT -j {c} 2>/dev/null || iptables -w -I INPUT 1 -j {c}\n")


def set_drops_script(chain: str, drops: Iterable[str], probability: float | None = None) -> str:
    """Replace ``chain``'s rules with drops of packets from each source IP.

    ``probability`` < 1 uses the statistic match (random loss) instead of a
    certain drop.
    """
    lines = ["set -e", _ensure_chain(chain)]
    for ip in drops:
        rule = f"iptables -w -A {shlex.quote(chain)} -s {shlex.quote(ip)}"
        if probability is not None and probability < 1.0:
            rule += f" -m statistic --mode random --probability {probability:.6f}"
        lines.append(rule + " -j DROP")
    return "\n".join(lines) + "\n"


def remove_chain_script(chain: str) -> str:
    """Remove one splitbrain chain and its jump; nothing if it is absent."""
    c = shlex.quote(chain)
    return (f"while iptables -w -D INPUT -j {c} 2>/dev/null; do :; done\n"
            f"while iptables -w -D OUTPUT -j {c} 2>/dev/null; do :; done\n"
            f"iptables -w -F {c} 2>/dev/null || true\n"
            f"iptables -w -X {c} 2>/dev/null || true\n")


def remove_all_script() -> str:
    """Remove every chain whose name starts with SPLITBRAIN, wherever it is jumped to from.

    Used by healing after a crash, when the controller's memory of which
    chains exist is gone.
    """
    return (
        "command -v iptables >/dev/null 2>&1 || exit 0\n"
        f"for c in $(iptables -w -S | sed -n 's/^-N \\({PREFIX}[^ ]*\\).*/\\1/p'); do\n"
        "  for parent in INPUT OUTPUT FORWARD; do\n"
        "    while iptables -w -D \"$parent\" -j \"$c\" 2>/dev/null; do :; done\n"
        "  done\n"
        "  iptables -w -F \"$c\" 2>/dev/null || true\n"
        "done\n"
        f"for c in $(iptables -w -S | sed -n 's/^-N \\({PREFIX}[^ ]*\\).*/\\1/p'); do\n"
        "  iptables -w -X \"$c\" 2>/dev/null || true\n"
        "done\n"
        f"! iptables -w -S | grep -q '^-N {PREFIX}'\n")


def list_chains_script() -> str:
    return f"iptables -w -S | sed -n 's/^-N \\({PREFIX}[^ ]*\\).*/\\1/p'\n"
