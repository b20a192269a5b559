"""The netns provider: one Linux bridge, one network namespace per node.

Needs only root, iproute2 and (for hosts whose FORWARD policy is DROP)
iptables.  Nodes share the host's filesystem and process table, so a
node's ``data_dir`` is a host directory private to the test and node, and
files are read and written directly.  Daemons run under
``ip netns exec`` in a new session, so each is its own process-group
leader and a pause (SIGSTOP to the group) freezes all it started.

Layout for test tag ``T`` (interface names must fit IFNAMSIZ-1 = 15)::

    bridge     sbT          host side 10.77.X.1/24
    namespace  sb-T-n<i>    eth0 = 10.77.X.<i+1>/24, lo up
    veth       sbTv<i>      host end, enslaved to the bridge
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import shutil
import signal as _signal
import subprocess
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from core.nodes import Daemon, ExecResult, Node, NodeError, Provider
from .state import StateFile, all_states, state_lock

DEFAULT_SUBNET = "10.77.0.0/16"
DEFAULT_DATA_ROOT = "/tmp/splitbrain-nodes"
_TAG_OK = re.compile(r"^[a-z0-9]{1,8}$")


def tag_for(test_id: str) -> str:
    """A short, interface-name-safe tag for a test id (the id itself when it fits)."""
    if _TAG_OK.match(test_id):
        return test_id
    import hashlib
    return hashlib.sha1(test_id.encode()).hexdigest()[:8]


def _run(argv: Sequence[str], *, check: bool = True, timeout: float = 20.0,
         input: bytes | None = None) -> subprocess.CompletedProcess:
    try:
        r = subprocess.run(list(argv), input=input, capture_output=True, timeout=timeout)
    except FileNotFoundError:
        raise NodeError(f"{argv[0]} not found: the netns provider needs iproute2 (and iptables)"
                        " installed and root") from None
    except subprocess.TimeoutExpired:
        raise NodeError(f"{' '.join(argv)} timed out after {timeout}s") from None
    if check and r.returncode != 0:
        raise NodeError(f"{' '.join(argv)} exited {r.returncode}: "
                        f"{r.stderr.decode(errors='replace').strip()}")
    return r


def _default_env() -> dict[str, str]:
    # Nodes share the host filesystem, so the controller's PATH is meaningful
    # there; nothing else of the controller's environment leaks in.
    return {"PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
                                           "/sbin:/bin"),
            "HOME": "/root", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def _proc_state(pid: int) -> str | None:
    """The one-letter state from /proc/<pid>/stat, or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm may contain spaces and parentheses; the state follows the last ')'.
    return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3].decode()


class NetnsNode(Node):
    def __init__(self, provider: "NetnsProvider", name: str, ns: str, ip: str, root: Path):
        self.provider = provider
        self.name = name
        self.ns = ns
        self.ip = ip
        self.root = root
        self.data_dir = str(root / "data")
        self.log_dir = root / "logs"
        self._children: dict[int, subprocess.Popen] = {}
        self._logs: list[str] = []

    def __repr__(self) -> str:
        return f"NetnsNode({self.name}, {self.ip}, ns={self.ns})"

    def reach_ref(self) -> dict[str, Any]:
        """How to reach this node without this object (nemesis journals store it)."""
        return {"name": self.name, "ip": self.ip, "data_dir": self.data_dir, "kind": "netns",
                "ns": self.ns, "host_pids": True, "host_files": True}

    def _env(self, env: Mapping[str, str] | None) -> dict[str, str]:
        e = _default_env()
        if env:
            e.update({str(k): str(v) for k, v in env.items()})
        return e

    def exec(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
             timeout: float = 30.0, stdin: bytes | None = None, cwd: str | None = None) -> ExecResult:
        argv = [str(a) for a in argv]
        if not argv:
            raise NodeError(f"{self.name}: exec of an empty argv")
        try:
            p = subprocess.Popen(["ip", "netns", "exec", self.ns, *argv], env=self._env(env),
                                 cwd=cwd or "/", stdin=subprocess.PIPE if stdin is not None
                                 else subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            raise NodeError(f"{self.name}: cannot run {argv[0]}: {e}") from None
        try:
            out, err = p.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            # The command may have forked; its whole group goes.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, _signal.SIGKILL)
            p.communicate()
            raise NodeError(f"{self.name}: {' '.join(argv)} timed out after {timeout}s") from None
        # `ip netns exec` execs argv in place; 255 with its own message means it
        # could not (e.g. no such program), which callers see as a normal failure.
        return ExecResult(p.returncode, out, err)

    def start_daemon(self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                     cwd: str | None = None, log_path: str | None = None) -> Daemon:
        argv = [str(a) for a in argv]
        log = Path(log_path) if log_path else self.log_dir / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as lf:
            try:
                # start_new_session: setsid() in the child, so pid == pgid and
                # the group signal reaches everything the daemon forks.
                p = subprocess.Popen(["ip", "netns", "exec", self.ns, *argv], env=self._env(env),
                                     cwd=cwd or self.data_dir, stdin=subprocess.DEVNULL,
                                     stdout=lf, stderr=subprocess.STDOUT, start_new_session=True)
            except OSError as e:
                raise NodeError(f"{self.name}: cannot start {name}: {e}") from None
        self._children[p.pid] = p
        if str(log) not in self._logs:
            self._logs.append(str(log))
        return Daemon(node=self.name, name=name, argv=argv, pid=p.pid, pgid=p.pid,
                      log_path=str(log), env=dict(env or {}))

    def signal(self, daemon: Daemon, sig: int = _signal.SIGTERM, *, group: bool = True) -> None:
        try:
            if group and daemon.pgid:
                os.killpg(daemon.pgid, sig)
            else:
                os.kill(daemon.pid, sig)
        except ProcessLookupError:
            pass  # already gone: signalling a dead daemon is not an error for faults
        self._reap()

    def is_running(self, daemon: Daemon) -> bool:
        self._reap()
        st = _proc_state(daemon.pid)
        return st is not None and st not in ("Z", "X")

    def _reap(self) -> None:
        for pid, p in list(self._children.items()):
            if p.poll() is not None:
                self._children.pop(pid, None)  # another thread may have reaped it first

    def wait(self, daemon: Daemon, timeout: float) -> int | None:
        """Exit code once the daemon (our own child) exits within timeout, else None."""
        p = self._children.get(daemon.pid)
        if p is None:
            return None
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def put_file(self, remote_path: str, data: bytes, mode: int = 0o644) -> None:
        path = Path(remote_path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.sbtmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, mode)  # umask must not narrow what the caller asked for
            os.replace(tmp, path)
        except OSError as e:
            raise NodeError(f"{self.name}: cannot write {remote_path}: {e}") from None

    def get_file(self, remote_path: str) -> bytes:
        try:
            return Path(remote_path).read_bytes()
        except OSError as e:
            raise NodeError(f"{self.name}: cannot read {remote_path}: {e}") from None

    def log_files(self) -> list[str]:
        found = set(self._logs)
        if self.log_dir.is_dir():
            found.update(str(p) for p in self.log_dir.iterdir() if p.is_file())
        return sorted(found)


class NetnsProvider(Provider):
    name = "netns"
    OPTIONS = {"subnet": DEFAULT_SUBNET, "data_root": DEFAULT_DATA_ROOT, "forward_rule": True}

    def __init__(self, store_root: Path, test_id: str, options: Mapping[str, Any] | None = None):
        opts = dict(options or {})
        self.store_root = Path(store_root)
        self.test_id = test_id
        self.tag = tag_for(test_id)
        self.subnet = ipaddress.ip_network(opts.get("subnet", DEFAULT_SUBNET))
        self.data_root = Path(opts.get("data_root", DEFAULT_DATA_ROOT))
        self.forward_rule = bool(opts.get("forward_rule", True))
        self.state = StateFile(self.store_root, test_id, self.name)
        self.nodes: list[NetnsNode] = []
        self.bridge = f"sb{self.tag}"

    # -- creation ---------------------------------------------------------------------------
    def _pick_subnet(self) -> ipaddress.IPv4Network:
        """A /24 of the configured range used by no other state file and no host route."""
        taken: list[ipaddress.IPv4Network] = []
        for _, st in all_states(self.store_root):
            if st.get("test_id") != self.test_id and st.get("subnet"):
                with contextlib.suppress(ValueError):
                    taken.append(ipaddress.ip_network(st["subnet"]))
        # Routes catch live tests of other stores and docker's own bridges.
        for line in _run(["ip", "-4", "route", "show", "table", "all"], check=False).stdout.decode() \
                .splitlines():
            word = line.split()[0] if line.split() else ""
            if word in ("local", "broadcast", "unicast") and len(line.split()) > 1:
                word = line.split()[1]
            with contextlib.suppress(ValueError):
                if word != "default":
                    taken.append(ipaddress.ip_network(word, strict=False))
        prefix = max(24, self.subnet.prefixlen)
        for cand in self.subnet.subnets(new_prefix=prefix):
            if not any(cand.overlaps(t) for t in taken):
                return cand
        raise NodeError(f"no free /{prefix} left in {self.subnet} (clean up with 'splitbrain clean'"
                        " or choose another subnet)")

    def create(self, count: int) -> list[Node]:
        if os.geteuid() != 0:
            raise NodeError("the netns provider needs root (network namespaces and bridges)")
        if count < 1:
            raise NodeError("need at least one node")
        with state_lock(self.store_root):
            if Path(f"/sys/class/net/{self.bridge}").exists():
                raise NodeError(f"bridge {self.bridge} already exists: test id {self.test_id} is in"
                                " use (or left behind: run 'splitbrain clean')")
            net = self._pick_subnet()
            hosts = list(net.hosts())
            if count + 1 > len(hosts):
                raise NodeError(f"{count} nodes do not fit in {net}")
            host_ip = hosts[0]
            root = self.data_root / self.test_id
            self.state.update(subnet=str(net), bridge=self.bridge, host_ip=str(host_ip),
                              data_root=str(root), forward_rule=None, nodes=[])
            try:
                # Still under the lock: once the bridge has its address, the route
                # marks the subnet as taken for every other controller.
                _run(["ip", "link", "add", self.bridge, "type", "bridge"])
                _run(["ip", "addr", "add", f"{host_ip}/{net.prefixlen}", "dev", self.bridge])
            except BaseException:
                self.destroy()
                raise
        try:
            _run(["ip", "link", "set", self.bridge, "up"])
            self._allow_forwarding()
            for i in range(1, count + 1):
                self._add_node(i, str(hosts[i]), net.prefixlen, root)
        except BaseException:
            self.destroy()
            raise
        return list(self.nodes)

    def _allow_forwarding(self) -> None:
        """Let frames between ports of our bridge through an iptables FORWARD policy of DROP.

        With br_netfilter loaded (docker loads it) bridged frames traverse the
        FORWARD chain, and docker sets its policy to DROP.  One ACCEPT rule
        scoped to this bridge, removed at teardown (and by ``clean``), fixes
        that without opening anything else.
        """
        if not self.forward_rule or shutil.which("iptables") is None:
            return
        rule = ["FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT"]
        self.state.update(forward_rule=rule)
        _run(["iptables", "-w", "5", "-I", *rule])

    def _add_node(self, i: int, ip: str, prefixlen: int, root: Path) -> None:
        name = f"n{i}"
        ns = f"sb-{self.tag}-{name}"
        veth = f"sb{self.tag}v{i}"
        node_root = root / name
        self.state.data["nodes"].append({"name": name, "ns": ns, "veth": veth, "ip": ip,
                                         "root": str(node_root)})
        self.state.save()
        (node_root / "data").mkdir(parents=True, exist_ok=True)
        (node_root / "logs").mkdir(parents=True, exist_ok=True)
        _run(["ip", "netns", "add", ns])
        _run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
        _run(["ip", "link", "set", veth, "master", self.bridge, "up"])
        _run(["ip", "-n", ns, "-batch", "-"], input=(
            f"addr add {ip}/{prefixlen} dev eth0\nlink set eth0 up\nlink set lo up\n"
            # Routes to everything else go via the host end, so a target may bind 0.0.0.0
            # and clients on the controller still reach it.
            f"route add default via {self.state.data['host_ip']}\n").encode())
        self.nodes.append(NetnsNode(self, name, ns, ip, node_root))

    # -- teardown ---------------------------------------------------------------------------
    def destroy(self) -> None:
        for n in self.nodes:
            for p in n._children.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, _signal.SIGKILL)
        if self.state.path.exists() or self.state.data.get("bridge"):
            data = dict(self.state.data)
            reclaim(data)
        for n in self.nodes:
            for p in n._children.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(2)
        self.nodes = []
        self.state.remove()


def _kill_ns_processes(ns: str) -> None:
    """SIGKILL every process in the namespace: a live process keeps a deleted namespace alive."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        r = _run(["ip", "netns", "pids", ns], check=False)
        pids = [int(x) for x in r.stdout.split() if x.strip().isdigit()]
        pids = [p for p in pids if _proc_state(p) not in (None, "Z", "X")]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, _signal.SIGKILL)
        time.sleep(0.02)


def reclaim(state: Mapping[str, Any]) -> list[str]:
    """Destroy everything a netns state file names; tolerant of parts that never existed."""
    done = []
    existing = set(_run(["ip", "netns", "list"], check=False).stdout.decode().split())
    for node in state.get("nodes") or []:
        ns = node.get("ns")
        if ns and ns in existing:
            _kill_ns_processes(ns)
            _run(["ip", "netns", "del", ns], check=False)
            done.append(f"namespace {ns}")
        veth = node.get("veth")
        if veth and Path(f"/sys/class/net/{veth}").exists():
            _run(["ip", "link", "del", veth], check=False)
    rule = state.get("forward_rule")
    if rule:
        # Delete every copy (a crash between insert and save could not make two, but a
        # re-run of clean must stay harmless).
        for _ in range(10):
            if _run(["iptables", "-w", "5", "-D", *rule], check=False).returncode != 0:
                break
        done.append("iptables " + " ".join(rule))
    bridge = state.get("bridge")
    if bridge and Path(f"/sys/class/net/{bridge}").exists():
        _run(["ip", "link", "del", bridge], check=False)
        done.append(f"bridge {bridge}")
    root = state.get("data_root")
    if root and Path(root).is_dir():
        shutil.rmtree(root, ignore_errors=True)
        done.append(f"directory {root}")
    return done
