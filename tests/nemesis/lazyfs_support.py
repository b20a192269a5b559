"""What the lazy filesystem's tests need on this machine, said once."""

from __future__ import annotations

import os
import subprocess


def lazyfs_unavailable() -> str | None:
    """Why lazyfs cannot run here (root, /dev/fuse, Debian's python3-pyfuse3), or None."""
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        return "needs root and /dev/fuse"
    if not os.path.exists("/usr/bin/python3") or subprocess.run(
            ["/usr/bin/python3", "-c", "import pyfuse3, trio"], capture_output=True).returncode:
        return "needs Debian's python3-pyfuse3 (scripts/install.sh installs it)"
    return None
