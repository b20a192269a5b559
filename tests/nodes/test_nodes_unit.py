"""Fast checks of the node layer that need no root, engine or sshd."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from harness.nodes import NodeError, ProviderUnavailable, get_provider, reclaim_all
from harness.nodes.images import node_tag, ensure_image
from harness.nodes.netns import tag_for
from harness.nodes.ssh import SshConfig, SshNode, parse_hosts
from harness.nodes.state import StateFile, all_states, controller_alive, process_start
from core.store import state_dir

AWKWARD = ["a b", "it's", 'say "hi"', "$HOME", "a;b", "`id`", "$(id)", "*", "", "ünï", "-n"]


def test_tags_fit_interface_names():
    assert tag_for("abc123") == "abc123"
    long = tag_for("etcd-register-20261123T120000")
    assert len(long) == 8 and long.isalnum()
    assert tag_for("etcd-register-20261123T120000") == long   # stable
    assert tag_for("Upper") != "Upper"                         # only [a-z0-9] kept verbatim
    for tid in ("a", "abcdefgh", "some-long/test id"):
        t = tag_for(tid)
        for name in (f"sb{t}", f"sb{t}v255"):
            assert len(name) <= 15, name


def test_parse_hosts():
    hs = parse_hosts(["h1", "h2:2222", {"host": "h3", "name": "db3"}, "[::1]:23"], 22)
    assert hs == [{"name": "n1", "host": "h1", "port": 22}, {"name": "n2", "host": "h2", "port": 2222},
                  {"name": "db3", "host": "h3", "port": 22}, {"name": "n4", "host": "::1", "port": 23}]
    assert [h["host"] for h in parse_hosts("a,b,,c", 22)] == ["a", "b", "c"]
    with pytest.raises(NodeError, match="host"):
        parse_hosts([{"name": "x"}], 22)


def test_ssh_command_line_is_run_verbatim_by_a_real_shell(tmp_path):
    node = SshNode(SshConfig({"user": "nobody"}), "n1", "127.0.0.1", 22, "/tmp/x")
    line = node.command_line(["printf", "%s\\n", *AWKWARD], None, None, 10)
    r = subprocess.run(["sh", "-c", line], capture_output=True, timeout=10)
    assert r.stdout.decode().split("\n")[:-1] == AWKWARD
    line = node.command_line(["sh", "-c", 'printf "%s|" "$V" "$(pwd)"'], {"V": "x $y ;'"},
                             str(tmp_path), 10)
    r = subprocess.run(["bash", "-c", line], capture_output=True, timeout=10)
    assert r.stdout.decode() == f"x $y ;'|{tmp_path}|"
    sudo = SshNode(SshConfig({"sudo": True}), "n1", "127.0.0.1", 22, "/tmp/x")
    assert sudo.command_line(["id"], None, None, 5).startswith("sudo -n -- timeout")
    with pytest.raises(NodeError, match="environment"):
        node.command_line(["id"], {"A=B": "1"}, None, 5)


def test_ssh_config_never_stores_a_password():
    st = SshConfig({"password": "hunter2", "user": "u"}).to_state()
    assert "hunter2" not in json.dumps(st)


def test_image_tags_hash_the_package_list():
    assert node_tag(["etcd-server", "libfaketime"]) == node_tag(["libfaketime", "etcd-server"])
    assert node_tag(["etcd-server"]) != node_tag(["redis-server"])
    assert node_tag([]) == node_tag(["iproute2"])   # the basics are always in
    assert node_tag(["x"], suite="trixie") != node_tag(["x"])
    with pytest.raises(NodeError, match="not a Debian package name"):
        ensure_image(None, ["ok", "bad; rm -rf /"])


def test_docker_without_engine_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    from harness.nodes.docker import connect
    with pytest.raises(ProviderUnavailable, match="dockerd"):
        connect(timeout=2)
    # Through the CLI it is one line, exit 2.
    r = subprocess.run([sys.executable, "-m", "harness", "nodes", "up", "--provider", "docker",
                        "--store", str(tmp_path)], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"})
    assert r.returncode == 2 and "dockerd" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_unknown_provider(tmp_path):
    with pytest.raises(NodeError, match=r"no node provider named .vagrant. \(available: netns, docker, ssh\)"):
        get_provider("vagrant", tmp_path)


def test_state_files_and_liveness(tmp_path):
    st = StateFile(tmp_path, "t1", "netns")
    st.update(nodes=[{"name": "n1"}])
    [(path, data)] = all_states(tmp_path)
    assert path == st.path and data["nodes"] == [{"name": "n1"}] and data["provider"] == "netns"
    assert not controller_alive(data)            # our own pid: not "another live controller"
    child = subprocess.Popen(["sleep", "30"])
    try:
        live = dict(data, controller_pid=child.pid, controller_start=process_start(child.pid))
        assert controller_alive(live)
        assert not controller_alive(dict(live, controller_start=live["controller_start"] - 1))
    finally:
        child.kill()
        child.wait()
    assert not controller_alive(live)


def test_reclaim_removes_unreadable_and_unknown_state_files(tmp_path):
    d = state_dir(tmp_path, "nodes")
    d.mkdir(parents=True, exist_ok=True)
    (d / "bad.json").write_text("{not json")
    (d / "odd.json").write_text(json.dumps({"provider": "vagrant", "test_id": "odd"}))
    out = reclaim_all(tmp_path)
    assert len(out) == 2 and not list(d.glob("*.json"))


def test_clean_skips_a_live_controller_unless_forced(tmp_path):
    child = subprocess.Popen(["sleep", "30"])
    try:
        st = StateFile(tmp_path, "live1", "netns")
        st.data.update(controller_pid=child.pid, controller_start=process_start(child.pid), nodes=[])
        st.save()
        out = reclaim_all(tmp_path, force=False)
        assert "skipped" in out[0] and st.path.exists()
    finally:
        child.kill()
        child.wait()


def test_clean_with_an_empty_store_heals_and_removes_nothing(tmp_path):
    r = subprocess.run([sys.executable, "-m", "harness", "clean", "--store", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "nothing to clean" in r.stdout, r.stderr
