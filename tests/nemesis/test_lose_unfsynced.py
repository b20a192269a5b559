"""The lazyfs disk faults on real netns and docker nodes, through the Nemesis: the target's durable
directory is on lazyfs from prepare() on; the fault kills the target and drops what was not
synced (checked in the backing files); power-on restarts it; teardown unmounts; and after a
controller that vanished, healing from the journal alone (what `splitbrain clean` does) leaves no
mount and no lazyfs process."""

from __future__ import annotations

import pytest
from filedb import FileDb, wait_ready
from lazyfs_support import (LAZYFS_PROVIDERS, fuse_mounted, lazyfs_image,  # noqa: F401
                            lazyfs_provider, lazyfs_unavailable)

from nemesis.dispatch import Nemesis
from nemesis.journal import heal_journal, journal_path

pytestmark = [pytest.mark.fuse]

if (why := lazyfs_unavailable()) is not None:
    pytest.skip(why, allow_module_level=True)


@pytest.fixture(params=LAZYFS_PROVIDERS)
def cluster(request, tmp_path):
    prov = lazyfs_provider(request.param, tmp_path / "store", request)
    try:
        yield prov.create(2), tmp_path
    finally:
        prov.destroy()


def _nothing_mounted(nodes, db) -> bool:
    return not any(fuse_mounted(n, db.durable_dir(n)) for n in nodes)


def test_power_loss_drops_unsynced_data_and_power_on_restarts(cluster):
    nodes, tmp = cluster
    db = FileDb()
    nem = Nemesis(nodes, db, journal_path(tmp / "store", "lz1"),
                  {"seed": 1, "faults": ["lose-unfsynced"]})
    assert len(nem.prepare()) == 2
    for n in nodes:
        db.start(n)
        wait_ready(n, db)
    res = nem.apply("start-lose-unfsynced", None)          # default: every node at once
    assert res["nodes"] == ["n1", "n2"]
    for n in nodes:
        assert not db.daemons(n)
        # what the disk kept: the synced line only
        assert n.get_file(f"{db.durable_dir(n)}.durable/log") == b"synced\n"
        assert n.check(["cat", f"{db.durable_dir(n)}/log"]).stdout == b"synced\n"
    assert nem.active() == ["power lost on n1", "power lost on n2"]
    out = nem.apply("stop-lose-unfsynced", None)
    assert out["nodes"] == ["n1", "n2"] and db.started.count("n1") == 2
    assert nem.heal_all() == []                          # nothing in force; mounts stand
    for n in nodes:
        db.kill(n)
    lines = nem.teardown()
    assert lines == ["n1: lazyfs unmounted", "n2: lazyfs unmounted"]
    assert _nothing_mounted(nodes, db)
    assert not journal_path(tmp / "store", "lz1").exists()


@pytest.mark.parametrize("fsync", ["honour", "ignore"])
def test_a_disk_that_ignores_fsync_loses_the_synced_data_too(cluster, fsync):
    nodes, tmp = cluster
    db = FileDb()
    nem = Nemesis(nodes, db, journal_path(tmp / "store", f"lz-{fsync}"),
                  {"seed": 1, "faults": ["lose-unfsynced"], "lose_unfsynced_fsync": fsync})
    nem.prepare()
    n = nodes[0]
    db.start(n)
    wait_ready(n, db)
    res = nem.apply("start-lose-unfsynced", "n1")
    assert res["nodes"] == ["n1"] and res["fsync"] == fsync
    backing = f"{db.durable_dir(n)}.durable"
    if fsync == "honour":
        assert n.get_file(f"{backing}/log") == b"synced\n"
    else:   # the fsynced line, and the file's creation with it, never reached the disk
        assert not n.exec(["test", "-e", f"{backing}/log"]).ok
        assert not n.exec(["test", "-e", f"{db.durable_dir(n)}/log"]).ok
    nem.apply("stop-lose-unfsynced", None)
    db.kill(n)
    assert nem.teardown() == ["n1: lazyfs unmounted", "n2: lazyfs unmounted"]
    assert _nothing_mounted(nodes, db)


def test_healing_from_the_journal_alone_unmounts_and_stops_lazyfs(cluster):
    nodes, tmp = cluster
    path = journal_path(tmp / "store", "lz2")
    db = FileDb()
    nem = Nemesis(nodes, db, path, {"seed": 1, "faults": ["lose-unfsynced"]})
    nem.prepare()
    from nemesis.lazyfs.layer import layer
    daemons = [(m.node, m.daemon) for m in layer(nem).mounts.values()]
    del nem                                   # the controller is gone; the journal is left
    out = heal_journal(path, force=True)
    assert sum("unmounted" in line for line in out) == 2, out
    assert _nothing_mounted(nodes, db)
    assert not any(node.is_running(d) for node, d in daemons)
    assert not path.exists()


def test_fsync_error_and_slow_disk_are_measured_and_healed(cluster):
    nodes, tmp = cluster
    db = FileDb()
    nem = Nemesis(nodes, db, journal_path(tmp / "store", "lz3"),
                  {"seed": 1, "faults": ["fsync-error", "slow-disk"], "slow_disk_fsync_s": 0.3})
    assert len(nem.prepare()) == 2          # one layer of mounts, whichever fault asks first
    settled = nem.settled()                 # the FUSE layer's cost, measured once per run
    assert sum(line.startswith("lazyfs overhead on n1: 4 KiB write+fsync") for line in settled) == 1
    r = nem.apply("start-fsync-error", "n1")
    assert r["nodes"] == ["n1"] and r["measured"]["n1"]["error"] == "Input/output error"
    assert nem.active() == ["fsync fails on n1"]
    r = nem.apply("stop-fsync-error", None)
    assert r["measured"]["n1"]["error"] is None
    r = nem.apply("start-slow-disk", "all")
    assert all(m["fsync_s"] >= 0.3 and m["error"] is None for m in r["measured"].values()), r
    healed = nem.heal_all()
    assert healed == ["disk fast again: n1, n2"]
    assert nem.teardown() == ["n1: lazyfs unmounted", "n2: lazyfs unmounted"]
    assert _nothing_mounted(nodes, db)
