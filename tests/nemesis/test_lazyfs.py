"""The lazy filesystem, on a real FUSE mount: unsynced data disappears at a crash, synced data
survives (read back from the backing files), namespace changes follow the documented rule,
fsync fails with EIO on demand and a slow disk is really slow."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from lazyfs_support import lazyfs_unavailable

ROOT = Path(__file__).resolve().parents[2]
FS = ROOT / "nemesis" / "lazyfs" / "fs.py"
SYSTEM_PY = "/usr/bin/python3"


pytestmark = [
    pytest.mark.fuse,
    pytest.mark.skipif(lazyfs_unavailable() is not None, reason=str(lazyfs_unavailable())),
]


class Mount:
    def __init__(self, tmp: Path) -> None:
        self.backing = tmp / "backing"
        self.mnt = tmp / "mnt"
        self.mnt.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Mount":
        self.proc = subprocess.Popen([SYSTEM_PY, str(FS), str(self.backing), str(self.mnt)],
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not os.path.ismount(self.mnt):
            assert self.proc.poll() is None, self.proc.stderr.read().decode()
            assert time.monotonic() < deadline, "lazyfs did not mount in 10 s"
            time.sleep(0.05)
        return self

    def crash(self) -> None:
        """Power loss: the process holding the unsynced pages dies at once."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        subprocess.run(["umount", "-l", str(self.mnt)], check=True)
        subprocess.run([SYSTEM_PY, str(FS), str(self.backing), "--recover"], check=True,
                       capture_output=True)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=10) == 0, self.proc.stderr.read().decode()

    def control(self, **settings) -> None:
        p = self.backing / ".splitbrain-lazyfs" / "control.json"
        tmp = p.with_suffix(".tmp")
        tmp.write_text(json.dumps(settings))
        os.replace(tmp, p)

    def cleanup(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        # A dead FUSE mount fails stat() (ENOTCONN), so os.path.ismount says False: ask the table.
        with open("/proc/self/mounts") as f:
            mounted = any(line.split()[1] == str(self.mnt) for line in f)
        if mounted:
            subprocess.run(["umount", "-l", str(self.mnt)], check=True)


@pytest.fixture
def lazy(tmp_path):
    m = Mount(tmp_path).start()
    yield m
    m.cleanup()


def _write(path: Path, data: bytes, sync: bool, flags: int = 0) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, 0o644)
    try:
        os.write(fd, data)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def test_unsynced_data_disappears_and_synced_data_survives(lazy):
    m = lazy.mnt
    _write(m / "synced", b"durable", sync=True)
    with open(m / "synced", "ab") as f:
        f.write(b" and not")                       # appended, never synced
    _write(m / "osync", b"written through", sync=False, flags=os.O_SYNC)
    (m / "dir").mkdir()
    _write(m / "dir" / "inner", b"inner", sync=True)  # its fsync commits mkdir too
    _write(m / "never", b"gone", sync=False)          # created after the last fsync
    assert (m / "synced").read_bytes() == b"durable and not"   # the mount sees everything
    assert (m / "never").read_bytes() == b"gone"
    # what the disk holds right now: only synced data
    assert (lazy.backing / "synced").read_bytes() == b"durable"
    lazy.crash()
    b = lazy.backing
    assert (b / "synced").read_bytes() == b"durable"
    assert (b / "osync").read_bytes() == b"written through"
    assert (b / "dir" / "inner").read_bytes() == b"inner"
    assert not (b / "never").exists()


def test_rename_unlink_and_truncate_are_undone_unless_a_sync_followed(lazy):
    m = lazy.mnt
    _write(m / "config", b"old", sync=True)
    _write(m / "victim", b"keep me", sync=True)
    _write(m / "log", b"0123456789", sync=True)
    # the atomic-replace idiom without any sync after the rename
    _write(m / "config.tmp", b"new", sync=True)
    os.rename(m / "config.tmp", m / "config")
    os.unlink(m / "victim")
    os.truncate(m / "log", 4)
    assert (m / "config").read_bytes() == b"new" and not (m / "victim").exists()
    assert (m / "log").read_bytes() == b"0123"
    lazy.crash()
    b = lazy.backing
    assert (b / "config").read_bytes() == b"old"
    assert (b / "config.tmp").read_bytes() == b"new"
    assert (b / "victim").read_bytes() == b"keep me"
    assert (b / "log").read_bytes() == b"0123456789"
    assert not list((b / ".splitbrain-lazyfs" / "stash").iterdir())


def test_a_directory_fsync_makes_the_rename_durable(tmp_path):
    lazy = Mount(tmp_path).start()
    try:
        m = lazy.mnt
        _write(m / "config", b"old", sync=True)
        _write(m / "config.tmp", b"new", sync=True)
        os.rename(m / "config.tmp", m / "config")
        _fsync_dir(m)
        lazy.crash()
        assert (lazy.backing / "config").read_bytes() == b"new"
        assert not (lazy.backing / "config.tmp").exists()
        # and the filesystem mounts again on what was durable
        lazy.start()
        assert (lazy.mnt / "config").read_bytes() == b"new"
        assert sorted(os.listdir(lazy.mnt)) == ["config"]  # the journal folder stays hidden
    finally:
        lazy.cleanup()


def test_random_writes_and_truncates_match_a_model_before_and_after_a_crash(lazy):
    rng = random.Random(7)
    for trial in range(6):
        path = lazy.mnt / f"f{trial}"
        current = bytearray()
        durable = bytearray()
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        os.fsync(fd)
        for _ in range(60):
            r = rng.random()
            if r < 0.6:
                off = rng.randrange(0, len(current) + 9000)
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9000)))
                os.pwrite(fd, data, off)
                if off > len(current):
                    current += bytes(off - len(current))
                current[off:off + len(data)] = data
            elif r < 0.75:
                n = rng.randrange(0, len(current) + 5000)
                os.ftruncate(fd, n)
                current = current[:n] + bytes(max(0, n - len(current)))
            elif r < 0.9:
                os.fsync(fd)
                durable = bytearray(current)
            else:
                assert os.pread(fd, len(current) + 10, 0) == bytes(current)
        assert os.pread(fd, len(current) + 10, 0) == bytes(current), trial
        assert os.fstat(fd).st_size == len(current)
        os.close(fd)
        lazy.crash()
        assert (lazy.backing / f"f{trial}").read_bytes() == bytes(durable), trial
        lazy.start()


def test_fsync_fails_with_eio_and_loses_the_pages(lazy):
    m = lazy.mnt
    _write(m / "f", b"first", sync=True)
    lazy.control(fsync_error=True)
    fd = os.open(m / "f", os.O_WRONLY | os.O_APPEND)
    os.write(fd, b" second")
    with pytest.raises(OSError) as e:
        os.fsync(fd)
    assert e.value.errno == errno.EIO
    lazy.control()
    os.fsync(fd)  # succeeds now, but the failed write-back already dropped the pages
    os.close(fd)
    assert (lazy.backing / "f").read_bytes() == b"first"


def test_an_ignored_fsync_succeeds_and_a_crash_still_loses_the_data(lazy):
    m = lazy.mnt
    _write(m / "f", b"first", sync=True)
    lazy.control(fsync_ignore=True)
    _write(m / "f", b"FIRST, then more", sync=True)            # fsync says yes ...
    _write(m / "osync", b"written through", sync=False, flags=os.O_SYNC)
    (m / "d").mkdir()
    _fsync_dir(m / "d")
    assert (m / "f").read_bytes() == b"FIRST, then more"
    assert (lazy.backing / "f").read_bytes() == b"first"        # ... and the disk kept nothing
    lazy.crash()
    b = lazy.backing
    assert (b / "f").read_bytes() == b"first"
    assert not (b / "osync").exists() and not (b / "d").exists()


def test_a_slow_disk_delays_fsync(lazy):
    lazy.control(fsync_delay_s=0.3)
    fd = os.open(lazy.mnt / "f", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"x")
    t = time.monotonic()
    os.fsync(fd)
    took = time.monotonic() - t
    os.close(fd)
    assert took >= 0.3, took
    assert (lazy.backing / "f").read_bytes() == b"x"


def test_an_orderly_stop_writes_everything_back(lazy):
    _write(lazy.mnt / "f", b"unsynced but orderly", sync=False)
    (lazy.mnt / "d").mkdir()
    lazy.stop()
    assert not os.path.ismount(lazy.mnt)
    assert (lazy.backing / "f").read_bytes() == b"unsynced but orderly"
    assert (lazy.backing / "d").is_dir()
