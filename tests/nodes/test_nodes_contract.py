"""The node contract, run against real netns, docker and ssh nodes alike."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from harness.nodes import NodeError

from nodes_support import PROVIDER_PARAMS, make_cluster

STATE = 'sed -n "s/.*) \\(.\\).*/\\1/p" /proc/$1/stat 2>/dev/null'


def proc_state(node, pid: int) -> str:
    return node.exec(["sh", "-c", STATE, "sh", str(pid)]).text().strip()


def wait_for(pred, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


AWKWARD = ["a b", "it's", 'say "hi"', "$HOME", "${PATH}", "a;b", "`id`", "$(id)", "*", "\\n",
           "|", "&&", "", " ", "ünïcødé", "--", "-n", "x\ty"]


def test_exec_awkward_arguments_reach_the_program_verbatim(cluster):
    n = cluster.nodes[0]
    r = n.exec(["printf", "%s\\n", *AWKWARD])
    assert r.exit_code == 0, r
    assert r.stdout.decode().split("\n")[:-1] == AWKWARD


def test_exec_env_stdin_cwd_exit_code_and_shell(cluster):
    n = cluster.nodes[0]
    r = n.exec(["printenv", "WEIRD"], env={"WEIRD": "a b $X ;'\""})
    assert r.stdout == b"a b $X ;'\"\n"
    data = bytes(range(256)) * 3
    assert n.exec(["cat"], stdin=data).stdout == data
    assert n.exec(["pwd"], cwd="/tmp").stdout == b"/tmp\n"
    r = n.exec(["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert (r.exit_code, r.stdout, r.stderr) == (7, b"out\n", b"err\n")
    assert n.sh("echo $((6 * 7))").stdout == b"42\n"   # a shell only when asked for
    assert n.exec(["echo", "$((6 * 7))"]).stdout == b"$((6 * 7))\n"
    with pytest.raises(NodeError):
        n.check(["false"])
    assert n.exec(["/nonexistent/program"]).exit_code != 0


def test_exec_timeout_raises_and_kills(cluster):
    n = cluster.nodes[0]
    marker = f"sbtimeout{os.getpid()}{cluster.kind}"
    t0 = time.monotonic()
    with pytest.raises(NodeError, match="timed out"):
        n.exec(["sh", "-c", f"sleep 30; : {marker}"], timeout=1)
    assert time.monotonic() - t0 < 10
    # The overrunning command is gone, not merely abandoned.
    wait_for(lambda: marker not in n.exec(["ps", "-eo", "args"]).text(), "the timed-out command to die")


def test_file_round_trip(cluster):
    n = cluster.nodes[0]
    path = f"{n.data_dir}/deep/er/file.bin"
    data = os.urandom(200_000) + bytes(range(256))
    n.put_file(path, data, mode=0o640)
    assert n.get_file(path) == data
    assert n.exec(["stat", "-c", "%a %s", path]).text().split() == ["640", str(len(data))]
    assert n.exec(["sha256sum", path]).text().split()[0] == __import__("hashlib").sha256(data).hexdigest()
    n.put_file(path, b"shorter", mode=0o600)   # overwrite truncates
    assert n.get_file(path) == b"shorter"
    with pytest.raises(NodeError):
        n.get_file(f"{n.data_dir}/no/such/file")


def test_daemon_start_kill_stop_cont_restart(cluster):
    n = cluster.nodes[1]
    argv = ["sh", "-c", "echo started $$; sleep 1000 & wait"]
    d = n.start_daemon("sleeper", argv)
    assert d.pid > 0 and d.pgid == d.pid
    assert n.is_running(d)
    wait_for(lambda: b"started" in n.get_file(d.log_path), "the daemon's log line")
    # The pid is the daemon's own (the wrapper exec'd into it), not a wrapper's.
    assert n.get_file(d.log_path).split()[1] == str(d.pid).encode()
    child = wait_for(lambda: n.exec(["pgrep", "-g", str(d.pgid), "sleep"]).text().split(),
                     "the daemon's child")
    child_pid = int(child[0])

    n.signal(d, signal.SIGSTOP)
    wait_for(lambda: proc_state(n, d.pid) == "T" and proc_state(n, child_pid) == "T",
             "daemon and child stopped")
    assert n.is_running(d)           # paused is still running
    n.signal(d, signal.SIGCONT)
    wait_for(lambda: proc_state(n, d.pid) in "SR" and proc_state(n, child_pid) in "SR",
             "daemon and child continued")

    n.signal(d, signal.SIGKILL)
    wait_for(lambda: not n.is_running(d), "the daemon to die")
    wait_for(lambda: proc_state(n, child_pid) in ("", "Z"), "the daemon's child to die with its group")

    d2 = n.start_daemon("sleeper", argv)
    assert d2.pid != d.pid and n.is_running(d2)
    wait_for(lambda: n.get_file(d2.log_path).count(b"started") == 2, "the restart's log line")
    assert d2.log_path in n.log_files()
    n.signal(d2, signal.SIGTERM)
    wait_for(lambda: not n.is_running(d2), "TERM to stop the daemon")


def test_node_to_node_and_controller_tcp(cluster):
    a, b, c = cluster.nodes
    assert len({a.ip, b.ip, c.ip}) == 3
    port = 7411
    srv = a.start_daemon("pong", ["sh", "-c", f"while :; do echo pong | nc -l -q 0 {a.ip} {port}; done"])

    def ask(node) -> bytes:
        return node.exec(["nc", "-w", "2", a.ip, str(port)], stdin=b"", timeout=10).stdout

    wait_for(lambda: ask(b) == b"pong\n", f"{b.name} -> {a.name} tcp")
    wait_for(lambda: ask(c) == b"pong\n", f"{c.name} -> {a.name} tcp")

    def from_controller() -> bytes:
        try:
            with socket.create_connection((a.ip, port), timeout=2) as s:
                s.shutdown(socket.SHUT_WR)
                return s.recv(100)
        except OSError:
            return b""
    wait_for(lambda: from_controller() == b"pong\n", "controller -> node tcp")
    a.signal(srv, signal.SIGKILL)


def _leftovers(kind: str, provider, nodes, pids: list[tuple[object, int]]) -> list[str]:
    """Everything of the test that still exists after destroy."""
    left = []
    if kind in ("netns", "ssh"):
        p = provider if kind == "netns" else None
        if p is not None:
            ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
            left += [f"namespace {line}" for line in ns.splitlines() if f"sb-{p.tag}-" in line]
            left += [f"link {x}" for x in os.listdir("/sys/class/net") if x.startswith(f"sb{p.tag}")]
            fw = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True).stdout
            left += [f"rule {line}" for line in fw.splitlines() if f"sb{p.tag}" in line]
            if (p.data_root / p.test_id).exists():
                left.append(f"dir {p.data_root / p.test_id}")
    if kind == "ssh":
        for n in nodes:
            for d in (Path(n.root), Path(n.root).parent):   # the sshd hosts share this filesystem
                if d.exists():
                    left.append(f"dir {d}")
    if kind == "docker":
        import docker
        cl = docker.from_env()
        left += [f"container {c.name}" for c in cl.containers.list(
            all=True, filters={"label": f"splitbrain.test={provider.test_id}"})]
        left += [f"network {n.name}" for n in cl.networks.list(names=[provider.network_name])
                 if n.name == provider.network_name]
    if kind in ("netns", "ssh"):
        for _, pid in pids:   # these providers' daemon pids are host pids
            try:
                st = Path(f"/proc/{pid}/stat").read_text()
                if st[st.rindex(")") + 2] != "Z":
                    left.append(f"process {pid}")
            except FileNotFoundError:
                pass
    if provider.state.path.exists():
        left.append(f"state file {provider.state.path}")
    return left


@pytest.mark.parametrize("kind", PROVIDER_PARAMS)
def test_teardown_leaves_nothing_behind(kind, tmp_path, request):
    c = make_cluster(kind, tmp_path / "store", 2, request)
    try:
        pids = []
        for n in c.nodes:
            d = n.start_daemon("sleeper", ["sh", "-c", "sleep 1000 & sleep 1001"])
            pids.append((n, d.pid))
        before = _leftovers(kind, c.provider, c.nodes, pids)
        # The check sees the live resources, so an empty list afterwards means something.
        assert f"state file {c.provider.state.path}" in before and len(before) >= 3, before
        c.provider.destroy()
        c.provider.destroy()   # idempotent
        deadline = time.monotonic() + 5
        left = _leftovers(kind, c.provider, c.nodes, pids)
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = _leftovers(kind, c.provider, c.nodes, pids)
        assert left == []
    finally:
        c.close()


def test_reach_ref_lets_a_crashed_controller_find_the_node_again(cluster):
    n = cluster.nodes[0]
    ref = n.reach_ref()
    assert ref["kind"] == cluster.kind and ref["name"] == n.name and ref["ip"] == n.ip
    import json
    assert json.loads(json.dumps(ref)) == ref   # journals store it as JSON
