"""A throw-away sshd on netns nodes, so the ssh provider can be tested and measured for real.

Keys (one host key shared by the nodes, one client key) are generated into
a private directory; sshd runs as a daemon of each netns node, so it lives
in that node's namespace and dies with it.  Returns the options the ssh
provider needs, with a known_hosts file naming each node's address.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Sequence

from core.nodes import Node, NodeError


def _sshd_binary() -> str:
    for p in (shutil.which("sshd"), "/usr/sbin/sshd"):
        if p and os.path.exists(p):
            return p
    raise NodeError("sshd not found: apt-get install openssh-server")


def start_sshd(nodes: Sequence[Node], workdir: Path, port: int = 22) -> dict[str, Any]:
    """Start sshd on every (netns) node; return ssh provider options for them."""
    sshd = _sshd_binary()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o700)
    hostkey, clientkey = workdir / "host_ed25519", workdir / "client_ed25519"
    for key in (hostkey, clientkey):
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                           check=True, capture_output=True, timeout=30)
    (workdir / "authorized_keys").write_text((workdir / "client_ed25519.pub").read_text())
    # sshd refuses to start without its privilege-separation directory.
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    hostpub = (workdir / "host_ed25519.pub").read_text().split()
    known = []
    for n in nodes:
        conf = workdir / f"sshd_{n.name}.conf"
        conf.write_text(f"""Port {port}
ListenAddress {n.ip}
HostKey {hostkey}
PidFile {workdir}/sshd_{n.name}.pid
AuthorizedKeysFile {workdir}/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
MaxSessions 100
MaxStartups 100
Subsystem sftp internal-sftp
# bash sources ~/.bashrc for commands run by sshd unless SHLVL says it is nested;
# this host's root .bashrc (pyenv init) costs ~250 ms a command, which would
# measure the rc file, not the provider.
SetEnv SHLVL=1
""")
        n.start_daemon("sshd", [sshd, "-D", "-e", "-f", str(conf)])
        host = n.ip if port == 22 else f"[{n.ip}]:{port}"
        known.append(f"{host} {hostpub[0]} {hostpub[1]}")
    (workdir / "known_hosts").write_text("\n".join(known) + "\n")
    deadline = time.monotonic() + 10
    for n in nodes:
        while True:
            try:
                socket.create_connection((n.ip, port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise NodeError(f"{n.name}: sshd did not start listening on {n.ip}:{port}"
                                    f" (see {n.log_files()})") from None
                time.sleep(0.05)
    return {"hosts": [{"name": n.name, "host": n.ip, "port": port} for n in nodes],
            "user": "root", "key_file": str(clientkey),
            "known_hosts": str(workdir / "known_hosts")}
