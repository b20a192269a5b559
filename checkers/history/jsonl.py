"""Native history format: JSON Lines, one op per line, written append-only.

The writer flushes every op to the OS as it is recorded, so a controller
killed with SIGKILL leaves every completed line on disk; at most the line
being written is torn.  The reader skips a torn *last* line (one that does
not end in a newline and does not parse) with a warning naming it; a bad
line anywhere else is an error naming the line.
"""

from __future__ import annotations

import io
import json
import os
import threading
from typing import Any, Iterable

try:  # orjson parses ~4x faster than json on million-op histories
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a declared dependency
    _orjson = None

from .columnar import build_columnar_from_records
from .history import History, gc_paused
from .op import HistoryError, Op


# orjson reads an integer outside [-2^63, 2^64) as a float, so 2^70 and
# 2^70+1 would meet.  Only a literal of 20+ digits, or a negative one of 19,
# can be out of that range; a line holding one is read again by the stdlib
# parser, which keeps integers exact.  (A 19-digit positive literal, such as an
# epoch time in ns, is below 2^64 and stays on the fast path.)  Found with
# translate + find, both C loops over the bytes: a regex took 2.4 s on 19 MB.
_DIGITS_AS_ZERO = bytes(48 if 48 <= b <= 57 else (45 if b == 45 else 32) for b in range(256))
_TWENTY_DIGITS = b"0" * 20
_MINUS_NINETEEN = b"-" + b"0" * 19


def _may_hold_wide_int(b: bytes) -> bool:
    t = b.translate(_DIGITS_AS_ZERO)
    return _TWENTY_DIGITS in t or _MINUS_NINETEEN in t


def _exact_loads(line: bytes) -> Any:
    """The stdlib parse of a line orjson already accepted: same JSON, exact ints."""
    return json.loads(line)


def _loads(b: bytes) -> Any:
    if _orjson is not None:
        rec = _orjson.loads(b)
        return _exact_loads(b) if _may_hold_wide_int(b) else rec
    return json.loads(b, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _dumps(d: dict) -> bytes:
    if _orjson is not None:
        try:
            return _orjson.dumps(d, option=_orjson.OPT_NON_STR_KEYS)
        except TypeError:
            # an integer beyond 64 bits (written exactly by the stdlib below);
            # anything else the stdlib cannot write either, and says why
            pass
    return json.dumps(d, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def dumps_op(op: Op) -> bytes:
    return _dumps(op.to_dict())


def read_jsonl_records(data: bytes, source: str | None = None,
                       warnings: list[str] | None = None) -> tuple[list[dict], list[int]]:
    """Decode JSON Lines into records and their 1-based line numbers."""
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
        torn_candidate = False  # the file ends with a newline: the last line is whole
    else:
        torn_candidate = True
    if _orjson is not None:
        # Fast path: every line a JSON object, no blank lines.  Any surprise
        # falls through to the careful loop below, which names the line.
        loads = _orjson.loads
        try:
            recs = [loads(x) for x in raw]
        except ValueError:
            recs = None
        if recs is not None and all(type(r) is dict for r in recs):
            if _may_hold_wide_int(data):
                recs = [_exact_loads(x) if _may_hold_wide_int(x) else r
                        for x, r in zip(raw, recs)]
            return recs, list(range(1, len(recs) + 1))
    records: list[dict] = []
    lines: list[int] = []
    last = len(raw) - 1
    for i, line in enumerate(raw):
        rec = decode_line(line, i + 1, i == last and torn_candidate, source, warnings)
        if rec is not None:
            records.append(rec)
            lines.append(i + 1)
    return records, lines


def decode_line(line: bytes, line_no: int, may_be_torn: bool, source: str | None,
                warnings: list[str] | None) -> dict | None:
    """One line's record; None for a blank line or a torn last one (with a
    warning); HistoryError naming the line for anything else not an object."""
    if not line.strip():
        return None
    try:
        rec = _loads(line)
    except (ValueError, TypeError) as e:
        if may_be_torn:
            msg = (f"{source or 'history'}:{line_no}: skipped a torn last line "
                   f"({len(line)} bytes, not valid JSON) — the writer was interrupted")
            if warnings is not None:
                warnings.append(msg)
            return None
        raise HistoryError(f"not a JSON object: {str(e).splitlines()[0]}", file=source,
                           line=line_no) from None
    if not isinstance(rec, dict):
        raise HistoryError(f"expected a JSON object (one op per line), got {type(rec).__name__}",
                           file=source, line=line_no)
    return rec


# Below this size the per-record path is as quick and needs no compiled scanner
# (4 MiB is ~40,000 ops).  Tests set the variable to 0 to run every input
# through the scanner as well.
def _scan_min_bytes(default: int = 4 << 20) -> int:
    text = os.environ.get("SPLITBRAIN_JSONL_SCAN_MIN_BYTES", "")
    return int(text) if text.strip().isdigit() else default


SCAN_MIN_BYTES = _scan_min_bytes()


def load_jsonl(data: bytes, source: str | None = None) -> History:
    """Decode, validate every record's fields, and build the columnar view in
    one pass; Op objects are made later, only if someone asks for them."""
    warnings: list[str] = []
    if len(data) >= SCAN_MIN_BYTES:
        from .jsonl_columns import load_columns
        col, records, lines = load_columns(
            data, source, warnings,
            lambda line, no, torn: decode_line(line, no, torn, source, warnings), _loads)
        return History(records=records, source=source, lines=lines, warnings=warnings,
                       columnar=col)
    with gc_paused():
        records, lines = read_jsonl_records(data, source, warnings)
    col = build_columnar_from_records(records, lines, source)
    return History(records=records, source=source, lines=lines, warnings=warnings, columnar=col)


def write_jsonl(ops: Iterable[Op], out: io.BufferedIOBase | Any) -> None:
    for op in ops:
        out.write(dumps_op(op))
        out.write(b"\n")


class HistoryWriter:
    """Append-only, thread-safe JSONL writer; every op reaches the OS at once.

    Each op is written with a single ``os.write`` of the whole line, so a
    SIGKILL can tear at most the line being written — never an earlier one.
    """

    def __init__(self, path: str | os.PathLike, *, fsync: bool = False):
        self.path = os.fspath(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._lock = threading.Lock()
        self._fsync = fsync
        self.count = 0
        self.bytes = 0

    def write(self, op: Op) -> None:
        line = dumps_op(op) + b"\n"
        with self._lock:
            view = memoryview(line)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            if self._fsync:
                os.fsync(self._fd)
            self.count += 1
            self.bytes += len(line)

    def write_many(self, ops: "Iterable[Op | dict]") -> None:
        """Append several ops with one ``os.write`` (the harness' recorder
        batches ops completed within a few ms).  Each item is an Op or its
        ``to_dict()`` form.  Lines are whole and in order, so a SIGKILL still
        tears at most the last line: the kernel writes a regular file's
        buffer front to back, and earlier batches are already in the file."""
        parts = [_dumps(op) if type(op) is dict else dumps_op(op) for op in ops]
        if not parts:
            return
        parts.append(b"")
        data = b"\n".join(parts)
        with self._lock:
            view = memoryview(data)
            while view:
                n = os.write(self._fd, view)
                view = view[n:]
            if self._fsync:
                os.fsync(self._fd)
            self.count += len(parts) - 1
            self.bytes += len(data)

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> "HistoryWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
