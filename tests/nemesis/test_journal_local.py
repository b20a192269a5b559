"""The journal and crash-time healing, on the host itself (no root needed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from nemesis import Nemesis
from nemesis import faketime as nclock
from nemesis.journal import Journal, heal_all, journal_path
from nemesis.reach import Unreachable, node_ref, ref_argv

from nemesis_support import LocalNode, proc_state
from core.store import state_dir

needs_faketime = pytest.mark.skipif(not os.path.exists(nclock.LIBFAKETIME),
                                    reason="needs Debian's libfaketime")


def test_journal_records_before_and_forgets_healed(tmp_path):
    node = LocalNode("n1", tmp_path / "n1")
    j = Journal(tmp_path / "j.json", [node])
    a = j.record("clock", "n1", path="/x")
    b = j.record("pause", "n1", pids=[1], pgids=[1])
    on_disk = json.loads((tmp_path / "j.json").read_text())
    assert [e["id"] for e in on_disk["entries"]] == [a, b]
    assert on_disk["nodes"]["n1"]["kind"] == "local"
    assert on_disk["controller_pid"] == os.getpid()
    assert not j.close()
    j.healed([a])
    assert [e["kind"] for e in json.loads((tmp_path / "j.json").read_text())["entries"]] == ["pause"]
    j.healed([b])
    assert j.active() == [] and j.close() and not (tmp_path / "j.json").exists()


def test_journal_path_is_machine_wide_not_in_the_store(tmp_path):
    from core.machine_state import state_root
    assert journal_path(tmp_path, "abc") == state_root() / "nemesis" / "abc.json"
    assert journal_path(tmp_path / "elsewhere", "abc") == journal_path(tmp_path, "abc")
    assert tmp_path not in journal_path(tmp_path, "abc").parents


def test_heal_resumes_a_stopped_group_and_removes_offset_files(tmp_path):
    node = LocalNode("n1", tmp_path / "n1")
    # A wrapper shell and its child, stopped as one group, as a pause leaves them.
    p = subprocess.Popen(["sh", "-c", "sleep 30; echo done"], start_new_session=True)
    try:
        time.sleep(0.1)
        os.killpg(p.pid, signal.SIGSTOP)
        time.sleep(0.05)
        assert proc_state(p.pid) == "T"
        offset = nclock.offset_path(node)
        open(offset, "w").write("+90s\n")
        path = journal_path(tmp_path / "store", "t1")
        j = Journal(path, [node])
        j.record("pause", "n1", pids=[p.pid], pgids=[p.pid])
        j.record("clock", "n1", path=offset)
        # Pretend the controller that wrote it is gone.
        data = json.loads(path.read_text())
        data["controller_pid"], data["controller_start"] = 999999999, "0"
        path.write_text(json.dumps(data))
        out = heal_all(tmp_path / "store")
        assert any("resumed" in o for o in out) and any("offset" in o for o in out), out
        assert proc_state(p.pid) in ("S", "R")
        assert not os.path.exists(offset)
        assert not path.exists()
        assert heal_all(tmp_path / "store") == []
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def test_heal_all_leaves_a_live_controllers_faults_alone(tmp_path):
    node = LocalNode("n1", tmp_path / "n1")
    offset = nclock.offset_path(node)
    open(offset, "w").write("+5s\n")
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        path = journal_path(tmp_path / "store", "t2")
        Journal(path, [node]).record("clock", "n1", path=offset)
        data = json.loads(path.read_text())
        data["controller_pid"] = live.pid
        data["controller_start"] = (open(f"/proc/{live.pid}/stat").read().rsplit(")", 1)[1]
                                    .split()[19])
        path.write_text(json.dumps(data))
        out = heal_all(tmp_path / "store")
        assert out == [f"nemesis t2: controller pid {live.pid} is still running; not touched"]
        assert os.path.exists(offset) and path.exists()
        out = heal_all(tmp_path / "store", force=True)
        assert not os.path.exists(offset) and not path.exists(), out
    finally:
        live.kill()
        live.wait()


def test_unreadable_and_unknown_nodes_are_reported_not_raised(tmp_path):
    d = state_dir(tmp_path / "store", "nemesis")
    d.mkdir(parents=True, exist_ok=True)
    (d / "bad.json").write_text("{not json")
    (d / "odd.json").write_text(json.dumps({
        "test_id": "odd", "controller_pid": 999999999, "nodes": {"n1": {"kind": "carrier-pigeon"}},
        "entries": [{"id": 1, "kind": "clock", "node": "n1", "path": "/nope", "healed": False}]}))
    out = heal_all(tmp_path / "store")
    assert any("bad.json: unreadable journal" in o for o in out)
    assert any("does not say how to reach it" in o for o in out)


def test_node_refs():
    class NS:
        name, ip, data_dir, ns = "n1", "10.0.0.2", "/d", "sb-x-n1"

    class Docker:
        name, ip, data_dir, container_name = "n2", "10.0.0.3", "/d", "sb-x-n2"

    class Ssh:
        name, ip, data_dir, host, user, port, key_path = "n3", "h", "/d", "db1", "admin", 2222, "/k"

    assert node_ref(NS())["kind"] == "netns" and node_ref(NS())["host_pids"]
    assert node_ref(Docker()) | {} == {"name": "n2", "ip": "10.0.0.3", "data_dir": "/d",
                                       "kind": "docker", "container": "sb-x-n2",
                                       "host_pids": False, "host_files": False}
    ref = node_ref(Ssh())
    argv = ref_argv(ref, ["rm", "-f", "/a b"])
    assert argv[-4:] == ["-l", "admin", "db1", "rm -f '/a b'"] and "2222" in argv and "/k" in argv
    assert "StrictHostKeyChecking=yes" in argv
    argv = ref_argv({**ref, "sudo": True, "insecure_accept_host_keys": True}, ["true"])
    assert argv[-1] == "sudo -n -- true" and "StrictHostKeyChecking=no" in argv
    with pytest.raises(Unreachable, match="no longer exists"):
        ref_argv({"kind": "netns", "ns": "sb-surely-not-there"}, ["true"])


@needs_faketime
def test_clock_offset_measured_through_libfaketime(tmp_path):
    node = LocalNode("n1", tmp_path / "n1")
    nem = Nemesis([node], None, tmp_path / "j.json", {"faults": ["clock"]})
    try:
        assert abs(nclock.measure_offset(node)) < 0.2
        r = nem.apply("start-clock", {"mode": "bump", "nodes": ["n1"], "offset_s": -42.5})
        assert abs(r["offsets_s"]["n1"] + 42.5) < 0.2
        assert open(nclock.offset_path(node)).read().strip() == "-42.500000s"
        r = nem.apply("start-clock", {"mode": "bump", "nodes": "all", "offset_s": 3600})
        assert abs(r["offsets_s"]["n1"] - 3600) < 0.2
        assert nem.active() == ["clock n1 +3600s"]
    finally:
        out = nem.heal_all()
    # The final heal records what the clock read afterwards, like every clock op.
    m = re.fullmatch(r"clock reset: n1 \(measured n1 ([-+][0-9.]+)s\)", out[0])
    assert len(out) == 1 and m, out
    assert abs(float(m.group(1))) < 0.2
    assert not os.path.exists(nclock.offset_path(node))
    assert abs(nclock.measure_offset(node)) < 0.2
    assert not (tmp_path / "j.json").exists()


def test_format_offset():
    assert nclock.format_offset(0) == "+0s"
    assert nclock.format_offset(90) == "+90.000000s"
    assert nclock.format_offset(-0.25) == "-0.250000s"


@pytest.mark.skipif(shutil.which("date") is None, reason="needs date")
def test_unknown_op_and_bad_values(tmp_path):
    from nemesis import NemesisError
    node = LocalNode("n1", tmp_path / "n1")
    nem = Nemesis([node], None, tmp_path / "j.json", {})
    with pytest.raises(NemesisError, match="unknown nemesis op 'explode'"):
        nem.apply("explode", None)
    with pytest.raises(NemesisError, match="start-clock: unknown clock mode 'warp'"):
        nem.apply("start-clock", "warp")
    with pytest.raises(NemesisError, match="start-partition: a partition needs at least 2 nodes"):
        nem.apply("start-partition", "halves")
    with pytest.raises(NemesisError, match="kill: no target"):
        nem.apply("kill", "one")
    nem.heal_all()
