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

# What the nemesis tests' docker node image holds.  Here, not in conftest.py: "conftest" is
# whichever test directory's conftest was imported first, so `from conftest import` is a lottery.
DOCKER_PACKAGES = ["python3", "faketime", "libfaketime"]


HERE = Path(__file__).parent
PORT = 7411
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def py_for(node) -> str:
    """The python3 to run test scripts with on ``node`` (the image's in a container)."""
    return "python3" if getattr(node, "container_name", None) else PY


def exists(node, path: str) -> bool:
    return node.exec(["test", "-e", path]).ok


def node_procs(node, marker: str) -> list[tuple[int, str, str]]:
    """(pid, state, cmdline) of the node's processes whose cmdline contains ``marker``."""
    r = node.exec([py_for(node), f"{node.data_dir}/procs.py", marker], timeout=20)
    assert r.ok, r.stderr
    return [tuple(p) for p in json.loads(r.text())]


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
        self._starts = 0

    def argv(self, node) -> list[str]:
        udp_log = [f"{node.data_dir}/udp.log"] if self.udp else []
        return [*self.wrapper, py_for(node), f"{node.data_dir}/peer.py", str(PORT), node.data_dir, *udp_log]

    def start(self, node) -> None:
        from core.nodes import NodeError
        env = dict(self.env_hook(node)) if self.env_hook else {}
        # A fresh log per start, so "ready" is this start's and not the last one's.
        self._starts += 1
        d = node.start_daemon("peer", self.argv(node), env=env,
                              log_path=f"{node.data_dir}/peer-{id(self)}-{self._starts}.log",
                              cwd=node.data_dir)
        self._daemons[node.name] = [d]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if b"ready" in node.get_file(d.log_path):
                    return
            except NodeError:
                pass  # the log appears once the server has been exec'd
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

    def fault_daemons(self, node) -> list:
        return self.daemons(node)

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
    r = node.exec([py_for(node), f"{node.data_dir}/probe.py", mode, str(PORT), str(timeout), token,
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


class LocalNode:
    """A real node that is the host itself, for tests that need no root.

    It implements the node contract (``core.nodes.Node``) with plain
    subprocesses; ``local = True`` tells the journal to reach it directly.
    """

    local = True

    def __init__(self, name: str, data_dir: Path):
        from core.nodes import Node
        Node.register(type(self))
        self.name = name
        self.ip = "127.0.0.1"
        self.data_dir = str(data_dir)
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self._logs: list[str] = []

    def exec(self, argv, *, env=None, timeout=30.0, stdin=None, cwd=None):
        import subprocess
        from core.nodes import ExecResult, NodeError
        e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **(env or {})}
        try:
            r = subprocess.run(list(argv), env=e, input=stdin, capture_output=True,
                               timeout=timeout, cwd=cwd, start_new_session=True)
        except subprocess.TimeoutExpired:
            raise NodeError(f"{self.name}: {argv} timed out") from None
        return ExecResult(r.returncode, r.stdout, r.stderr)

    def sh(self, script, *, env=None, timeout=30.0):
        return self.exec(["sh", "-c", script], env=env, timeout=timeout)

    def check(self, argv, **kw):
        from core.nodes import NodeError
        r = self.exec(argv, **kw)
        if r.exit_code != 0:
            raise NodeError(f"{self.name}: {argv} exited {r.exit_code}: {r.stderr!r}")
        return r

    def start_daemon(self, name, argv, *, env=None, cwd=None, log_path=None):
        import subprocess
        from core.nodes import Daemon
        log = log_path or f"{self.data_dir}/{name}.log"
        with open(log, "ab") as lf:
            p = subprocess.Popen(list(argv), env={"PATH": os.environ.get("PATH", ""), **(env or {})},
                                 stdout=lf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True, cwd=cwd or self.data_dir)
        self._logs.append(log)
        self._popen = getattr(self, "_popen", []) + [p]
        return Daemon(node=self.name, name=name, argv=list(argv), pid=p.pid, pgid=p.pid,
                      log_path=log, env=dict(env or {}))

    def signal(self, daemon, sig=signal.SIGTERM, *, group=True):
        try:
            if group and daemon.pgid:
                os.killpg(daemon.pgid, sig)
            else:
                os.kill(daemon.pid, sig)
        except ProcessLookupError:
            pass
        for p in getattr(self, "_popen", []):
            p.poll()

    def is_running(self, daemon):
        for p in getattr(self, "_popen", []):
            p.poll()
        st = proc_state(daemon.pid)
        return st is not None and st not in ("Z", "X")

    def put_file(self, remote_path, data, mode=0o644):
        Path(remote_path).write_bytes(data)
        os.chmod(remote_path, mode)

    def get_file(self, remote_path):
        return Path(remote_path).read_bytes()

    def log_files(self):
        return list(self._logs)


def proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return stat[stat.rindex(b")") + 2:stat.rindex(b")") + 3].decode()


# Shared by conftest.py and the test modules; a test module cannot import
# conftest by name (every test folder has one, and they would collide).
PROVIDERS = [
    pytest.param("netns", marks=pytest.mark.netns, id="netns"),
    pytest.param("docker", marks=[pytest.mark.docker, pytest.mark.slow], id="docker"),
]


def _engine_up() -> bool:
    try:
        import docker
        docker.from_env(timeout=10).ping()
        return True
    except Exception:  # noqa: BLE001 - any failure means "no engine"
        return False


def make_provider(kind: str, store, request):
    from harness.nodes import get_provider
    why = netns_missing()
    if why:
        pytest.skip(why)
    if kind == "docker":
        image = request.getfixturevalue("docker_image")
        return get_provider("docker", store, options={"image": image})
    return get_provider("netns", store)




def controller_report(proc, timeout: float = 120) -> dict:
    """The one JSON line a crash controller prints once its faults are on (the test fails with
    the controller's stderr when none comes)."""
    import select
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if ready else b""
    if not line:
        proc.kill()
        pytest.fail(f"controller did not report: {proc.stderr.read().decode()[-2000:]}")
    return json.loads(line)


def end_controller(proc, store, env) -> None:
    """Kill a crash controller if it still runs, then ``splitbrain clean`` its store (the
    teardown that leaves nothing whatever the test found)."""
    import subprocess
    if proc.poll() is None:
        proc.kill()
        proc.wait(10)
    subprocess.run([sys.executable, "-m", "harness", "clean", "--store", str(store)],
                   cwd=HERE.parent.parent, env=env, capture_output=True, timeout=180)
