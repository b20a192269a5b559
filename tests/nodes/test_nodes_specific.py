"""Provider-specific behaviour beyond the shared contract: host keys, reconnects, capabilities."""

from __future__ import annotations

import pytest

from harness.nodes import NodeError, get_provider
from harness.nodes.sshd import start_sshd


@pytest.fixture
def sshd_hosts(tmp_path):
    hostp = get_provider("netns", tmp_path / "store")
    hosts = hostp.create(2)
    try:
        yield tmp_path / "store", start_sshd(hosts, tmp_path / "keys")
    finally:
        hostp.destroy()


@pytest.mark.ssh
@pytest.mark.netns
def test_ssh_rejects_unknown_host_keys_unless_told(sshd_hosts, tmp_path):
    store, opts = sshd_hosts
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    p = get_provider("ssh", store, options=dict(opts, known_hosts=str(empty)))
    with pytest.raises(NodeError, match="not in .*known_hosts.*--insecure-accept-host-keys"):
        p.create(2)
    assert not p.state.path.exists()   # a failed create cleans up after itself
    p = get_provider("ssh", store, options=dict(opts, known_hosts=str(empty),
                                                insecure_accept_host_keys=True))
    nodes = p.create(2)
    assert nodes[1].exec(["hostname", "-I"]).text().split()[0] == nodes[1].ip
    p.destroy()


@pytest.mark.ssh
@pytest.mark.netns
def test_ssh_wrong_host_key_is_refused(sshd_hosts, tmp_path):
    store, opts = sshd_hosts
    import subprocess
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")],
                   check=True)
    pub = (tmp_path / "other.pub").read_text().split()
    ip = opts["hosts"][0]["host"]
    (tmp_path / "kh").write_text(f"{ip} {pub[0]} {pub[1]}\n")
    p = get_provider("ssh", store, options=dict(opts, known_hosts=str(tmp_path / "kh")))
    with pytest.raises(NodeError, match="does not match"):
        p.create(1)


@pytest.mark.ssh
@pytest.mark.netns
def test_ssh_reuses_one_connection_and_reconnects(sshd_hosts):
    store, opts = sshd_hosts
    p = get_provider("ssh", store, options=opts)
    n = p.create(1)[0]
    try:
        t = n._transport()
        for _ in range(5):
            n.exec(["true"])
        assert n._transport() is t and n.reconnects == 0
        import socket
        assert t.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        n.drop_connection()
        assert n.exec(["echo", "back"]).stdout == b"back\n"
        assert n.reconnects == 1 and n._transport() is not t
    finally:
        p.destroy()


@pytest.mark.ssh
@pytest.mark.netns
def test_ssh_unreachable_host_fails_after_bounded_retries(tmp_path):
    p = get_provider("ssh", tmp_path, options={"hosts": ["127.0.0.1:1"], "connect_timeout": 1,
                                               "insecure_accept_host_keys": True})
    with pytest.raises(NodeError, match="after 5 tries"):
        p.create(1)


def _caps(node) -> int:
    for line in node.get_file("/proc/1/status").decode().splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    raise AssertionError("no CapEff")


@pytest.mark.docker
@pytest.mark.slow
def test_docker_capabilities(tmp_path, node_image):
    CAP_NET_ADMIN, CAP_SYS_TIME = 12, 25
    p = get_provider("docker", tmp_path, options={"image": node_image})
    q = get_provider("docker", tmp_path, options={"image": node_image, "sys_time": True})
    try:
        plain, = p.create(1)
        timed, = q.create(1)
        assert _caps(plain) >> CAP_NET_ADMIN & 1 and not _caps(plain) >> CAP_SYS_TIME & 1
        assert _caps(timed) >> CAP_SYS_TIME & 1
        # NET_ADMIN really lets a node change its own firewall (what partitions need).
        plain.check(["iptables", "-A", "INPUT", "-s", "192.0.2.1", "-j", "DROP"])
        assert plain.ip != timed.ip
    finally:
        p.destroy()
        q.destroy()


@pytest.mark.ssh
@pytest.mark.netns
def test_ssh_with_sudo(sshd_hosts):
    """Commands and files go through ``sudo -n`` (as root here, so no password is needed)."""
    import shutil
    if shutil.which("sudo") is None:
        pytest.fail("sudo not installed: apt-get install sudo")
    store, opts = sshd_hosts
    p = get_provider("ssh", store, options=dict(opts, sudo=True))
    n = p.create(1)[0]
    try:
        assert n.exec(["id", "-u"]).stdout == b"0\n"
        path = f"{n.data_dir}/sub/f.bin"
        n.put_file(path, b"\x00sudo bytes\xff", mode=0o600)
        assert n.get_file(path) == b"\x00sudo bytes\xff"
        assert n.exec(["stat", "-c", "%a", path]).stdout == b"600\n"
        d = n.start_daemon("s", ["sleep", "100"])
        assert n.is_running(d)
    finally:
        p.destroy()
    import os
    assert not os.path.exists(n.root)
