"""The corrupt-file fault on a real netns and docker node, through the Nemesis: the target is down while its
file is damaged, the file differs from what was written exactly at the recorded offsets (and the
recorded hashes are those of the bytes before and after), healing restarts the target and says
how it reacted; and a controller SIGKILLed with the fault applied (on lazyfs) leaves nothing
behind once `splitbrain clean` has run."""

from __future__ import annotations

import hashlib
import json
import os
import random
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from filedb import FileDb, wait_ready
from lazyfs_support import LAZYFS_PROVIDERS, lazyfs_image, lazyfs_provider  # noqa: F401

from nemesis.dispatch import Nemesis
from nemesis.journal import journal_path

if os.geteuid() != 0:
    pytest.skip("needs root for a netns or docker node", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
DATA_BYTES = 300_000
WRITTEN = random.Random(7).randbytes(DATA_BYTES)   # what FileDb's writer puts in "data"


@pytest.fixture(params=LAZYFS_PROVIDERS)
def node(request, tmp_path):
    prov = lazyfs_provider(request.param, tmp_path / "store", request)
    try:
        yield prov.create(1)[0], tmp_path
    finally:
        prov.destroy()


@pytest.mark.parametrize("mode", ["bitflip", "zero", "truncate"])
def test_corrupt_file_changes_exactly_the_recorded_bytes_and_restarts(node, mode):
    n, tmp = node
    db = FileDb(data_bytes=DATA_BYTES)
    nem = Nemesis([n], db, journal_path(tmp / "store", f"cf-{mode}"),
                  {"seed": 3, "faults": ["corrupt-file"], "corrupt_file_class": "data",
                   "corrupt_file_mode": mode, "corrupt_file_watch_s": 0.5})
    db.start(n)
    wait_ready(n, db)
    res = nem.apply("start-corrupt-file", "n1")
    c = res["corrupted"]["n1"]
    assert not db.daemons(n), "the target must be down while its file is damaged"
    assert nem.active() == ["file corrupted, target down on n1"]
    assert c["file"] == f"{db.durable_dir(n)}/data" and c["size_before"] == DATA_BYTES
    after = n.get_file(c["file"])
    lo, hi = c["offset"], c["offset"] + c["length"]
    assert c["length"] > 0
    assert c["chunk_sha256_before"] == hashlib.sha256(WRITTEN[lo:hi]).hexdigest()
    assert c["chunk_sha256_after"] == hashlib.sha256(after[lo:hi]).hexdigest()
    if mode == "truncate":
        assert after == WRITTEN[:lo] and hi == DATA_BYTES
    else:
        changed = [i for i in range(DATA_BYTES) if after[i] != WRITTEN[i]]
        assert changed and lo <= changed[0] and changed[-1] < hi
        assert after[:lo] == WRITTEN[:lo] and after[hi:] == WRITTEN[hi:]
    out = nem.apply("stop-corrupt-file", None)
    assert out["nodes"] == ["n1"] and out["reaction"]["n1"]["running"] is True
    assert db.started == ["n1", "n1"] and nem.heal_all() == []
    assert not journal_path(tmp / "store", f"cf-{mode}").exists()   # nothing left to heal
    db.kill(n)


def test_same_seed_same_corruption_and_bad_class_is_refused(node):
    n, tmp = node
    db = FileDb(data_bytes=DATA_BYTES)
    records = []
    for i in range(2):
        nem = Nemesis([n], db, journal_path(tmp / "store", f"cfs{i}"),
                      {"seed": 9, "faults": ["corrupt-file"], "corrupt_file_class": "data",
                       "corrupt_file_watch_s": 0})
        db.start(n)
        wait_ready(n, db)
        c = nem.apply("start-corrupt-file", {"nodes": "n1", "mode": "zero"})["corrupted"]["n1"]
        records.append((c["offset"], c["length"], c["chunk_sha256_after"]))
        nem.heal_all()
        db.kill(n)
    assert records[0] == records[1]
    from nemesis.errors import UnsupportedFault
    with pytest.raises(UnsupportedFault, match="no file class 'journal'"):
        nem.apply("start-corrupt-file", {"nodes": "n1", "file_class": "journal"})


CONTROLLER = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, sys.argv[2])
    from pathlib import Path
    from filedb import FileDb, wait_ready
    from harness.nodes import get_provider
    from nemesis.dispatch import Nemesis
    from nemesis.journal import journal_path
    store = Path(sys.argv[1])
    prov = get_provider("netns", store)
    nodes = prov.create(2)
    db = FileDb(data_bytes=100000)
    nem = Nemesis(nodes, db, journal_path(store, prov.test_id),
                  {"seed": 2, "faults": ["lose-unfsynced", "corrupt-file"],
                   "corrupt_file_class": "data"})
    nem.prepare()
    for n in nodes:
        db.start(n)
        wait_ready(n, db)
    nem.settled()
    res = nem.apply("start-corrupt-file", "n1")
    from nemesis.lazyfs.layer import layer
    print(json.dumps({"test_id": prov.test_id, "corrupted": res["corrupted"],
                      "lazyfs": [m.daemon.pid for m in layer(nem).mounts.values()],
                      "filedb": [d.pid for n in nodes for d in db.daemons(n)],
                      "mounts": [m.mountpoint for m in layer(nem).mounts.values()]}), flush=True)
    time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.fuse
@pytest.mark.netns
def test_clean_after_a_sigkilled_controller_leaves_nothing(tmp_path):
    from lazyfs_support import lazyfs_unavailable
    if (why := lazyfs_unavailable()) is not None:
        pytest.skip(why)
    store = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CONTROLLER, str(store), str(Path(__file__).parent)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    report = None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 120)
        line = proc.stdout.readline() if ready else b""
        if not line:
            proc.kill()
            pytest.fail(f"controller did not report: {proc.stderr.read().decode()[-2000:]}")
        report = json.loads(line)
        assert report["corrupted"]["n1"]["length"] > 0
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        out = subprocess.run([sys.executable, "-m", "harness", "clean", "--store", str(store)],
                             cwd=ROOT, env=env, capture_output=True, timeout=180)
    text = out.stdout.decode() + out.stderr.decode()
    assert out.returncode == 0, text
    assert "permanent by design" in text and text.count("unmounted") >= 2, text
    with open("/proc/self/mounts") as f:
        mounted = [line.split()[1] for line in f]
    assert not any(m in mounted for m in report["mounts"])
    left = [p for p in report["lazyfs"] + report["filedb"] if _alive(p)]
    assert not left, f"processes left behind: {left}"
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    assert report["test_id"] not in r.stdout
    assert not list((store).rglob("nemesis/*.json"))
