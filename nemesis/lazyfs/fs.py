"""splitbrain's lazy filesystem: a FUSE passthrough that forgets what was never synced.

Runs on a node (Debian's ``python3`` with ``python3-pyfuse3``; stdlib otherwise), serving
MOUNTPOINT from BACKING.  Written data stays in this process's memory until the file is
fsynced, so SIGKILLing this process is a power loss of the page cache: the unsynced data is
simply gone, as on a real machine crash, while a ``kill -9`` of the database alone is not.

Durability, exactly (docs/disk-faults.md says the same for users):

* file data and size (write, truncate, fallocate-by-write) are durable once that file has been
  fsynced or fdatasynced, or was written through a descriptor opened with O_SYNC / O_DSYNC;
* namespace changes (create, mkdir, mknod, symlink, link, unlink, rmdir, rename) are applied to
  BACKING at once but journaled for undo; they become durable at the next fsync, fdatasync or
  directory fsync of anything on this filesystem -- ext4's ordered journal commits every earlier
  metadata change with any fsync, and databases rely on that or on a directory fsync -- and a
  crash before that undoes them (a created file vanishes, an unlinked one comes back, a rename is
  reversed);
* ownership, mode and timestamps are passed through at once (never lost).

BACKING is treated as stable storage: the simulated crash takes this process down, not the host,
so what reached BACKING needs no host fsync.  After a crash, the next start of this program (or
``--recover``) replays the undo journal before mounting.

A control file ``BACKING/.splitbrain-lazyfs/control.json`` (re-read when it changes) makes the
disk slow, failing or lying: ``{"fsync_delay_s": 0.2, "write_delay_s": 0.01, "fsync_error": true,
"fsync_ignore": true}``.  A failing fsync returns EIO and, like Linux since 4.13, marks the pages
clean: their data is lost.  An ignored fsync (a volatile write cache that acknowledges flushes it
never makes) returns success and makes nothing durable -- neither data, nor O_SYNC writes, nor
namespace changes; only a checkpoint or an orderly unmount still writes back.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import stat
import sys
from pathlib import Path

import pyfuse3
import trio

BLOCK = 4096
META = b".splitbrain-lazyfs"          # hidden from the mount, at BACKING's root
ATTR_TIMEOUT_S = 1.0


class UndoJournal:
    """Namespace changes not yet durable, newest last; each line says how to undo one."""

    def __init__(self, backing: bytes) -> None:
        self.dir = os.path.join(backing, META)
        self.stash = os.path.join(self.dir, b"stash")
        self.path = os.path.join(self.dir, b"undo.jsonl")
        os.makedirs(self.stash, exist_ok=True)
        self._n = 0
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.pending = 0

    def stash_name(self) -> bytes:
        self._n += 1
        return os.path.join(self.stash, b"%d-%d" % (os.getpid(), self._n))

    def record(self, **entry: str) -> None:
        os.write(self._fd, (json.dumps(entry) + "\n").encode())
        self.pending += 1

    def commit(self) -> None:
        if not self.pending:
            return
        os.ftruncate(self._fd, 0)
        _empty_dir(self.stash)
        self.pending = 0

    @staticmethod
    def recover(backing: bytes) -> int:
        """Undo every journaled change, newest first; returns how many were undone."""
        d = os.path.join(backing, META)
        path = os.path.join(d, b"undo.jsonl")
        try:
            lines = Path(os.fsdecode(path)).read_text().splitlines()
        except FileNotFoundError:
            lines = []
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except ValueError:
                break  # a torn last line: that change never got its undo, so it is durable
        for e in reversed(entries):
            _undo(e)
        if os.path.exists(path):
            os.truncate(path, 0)
        _empty_dir(os.path.join(d, b"stash"))
        return len(entries)


def _undo(e: dict) -> None:
    kind = e["undo"]
    try:
        if kind == "remove":
            p = os.fsencode(e["path"])
            if os.path.isdir(p) and not os.path.islink(p):
                _rmtree(p)
            else:
                os.unlink(p)
        elif kind == "rename":
            os.rename(os.fsencode(e["src"]), os.fsencode(e["dst"]))
        elif kind == "restore":
            os.rename(os.fsencode(e["stash"]), os.fsencode(e["path"]))
    except FileNotFoundError:
        pass


def _rmtree(p: bytes) -> None:
    for name in os.listdir(p):
        c = os.path.join(p, name)
        if os.path.isdir(c) and not os.path.islink(c):
            _rmtree(c)
        else:
            os.unlink(c)
    os.rmdir(p)


def _empty_dir(d: bytes) -> None:
    if not os.path.isdir(d):
        return
    for name in os.listdir(d):
        c = os.path.join(d, name)
        if os.path.isdir(c) and not os.path.islink(c):
            _rmtree(c)
        else:
            os.unlink(c)


class Pages:
    """The unsynced state of one file: dirty blocks and its size.

    ``floor`` is the smallest size the file had since its last sync: backing bytes at or past
    it are stale (truncated away), so they read as zeros unless a dirty block covers them.
    """

    __slots__ = ("dirty", "size", "floor")

    def __init__(self, size: int) -> None:
        self.dirty: dict[int, bytearray] = {}
        self.size = size
        self.floor = size


class LazyFS(pyfuse3.Operations):
    supports_dot_lookup = False

    def __init__(self, backing: bytes) -> None:
        super().__init__()
        self.backing = os.path.abspath(backing)
        self.journal = UndoJournal(self.backing)
        self.paths: dict[int, bytes] = {pyfuse3.ROOT_INODE: self.backing}
        self.lookups: dict[int, int] = {}
        self.pages: dict[int, Pages] = {}
        self.fds: dict[int, tuple[int, int, bool]] = {}   # fh -> (backing fd, inode, sync writes)
        self.open_count: dict[int, int] = {}
        self.root_ino = os.lstat(self.backing).st_ino
        self.control_path = os.path.join(self.journal.dir, b"control.json")
        self.control: dict = {}
        self._control_mtime: tuple | None = None

    # ---------------------------------------------------------------- inodes and paths
    def _ino(self, st: os.stat_result) -> int:
        return pyfuse3.ROOT_INODE if st.st_ino == self.root_ino else st.st_ino

    def _path(self, inode: int) -> bytes:
        try:
            return self.paths[inode]
        except KeyError:
            raise pyfuse3.FUSEError(errno.ESTALE) from None

    def _child(self, parent: int, name: bytes) -> bytes:
        if parent == pyfuse3.ROOT_INODE and name == META:
            raise pyfuse3.FUSEError(errno.EACCES)
        return os.path.join(self._path(parent), name)

    def _moved(self, old: bytes, new: bytes) -> None:
        # A renamed directory moves every path below it too.
        prefix = old + b"/"
        for ino, p in list(self.paths.items()):
            if p == old:
                self.paths[ino] = new
            elif p.startswith(prefix):
                self.paths[ino] = new + p[len(old):]

    def _attrs(self, path: bytes, st: os.stat_result | None = None) -> pyfuse3.EntryAttributes:
        if st is None:
            st = os.lstat(path)
        ino = self._ino(st)
        self.paths[ino] = path
        a = pyfuse3.EntryAttributes()
        for f in ("st_mode", "st_nlink", "st_uid", "st_gid", "st_rdev", "st_size",
                  "st_atime_ns", "st_mtime_ns", "st_ctime_ns"):
            setattr(a, f, getattr(st, f))
        a.st_ino = ino
        a.generation = 0
        a.entry_timeout = ATTR_TIMEOUT_S
        a.attr_timeout = ATTR_TIMEOUT_S
        a.st_blksize = BLOCK
        pg = self.pages.get(ino)
        if pg is not None:
            a.st_size = pg.size
        a.st_blocks = (a.st_size + 511) // 512
        return a

    def _stat_errno(self, fn, *args):
        try:
            return fn(*args)
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno) from None

    # ---------------------------------------------------------------- lookups
    async def lookup(self, parent_inode, name, ctx=None):
        path = self._child(parent_inode, name)
        a = self._stat_errno(self._attrs, path)
        self.lookups[a.st_ino] = self.lookups.get(a.st_ino, 0) + 1
        return a

    async def forget(self, inode_list):
        for ino, n in inode_list:
            left = self.lookups.get(ino, 0) - n
            if left > 0:
                self.lookups[ino] = left
                continue
            self.lookups.pop(ino, None)
            if ino != pyfuse3.ROOT_INODE and not self.open_count.get(ino) \
                    and ino not in self.pages:
                self.paths.pop(ino, None)

    async def getattr(self, inode, ctx=None):
        try:
            return self._attrs(self._path(inode))
        except FileNotFoundError:
            # unlinked while open (its stash was committed): the descriptor still knows it
            for fd, ino, _ in self.fds.values():
                if ino == inode:
                    return self._attrs(self._path(inode), os.fstat(fd))
            raise pyfuse3.FUSEError(errno.ENOENT) from None
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno) from None

    async def setattr(self, inode, attr, fields, fh, ctx):
        path = self._path(inode)
        try:
            if fields.update_size:
                self._truncate(inode, path, attr.st_size)
            if fields.update_mode:
                os.chmod(path, stat.S_IMODE(attr.st_mode))
            if fields.update_uid or fields.update_gid:
                os.chown(path, attr.st_uid if fields.update_uid else -1,
                         attr.st_gid if fields.update_gid else -1, follow_symlinks=False)
            if fields.update_atime or fields.update_mtime:
                st = os.lstat(path)
                os.utime(path, ns=(attr.st_atime_ns if fields.update_atime else st.st_atime_ns,
                                   attr.st_mtime_ns if fields.update_mtime else st.st_mtime_ns),
                         follow_symlinks=False)
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno) from None
        return self._attrs(path)

    async def readlink(self, inode, ctx):
        return self._stat_errno(os.readlink, self._path(inode))

    async def statfs(self, ctx):
        sv = os.statvfs(self.backing)
        s = pyfuse3.StatvfsData()
        for f in ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files",
                  "f_ffree", "f_favail"):
            setattr(s, f, getattr(sv, f))
        s.f_namemax = sv.f_namemax
        return s

    # ---------------------------------------------------------------- directories
    async def opendir(self, inode, ctx):
        self._path(inode)
        return inode

    async def readdir(self, fh, start_id, token):
        path = self._path(fh)
        names = sorted(os.listdir(path))
        if fh == pyfuse3.ROOT_INODE:
            names = [n for n in names if n != META]
        for i, name in enumerate(names[start_id:], start_id):
            try:
                a = self._attrs(os.path.join(path, name))
            except FileNotFoundError:
                continue
            if not pyfuse3.readdir_reply(token, name, a, i + 1):
                break
            self.lookups[a.st_ino] = self.lookups.get(a.st_ino, 0) + 1

    async def releasedir(self, fh):
        pass

    async def fsyncdir(self, fh, datasync):
        await self._sync_point()

    async def mkdir(self, parent_inode, name, mode, ctx):
        path = self._child(parent_inode, name)
        self._stat_errno(os.mkdir, path, mode)
        self.journal.record(undo="remove", path=os.fsdecode(path))
        self._own(path, ctx)
        return await self.lookup(parent_inode, name)

    async def mknod(self, parent_inode, name, mode, rdev, ctx):
        path = self._child(parent_inode, name)
        self._stat_errno(os.mknod, path, mode, rdev)
        self.journal.record(undo="remove", path=os.fsdecode(path))
        self._own(path, ctx)
        return await self.lookup(parent_inode, name)

    async def symlink(self, parent_inode, name, target, ctx):
        path = self._child(parent_inode, name)
        self._stat_errno(os.symlink, target, path)
        self.journal.record(undo="remove", path=os.fsdecode(path))
        return await self.lookup(parent_inode, name)

    async def link(self, inode, new_parent_inode, new_name, ctx):
        path = self._child(new_parent_inode, new_name)
        self._stat_errno(os.link, self._path(inode), path)
        self.journal.record(undo="remove", path=os.fsdecode(path))
        return await self.lookup(new_parent_inode, new_name)

    def _own(self, path: bytes, ctx) -> None:
        try:
            os.chown(path, ctx.uid, ctx.gid, follow_symlinks=False)
        except OSError:
            pass

    def _stash(self, path: bytes) -> None:
        """Move PATH aside so that a crash can bring it back."""
        s = self.journal.stash_name()
        self._stat_errno(os.rename, path, s)
        self.journal.record(undo="restore", stash=os.fsdecode(s), path=os.fsdecode(path))
        self._moved(path, s)

    async def unlink(self, parent_inode, name, ctx):
        path = self._child(parent_inode, name)
        st = self._stat_errno(os.lstat, path)
        if stat.S_ISDIR(st.st_mode):
            raise pyfuse3.FUSEError(errno.EISDIR)
        self._stash(path)

    async def rmdir(self, parent_inode, name, ctx):
        path = self._child(parent_inode, name)
        if self._stat_errno(os.listdir, path):
            raise pyfuse3.FUSEError(errno.ENOTEMPTY)
        self._stash(path)

    async def rename(self, parent_inode_old, name_old, parent_inode_new, name_new, flags, ctx):
        if flags & pyfuse3.RENAME_EXCHANGE:
            raise pyfuse3.FUSEError(errno.EINVAL)  # no renameat2 from Python's os
        src = self._child(parent_inode_old, name_old)
        dst = self._child(parent_inode_new, name_new)
        self._stat_errno(os.lstat, src)
        if os.path.lexists(dst):
            if flags & pyfuse3.RENAME_NOREPLACE:
                raise pyfuse3.FUSEError(errno.EEXIST)
            if os.path.isdir(dst) and not os.path.islink(dst) and os.listdir(dst):
                raise pyfuse3.FUSEError(errno.ENOTEMPTY)
            self._stash(dst)
        self._stat_errno(os.rename, src, dst)
        self.journal.record(undo="rename", src=os.fsdecode(dst), dst=os.fsdecode(src))
        self._moved(src, dst)

    # ---------------------------------------------------------------- files
    async def open(self, inode, flags, ctx):
        path = self._path(inode)
        return self._open(inode, path, flags)

    def _open(self, inode: int, path: bytes, flags: int) -> pyfuse3.FileInfo:
        sync = bool(flags & (os.O_SYNC | os.O_DSYNC))
        # The backing descriptor reads and writes; the kernel already checked the mode.
        bflags = os.O_RDWR if not os.path.isdir(path) else os.O_RDONLY
        try:
            fd = os.open(path, bflags)
        except PermissionError:
            fd = os.open(path, os.O_RDONLY)
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno) from None
        self.fds[fd] = (fd, inode, sync)
        self.open_count[inode] = self.open_count.get(inode, 0) + 1
        if flags & os.O_TRUNC:
            self._truncate(inode, path, 0)
        return pyfuse3.FileInfo(fh=fd)

    async def create(self, parent_inode, name, mode, flags, ctx):
        path = self._child(parent_inode, name)
        existed = os.path.lexists(path)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, mode) if not existed \
                else None
        except OSError as e:
            raise pyfuse3.FUSEError(e.errno) from None
        if existed and flags & os.O_EXCL:
            raise pyfuse3.FUSEError(errno.EEXIST)
        if fd is not None:
            os.close(fd)
            self.journal.record(undo="remove", path=os.fsdecode(path))
            self._own(path, ctx)
        a = self._attrs(path)
        self.lookups[a.st_ino] = self.lookups.get(a.st_ino, 0) + 1
        return self._open(a.st_ino, path, flags), a

    def _pages(self, inode: int, fd: int | None = None) -> Pages:
        pg = self.pages.get(inode)
        if pg is None:
            size = os.fstat(fd).st_size if fd is not None else os.lstat(self._path(inode)).st_size
            pg = self.pages[inode] = Pages(size)
        return pg

    def _backing_fd(self, inode: int) -> int:
        for fd, ino, _ in self.fds.values():
            if ino == inode:
                return fd
        raise pyfuse3.FUSEError(errno.EBADF)

    def _block(self, pg: Pages, fd: int, b: int) -> bytearray:
        blk = pg.dirty.get(b)
        if blk is None:
            start = b * BLOCK
            data = os.pread(fd, BLOCK, start) if start < pg.floor else b""
            data = data[:max(0, pg.floor - start)]
            blk = bytearray(data) + bytearray(BLOCK - len(data))
            pg.dirty[b] = blk
        return blk

    def _truncate(self, inode: int, path: bytes, size: int) -> None:
        try:
            fd = self._backing_fd(inode)
            own = None
        except pyfuse3.FUSEError:
            fd = own = os.open(path, os.O_RDWR)
        try:
            pg = self._pages(inode, fd)
            if size < pg.size:
                for b in [b for b in pg.dirty if b * BLOCK >= size]:
                    del pg.dirty[b]
                if size % BLOCK and size // BLOCK in pg.dirty:
                    blk = pg.dirty[size // BLOCK]
                    blk[size % BLOCK:] = bytearray(BLOCK - size % BLOCK)
                pg.floor = min(pg.floor, size)
            pg.size = size
        finally:
            if own is not None:
                os.close(own)

    async def read(self, fh, off, size):
        fd, inode, _ = self.fds[fh]
        pg = self.pages.get(inode)
        if pg is None or (not pg.dirty and pg.floor == pg.size):
            return os.pread(fd, size, off)
        end = min(off + size, pg.size)
        out = bytearray()
        pos = off
        while pos < end:
            b, o = divmod(pos, BLOCK)
            n = min(BLOCK - o, end - pos)
            blk = pg.dirty.get(b)
            if blk is not None:
                out += blk[o:o + n]
            else:
                data = os.pread(fd, n, pos) if pos < pg.floor else b""
                data = data[:max(0, pg.floor - pos)]
                out += data + bytes(n - len(data))
            pos += n
        return bytes(out)

    async def write(self, fh, off, buf):
        fd, inode, sync = self.fds[fh]
        delay = self._control().get("write_delay_s")
        if delay:
            await trio.sleep(float(delay))
        pg = self._pages(inode, fd)
        pos, i = off, 0
        while i < len(buf):
            b, o = divmod(pos, BLOCK)
            n = min(BLOCK - o, len(buf) - i)
            self._block(pg, fd, b)[o:o + n] = buf[i:i + n]
            pos += n
            i += n
        pg.size = max(pg.size, off + len(buf))
        if sync:
            await self._sync_file(inode, fd)
        return len(buf)

    async def flush(self, fh):
        pass

    async def release(self, fh):
        fd, inode, _ = self.fds.pop(fh)
        left = self.open_count.get(inode, 1) - 1
        if left > 0:
            self.open_count[inode] = left
            # another descriptor still reads the unsynced pages through this inode
            if any(ino == inode for _, ino, _ in self.fds.values()):
                os.close(fd)
                return
        else:
            self.open_count.pop(inode, None)
        pg = self.pages.get(inode)
        if pg is not None and (pg.dirty or pg.floor != pg.size):
            # Closing does not sync: keep a descriptor so the pages can still reach the disk
            # at a later fsync; the pages stay in memory until then.
            self.fds[-fd] = (fd, inode, False)
            return
        self.pages.pop(inode, None)
        os.close(fd)

    async def fsync(self, fh, datasync):
        fd, inode, _ = self.fds[fh]
        await self._sync_file(inode, fd)

    async def _sync_file(self, inode: int, fd: int) -> None:
        ctl = self._control()
        if ctl.get("fsync_delay_s"):
            await trio.sleep(float(ctl["fsync_delay_s"]))
        pg = self.pages.get(inode)
        if ctl.get("fsync_error"):
            if pg is not None:  # Linux marks the pages clean after a failed writeback
                self.pages.pop(inode, None)
            raise pyfuse3.FUSEError(errno.EIO)
        if ctl.get("fsync_ignore"):
            return      # the disk says "flushed" and keeps the pages in its volatile cache
        if pg is not None:
            self._write_back(pg, fd)
            self.pages.pop(inode, None)
        self._close_lingering(inode)
        self.journal.commit()

    def _close_lingering(self, inode: int) -> None:
        """Descriptors kept after close only to write pages back; synced now, so closed."""
        for key in [k for k, (_, ino, _) in self.fds.items() if k < 0 and ino == inode]:
            os.close(self.fds.pop(key)[0])

    async def _sync_point(self) -> None:
        ctl = self._control()
        if ctl.get("fsync_delay_s"):
            await trio.sleep(float(ctl["fsync_delay_s"]))
        if ctl.get("fsync_error"):
            raise pyfuse3.FUSEError(errno.EIO)
        if ctl.get("fsync_ignore"):
            return
        self.journal.commit()

    @staticmethod
    def _write_back(pg: Pages, fd: int) -> None:
        if pg.floor < os.fstat(fd).st_size:
            os.ftruncate(fd, pg.floor)
        for b in sorted(pg.dirty):
            start = b * BLOCK
            if start >= pg.size:
                continue
            os.pwrite(fd, bytes(pg.dirty[b][:min(BLOCK, pg.size - start)]), start)
        if os.fstat(fd).st_size != pg.size:
            os.ftruncate(fd, pg.size)

    def sync_all(self) -> None:
        """A clean shutdown writes everything back, as an orderly unmount does."""
        for inode, pg in list(self.pages.items()):
            try:
                self._write_back(pg, self._backing_fd(inode))
            except (OSError, pyfuse3.FUSEError):
                continue
        self.pages.clear()
        self.journal.commit()

    def _control(self) -> dict:
        try:
            st = os.stat(self.control_path)
            # ctime too: docker's archive API writes files with whole-second mtimes, so two
            # settings within one second would share one; the kernel sets ctime, to the ns.
            m = (st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_size)
        except FileNotFoundError:
            self.control, self._control_mtime = {}, None
            return self.control
        if m != self._control_mtime:
            try:
                self.control = json.loads(Path(os.fsdecode(self.control_path)).read_text() or "{}")
            except ValueError:
                pass  # half-written by the controller: keep the last good one
            self._control_mtime = m
        return self.control


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("backing")
    ap.add_argument("mountpoint", nargs="?")
    ap.add_argument("--recover", action="store_true",
                    help="only undo the journal of a crashed instance, then exit")
    ap.add_argument("--pidfile")
    a = ap.parse_args(argv)
    backing = os.fsencode(os.path.abspath(a.backing))
    os.makedirs(backing, exist_ok=True)
    undone = UndoJournal.recover(backing)
    if undone:
        print(f"lazyfs: undid {undone} namespace changes a crash left unsynced", file=sys.stderr)
    if a.recover or not a.mountpoint:
        return 0
    fs = LazyFS(backing)
    opts = set(pyfuse3.default_options)
    opts |= {"fsname=splitbrain-lazyfs", "allow_other"}
    pyfuse3.init(fs, a.mountpoint, opts)
    if a.pidfile:
        Path(a.pidfile).write_text(f"{os.getpid()}\n")
    clean = False
    try:
        trio.run(_serve, fs)
        clean = True
    finally:
        if clean:
            fs.sync_all()
        pyfuse3.close(unmount=True)
    return 0


CHECKPOINT = b"checkpoint"   # under META: how many SIGUSR1 checkpoints are done


async def _serve(fs: LazyFS) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(pyfuse3.main)
        # SIGTERM is an orderly shutdown (sync, then unmount); SIGKILL is the power loss;
        # SIGUSR1 is a checkpoint: everything written so far becomes durable (the set-up a
        # database did before the test, which a real machine would long have flushed).
        done = 0
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGUSR1) as sigs:
            async for sig in sigs:
                if sig == signal.SIGUSR1:
                    fs.sync_all()
                    done += 1
                    Path(os.fsdecode(os.path.join(fs.journal.dir, CHECKPOINT))).write_text(
                        f"{done}\n")
                    continue
                pyfuse3.terminate()
                break


if __name__ == "__main__":
    sys.exit(main())
