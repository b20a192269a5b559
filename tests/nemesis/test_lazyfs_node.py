"""The lazy filesystem on a real netns node, through the node contract: a program on the node
writes, fsyncs and renames; a crash keeps exactly what was synced (read from the backing files);
the filesystem mounts again over it; an orderly unmount leaves no mount and no process."""

from __future__ import annotations

import sys

import pytest
from lazyfs_support import lazyfs_unavailable

from harness.nodes import get_provider
from nemesis.lazyfs.mount import LazyMount

pytestmark = [pytest.mark.netns, pytest.mark.fuse]

if (why := lazyfs_unavailable()) is not None:
    pytest.skip(why, allow_module_level=True)

# What a database does with its files, in miniature: a log appended and fsynced, a snapshot
# written to a temporary file, fsynced and renamed over the old one, a directory fsync.
PROGRAM = r"""
import os, sys
d = sys.argv[1]
def put(name, data, sync):
    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.write(fd, data)
    if sync:
        os.fsync(fd)
    os.close(fd)
put("wal", b"record-1\n", True)
put("wal", b"record-2\n", True)
put("wal", b"record-3\n", False)            # acknowledged by a careless database, never synced
put("snap.tmp", b"snapshot-2", True)
os.rename(os.path.join(d, "snap.tmp"), os.path.join(d, "snap"))
dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY); os.fsync(dfd); os.close(dfd)
put("late", b"never synced", False)
print(open(os.path.join(d, "wal")).read().count("record"))
"""


@pytest.fixture
def node(tmp_path):
    prov = get_provider("netns", tmp_path / "store")
    try:
        yield prov.create(1)[0]
    finally:
        prov.destroy()


def test_crash_keeps_what_was_synced_and_mounts_again(node):
    m = LazyMount(node, f"{node.data_dir}/db")
    try:
        assert m.mount()["pid"] > 0 and m.mounted()
        r = node.check([sys.executable, "-c", PROGRAM, m.mountpoint], timeout=30)
        assert r.stdout.strip() == b"3"  # the node saw all three records before the crash
        out = m.crash()
        assert not m.mounted() and out["pid"]
        assert node.get_file(f"{m.backing}/wal") == b"record-1\nrecord-2\n"
        assert node.get_file(f"{m.backing}/snap") == b"snapshot-2"
        assert not node.exec(["test", "-e", f"{m.backing}/late"]).ok
        m.mount()
        assert node.check(["cat", f"{m.mountpoint}/wal"]).stdout == b"record-1\nrecord-2\n"
        assert sorted(node.check(["ls", "-A", m.mountpoint]).text().split()) == ["snap", "wal"]
    finally:
        m.unmount()
    assert not m.mounted()
    assert not m.running()


def test_orderly_unmount_keeps_unsynced_data(node):
    m = LazyMount(node, f"{node.data_dir}/db")
    m.mount()
    try:
        node.check(["sh", "-c", f"printf hello > {m.mountpoint}/f"])
    finally:
        m.unmount()
    assert node.get_file(f"{m.backing}/f") == b"hello"
    assert not m.mounted()
