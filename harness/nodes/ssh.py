"""The ssh provider: real remote hosts through paramiko (Jepsen's classic model).

One connection per node, reused for every command, with TCP_NODELAY (small
request/response exchanges otherwise wait on Nagle + delayed ACK: ~48 ms per
command instead of ~5 ms).  Host keys are checked against known_hosts unless
``insecure_accept_host_keys`` is set.  A dropped connection is re-opened
with exponential backoff before a command starts; a command whose channel
dies mid-way is *not* re-run (it may not be idempotent) but reported.

Options: ``hosts`` (list of "host", "host:port" or {"host", "port", "name"}),
``user``, ``port`` (22), ``key_file``, ``known_hosts`` (default
~/.ssh/known_hosts), ``insecure_accept_host_keys``, ``sudo``,
``connect_timeout`` (10 s), ``data_root`` (/tmp/splitbrain-nodes on the host).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import select
import shlex
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Mapping, Sequence

from core.nodes import ExecResult, Node, NodeError, Provider, ProviderUnavailable
from .remote import ExecNode
from .state import StateFile

DEFAULT_DATA_ROOT = "/tmp/splitbrain-nodes"
_RECONNECT_TRIES = 5
_TIMED_OUT = 124


def parse_hosts(hosts: Any, default_port: int) -> list[dict[str, Any]]:
    """Normalise the ``hosts`` option into [{"name", "host", "port"}]."""
    if isinstance(hosts, str):
        hosts = [h for h in hosts.split(",") if h.strip()]
    out = []
    for i, h in enumerate(hosts or [], 1):
        if isinstance(h, Mapping):
            if "host" not in h:
                raise NodeError(f"ssh hosts[{i - 1}]: expected a 'host' field")
            out.append({"name": str(h.get("name") or f"n{i}"), "host": str(h["host"]),
                        "port": int(h.get("port") or default_port)})
            continue
        h = str(h).strip()
        host, port = h, default_port
        if h.startswith("["):  # [v6addr]:port
            host, _, rest = h[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else default_port
        elif h.count(":") == 1:
            host, p = h.split(":")
            port = int(p)
        out.append({"name": f"n{i}", "host": host, "port": port})
    return out


class SshConfig:
    def __init__(self, opts: Mapping[str, Any]):
        self.user = str(opts.get("user") or getpass.getuser())
        self.port = int(opts.get("port") or 22)
        self.key_file = opts.get("key_file")
        self.known_hosts = opts.get("known_hosts") or os.path.expanduser("~/.ssh/known_hosts")
        self.insecure = bool(opts.get("insecure_accept_host_keys", False))
        self.sudo = bool(opts.get("sudo", False))
        self.connect_timeout = float(opts.get("connect_timeout", 10))
        self.password = opts.get("password")

    def to_state(self) -> dict[str, Any]:
        # Never the password: state files are plain text in the store.
        return {"user": self.user, "port": self.port, "key_file": self.key_file,
                "known_hosts": self.known_hosts, "insecure_accept_host_keys": self.insecure,
                "sudo": self.sudo, "connect_timeout": self.connect_timeout}


class SshNode(ExecNode):
    def __init__(self, cfg: SshConfig, name: str, host: str, port: int, root: str):
        super().__init__()
        self.cfg = cfg
        self.name = name
        self.host = host
        self.port = port
        try:
            self.ip = socket.gethostbyname(host)
        except OSError as e:
            raise NodeError(f"{name}: cannot resolve ssh host {host!r}: {e}") from None
        self.root = root
        self.data_dir = f"{root}/data"
        self.log_dir = f"{root}/logs"
        self.run_dir = f"{root}/run"
        self._client = None
        self._sftp = None
        self._lock = threading.Lock()
        self.reconnects = 0

    def __repr__(self) -> str:
        return f"SshNode({self.name}, {self.cfg.user}@{self.host}:{self.port})"

    def reach_ref(self) -> dict[str, Any]:
        """How to reach this node without this object (nemesis journals store it)."""
        return {"name": self.name, "ip": self.ip, "data_dir": self.data_dir, "kind": "ssh",
                "host": self.host, "port": self.port, "user": self.cfg.user,
                "key": self.cfg.key_file, "sudo": self.cfg.sudo, "host_pids": False,
                "host_files": False}

    # -- connection -------------------------------------------------------------------------
    def _connect_once(self):
        import paramiko
        sock = socket.create_connection((self.host, self.port), timeout=self.cfg.connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = paramiko.SSHClient()
        if self.cfg.insecure:
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        else:
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
            if os.path.exists(self.cfg.known_hosts):
                client.load_host_keys(self.cfg.known_hosts)
        try:
            client.connect(self.host, self.port, username=self.cfg.user, sock=sock,
                           key_filename=self.cfg.key_file, password=self.cfg.password,
                           timeout=self.cfg.connect_timeout, banner_timeout=self.cfg.connect_timeout,
                           auth_timeout=self.cfg.connect_timeout,
                           look_for_keys=self.cfg.key_file is None, allow_agent=self.cfg.key_file is None)
        except BaseException:
            client.close()
            sock.close()
            raise
        transport = client.get_transport()
        transport.set_keepalive(15)
        return client

    def _transport(self):
        import paramiko
        with self._lock:
            if self._client is not None:
                t = self._client.get_transport()
                if t is not None and t.is_active():
                    return t
                self._close_locked()
                self.reconnects += 1
            delay = 0.1
            last: Exception | None = None
            for attempt in range(_RECONNECT_TRIES):
                try:
                    self._client = self._connect_once()
                    return self._client.get_transport()
                except paramiko.BadHostKeyException as e:
                    raise NodeError(f"{self.name}: host key of {self.host} does not match "
                                    f"{self.cfg.known_hosts}: {e}") from None
                except paramiko.SSHException as e:
                    if "not found in known_hosts" in str(e):
                        raise NodeError(
                            f"{self.name}: {self.host}:{self.port} is not in {self.cfg.known_hosts}"
                            " (add its key, e.g. with ssh-keyscan, or pass "
                            "--insecure-accept-host-keys for a throw-away cluster)") from None
                    if isinstance(e, paramiko.AuthenticationException):
                        raise NodeError(f"{self.name}: ssh authentication as {self.cfg.user}@"
                                        f"{self.host} failed: {e}") from None
                    last = e
                except (OSError, EOFError) as e:
                    last = e
                if attempt + 1 < _RECONNECT_TRIES:
                    time.sleep(delay)
                    delay = min(delay * 2, 2.0)
            raise NodeError(f"{self.name}: cannot connect to {self.host}:{self.port} after "
                            f"{_RECONNECT_TRIES} tries: {last}")

    def _close_locked(self) -> None:
        for obj in (self._sftp, self._client):
            if obj is not None:
                with contextlib.suppress(Exception):
                    obj.close()
        self._sftp = None
        self._client = None

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def drop_connection(self) -> None:
        """Close the socket under paramiko's feet (for tests of reconnection)."""
        with self._lock:
            if self._client is not None:
                t = self._client.get_transport()
                if t is not None and t.sock is not None:
                    with contextlib.suppress(OSError):
                        t.sock.shutdown(socket.SHUT_RDWR)

    # -- commands ---------------------------------------------------------------------------
    def command_line(self, argv: Sequence[str], env: Mapping[str, str] | None, cwd: str | None,
                     timeout: float) -> str:
        inner = [str(a) for a in argv]
        if env:
            for k in env:
                if not k or "=" in k:
                    raise NodeError(f"{self.name}: bad environment variable name {k!r}")
            inner = ["env", *(f"{k}={v}" for k, v in env.items()), *inner]
        if cwd:
            inner = ["sh", "-c", 'cd "$0" && exec "$@"', cwd, *inner]
        # The remote timeout really kills an overrunning command; closing the
        # channel alone would leave it running.
        inner = ["timeout", "-k", "2", f"{timeout:g}", *inner]
        if self.cfg.sudo:
            inner = ["sudo", "-n", "--", *inner]
        return shlex.join(inner)

    def exec(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
             timeout: float = 30.0, stdin: bytes | None = None, cwd: str | None = None) -> ExecResult:
        import paramiko
        if not argv:
            raise NodeError(f"{self.name}: exec of an empty argv")
        cmd = self.command_line(argv, env, cwd, timeout)
        chan = None
        for attempt in range(2):
            transport = self._transport()
            try:
                chan = transport.open_session(timeout=self.cfg.connect_timeout)
                break
            except (paramiko.SSHException, EOFError, OSError) as e:
                # Nothing ran yet, so a retry on a fresh connection is safe.
                with self._lock:
                    self._close_locked()
                    self.reconnects += 1
                if attempt:
                    raise NodeError(f"{self.name}: cannot open an ssh channel: {e}") from None
        assert chan is not None
        t0 = time.monotonic()
        deadline = t0 + timeout + 5
        out: list[bytes] = []
        err: list[bytes] = []
        try:
            chan.exec_command(cmd)
            if stdin:
                chan.sendall(stdin)
            chan.shutdown_write()
            fd = chan.fileno()
            while True:
                got = False
                while chan.recv_ready():
                    out.append(chan.recv(65536))
                    got = True
                while chan.recv_stderr_ready():
                    err.append(chan.recv_stderr(65536))
                    got = True
                if chan.exit_status_ready() and not chan.recv_ready() and \
                        not chan.recv_stderr_ready():
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NodeError(f"{self.name}: {shlex.join(map(str, argv))} timed out after "
                                    f"{timeout}s (no answer)")
                if not got:
                    if chan.eof_received:
                        chan.status_event.wait(min(left, 0.05))
                    else:
                        select.select([fd], [], [], min(left, 0.5))
                if chan.closed and not chan.exit_status_ready():
                    raise NodeError(f"{self.name}: connection lost while running {argv[0]}")
            code = chan.recv_exit_status()
        except (paramiko.SSHException, EOFError, OSError) as e:
            raise NodeError(f"{self.name}: connection lost while running {argv[0]}: {e}") from None
        finally:
            chan.close()
        if code == _TIMED_OUT and time.monotonic() - t0 >= timeout:
            raise NodeError(f"{self.name}: {shlex.join(map(str, argv))} timed out after {timeout}s")
        return ExecResult(code, b"".join(out), b"".join(err))

    # -- files ------------------------------------------------------------------------------
    def _sftp_client(self):
        self._transport()
        with self._lock:
            if self._sftp is None:
                self._sftp = self._client.open_sftp()
            return self._sftp

    def put_file(self, remote_path: str, data: bytes, mode: int = 0o644) -> None:
        if self.cfg.sudo:
            # SFTP runs as the login user; through sudo the bytes go over stdin.
            self.check(["sh", "-c", 'mkdir -p "${1%/*}" && cat > "$1" && chmod "$2" "$1"', "sh",
                        remote_path, oct(mode)[2:]], stdin=data)
            return
        try:
            sftp = self._sftp_client()
            try:
                f = sftp.open(remote_path, "wb")
            except FileNotFoundError:
                self.check(["mkdir", "-p", os.path.dirname(remote_path) or "/"])
                f = sftp.open(remote_path, "wb")
            with f:
                f.set_pipelined(True)
                f.write(data)
            sftp.chmod(remote_path, mode)
        except (OSError, EOFError) as e:
            raise NodeError(f"{self.name}: cannot write {remote_path}: {e}") from None

    def get_file(self, remote_path: str) -> bytes:
        if self.cfg.sudo:
            r = self.exec(["cat", "--", remote_path])
            if r.exit_code != 0:
                raise NodeError(f"{self.name}: cannot read {remote_path}: "
                                f"{r.stderr.decode(errors='replace').strip()}")
            return r.stdout
        try:
            with self._sftp_client().open(remote_path, "rb") as f:
                f.prefetch()
                return f.read()
        except (OSError, EOFError) as e:
            raise NodeError(f"{self.name}: cannot read {remote_path}: {e}") from None


# Kills every daemon group recorded by a pid file, then removes the node's directory
# and the test's directory once the last node has gone from it.
_CLEANUP = ('root=$1; for f in "$root"/run/*.pid; do [ -s "$f" ] || continue; '
            'p=$(cat "$f"); kill -s KILL -- "-$p" 2>/dev/null; kill -s KILL -- "$p" 2>/dev/null; '
            'done; rm -rf "$root"; rmdir "${root%/*}" 2>/dev/null; exit 0')


class SshProvider(Provider):
    name = "ssh"
    OPTIONS = {"hosts": None, "user": None, "port": 22, "key_file": None, "password": None,
               "known_hosts": None, "insecure_accept_host_keys": False, "sudo": False,
               "connect_timeout": 10, "data_root": DEFAULT_DATA_ROOT}
    refused_faults = {"cpu-starve": "a remote host's processes are not in this host's cgroups "
                                    "(cpu-starve works on netns nodes)"}

    def __init__(self, store_root: Path, test_id: str, options: Mapping[str, Any] | None = None):
        opts = dict(options or {})
        self.store_root = Path(store_root)
        self.test_id = test_id
        self.cfg = SshConfig(opts)
        self.hosts = parse_hosts(opts.get("hosts"), self.cfg.port)
        self.data_root = str(opts.get("data_root", DEFAULT_DATA_ROOT))
        self.state = StateFile(self.store_root, test_id, self.name)
        self.nodes: list[SshNode] = []

    def create(self, count: int) -> list[Node]:
        if count < 1:
            raise NodeError("need at least one node")
        if len(self.hosts) < count:
            raise ProviderUnavailable(f"the ssh provider needs {count} hosts but "
                                      f"{len(self.hosts)} were given (option 'hosts' / --hosts)")
        chosen = self.hosts[:count]
        roots = [f"{self.data_root}/{self.test_id}/{h['name']}" for h in chosen]
        self.state.update(ssh=self.cfg.to_state(), nodes=[
            {"name": h["name"], "host": h["host"], "port": h["port"], "ip": h["host"], "root": r}
            for h, r in zip(chosen, roots)])
        try:
            self.nodes = [SshNode(self.cfg, h["name"], h["host"], h["port"], r)
                          for h, r in zip(chosen, roots)]

            def prepare(n: SshNode) -> None:
                n.check(["mkdir", "-p", n.data_dir, n.log_dir, n.run_dir])

            with ThreadPoolExecutor(max_workers=min(8, count)) as pool:
                list(pool.map(prepare, self.nodes))
        except BaseException:
            self.destroy()
            raise
        return list(self.nodes)

    def destroy(self) -> None:
        if self.nodes:
            def clean(n: SshNode) -> None:
                with contextlib.suppress(NodeError):
                    n.exec(["sh", "-c", _CLEANUP, "sh", n.root], timeout=30)
                n.close()
            with ThreadPoolExecutor(max_workers=min(8, len(self.nodes))) as pool:
                list(pool.map(clean, self.nodes))
        self.nodes = []
        self.state.remove()


def reclaim(state: Mapping[str, Any]) -> list[str]:
    """Kill the daemons and remove the directories an ssh state file names, host by host."""
    cfg = SshConfig(state.get("ssh") or {})
    done, failed = [], []
    for rec in state.get("nodes") or []:
        node = SshNode(cfg, rec["name"], rec["host"], int(rec["port"]), rec["root"])
        try:
            node.check(["sh", "-c", _CLEANUP, "sh", rec["root"]], timeout=30)
            done.append(f"daemons and {rec['root']} on {rec['host']}")
        except NodeError as e:
            failed.append(str(e))
        finally:
            node.close()
    if failed:
        # The state file stays, so a later clean can retry once the host is back.
        raise NodeError("ssh clean incomplete: " + "; ".join(failed))
    return done
