"""File corruption on a node, as Jepsen's file-corruption nemesis does it: flip bits in, zero, or
truncate a chunk of a file while the database is down, and say exactly what changed.

Every change goes through the node contract with ``dd``/``truncate`` (coreutils on every Debian
node), so it works the same on netns, docker and ssh nodes.  The choice of file, offset and
length comes from the caller's seeded ``random.Random``: a run's seed reproduces its corruption.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass
from typing import Any

MODES = ("bitflip", "zero", "truncate")
MAX_CHUNK = 1 << 16  # bytes touched by one bitflip/zero: a page's worth or a few, not a wipe


class CorruptError(RuntimeError):
    """The file could not be read or changed; names the node and file."""


@dataclass(frozen=True)
class Corruption:
    """What was done, for the history: enough to find and check every changed byte."""

    node: str
    file: str
    mode: str
    offset: int
    length: int
    size_before: int
    flipped_bits: int = 0
    # sha256 of bytes [offset, offset+length) before and after (after a truncate: of nothing)
    chunk_sha256_before: str = ""
    chunk_sha256_after: str = ""

    def record(self) -> dict[str, Any]:
        return asdict(self)


def file_size(node: Any, path: str) -> int:
    r = node.exec(["stat", "-c", "%s", path], timeout=10)
    if not r.ok:
        raise CorruptError(f"{node.name}: cannot stat {path}: "
                           f"{r.stderr.decode(errors='replace').strip()}")
    return int(r.stdout.strip())


def read_chunk(node: Any, path: str, offset: int, length: int) -> bytes:
    r = node.exec(["dd", f"if={path}", "bs=65536", f"skip={offset}", f"count={length}",
                   "iflag=skip_bytes,count_bytes", "status=none"], timeout=30)
    if not r.ok:
        raise CorruptError(f"{node.name}: cannot read {path}: "
                           f"{r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def write_chunk(node: Any, path: str, offset: int, data: bytes) -> None:
    # fsync: the damage is on the disk, not in a cache a later power loss would drop
    r = node.exec(["dd", f"of={path}", "bs=65536", f"seek={offset}", "oflag=seek_bytes",
                   "conv=notrunc,fsync", "status=none"], stdin=data, timeout=30)
    if not r.ok:
        raise CorruptError(f"{node.name}: cannot write {path}: "
                           f"{r.stderr.decode(errors='replace').strip()}")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def corrupt(node: Any, path: str, mode: str, rng: random.Random, *,
            max_chunk: int = MAX_CHUNK, start_bytes: int = 0, end_bytes: int = 0) -> Corruption:
    """Corrupt one chunk of ``path`` on ``node``; the chunk is drawn from ``rng``.

    ``bitflip`` flips one random bit in each of up to 64 random bytes of the chunk (so the change
    is sparse, as a failing disk's is); ``zero`` overwrites the chunk with zeros; ``truncate``
    cuts the file at the chunk's start (a torn tail).  The chunk lies in bytes [``start_bytes``,
    ``end_bytes``) of the file (0: its end), as Jepsen's corrupt-file nemesis's start and end:
    etcd's and PostgreSQL's WAL files are preallocated (64 and 16 MiB of zeros), and a chunk in
    the unwritten tail, or before the last checkpoint, changes nothing the database reads.  A
    file (or region) with no bytes is left alone (length 0)."""
    if mode not in MODES:
        raise ValueError(f"corrupt mode {mode!r} is not one of {', '.join(MODES)}")
    size = file_size(node, path)
    lo, hi = min(start_bytes, size), min(end_bytes, size) if end_bytes > 0 else size
    if hi <= lo:
        return Corruption(node.name, path, mode, lo, 0, size)
    length = min(hi - lo, rng.randint(1, max_chunk))
    offset = rng.randrange(lo, hi - length + 1)
    if mode == "truncate":
        before = _sha(read_chunk(node, path, offset, size - offset))
        r = node.exec(["sh", "-c", 'truncate -s "$1" "$2" && sync "$2"', "sh", str(offset), path],
                      timeout=30)
        if not r.ok:
            raise CorruptError(f"{node.name}: cannot truncate {path}: "
                               f"{r.stderr.decode(errors='replace').strip()}")
        return Corruption(node.name, path, mode, offset, size - offset, size,
                          chunk_sha256_before=before, chunk_sha256_after=_sha(b""))
    original = read_chunk(node, path, offset, length)
    if mode == "zero":
        chunk = bytearray(length)
        flips = 0
    else:
        chunk = bytearray(original)
        flips = 0
        for i in rng.sample(range(length), min(64, length)):
            chunk[i] ^= 1 << rng.randrange(8)
            flips += 1
    write_chunk(node, path, offset, bytes(chunk))
    return Corruption(node.name, path, mode, offset, length, size, flipped_bits=flips,
                      chunk_sha256_before=_sha(original), chunk_sha256_after=_sha(bytes(chunk)))
