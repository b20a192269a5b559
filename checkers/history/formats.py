"""Reading and writing histories in any supported format, detected from the file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable

from .edn import MIXED_KEYS, load_edn, mixed_keys_at, op_to_edn
from .history import History
from .json_array import load_json_array, looks_like_json_array
from .jsonl import dumps_op, load_jsonl
from .op import HistoryError, Op

FORMATS = ("jsonl", "edn", "json-array")


def detect_format(data: bytes, name: str = "") -> str:
    """JSON Lines starts with ``{"``; EDN with ``[``, ``(``, ``{:`` or a ``;`` comment."""
    lower = name.lower()
    if not lower.endswith((".jsonl", ".ndjson", ".edn")) and looks_like_json_array(data):
        return "json-array"  # Elle's CLI format: [{"type": ...}, ...]
    if lower.endswith((".jsonl", ".json", ".ndjson")):
        return "jsonl"
    if lower.endswith(".edn"):
        return "edn"
    head = data.lstrip()[:64]
    if head.startswith(b'{"') or head.startswith(b"{ \""):
        return "jsonl"
    if head[:1] in (b"[", b"(", b";", b"{", b"#"):
        return "edn"
    raise HistoryError("cannot tell the format: expected JSON Lines (lines like {\"type\": ...})"
                       " or Jepsen EDN ([{:type :invoke ...} ...])", file=name or None, line=1)


def loads_history(data: bytes, source: str | None = None, *, fmt: str | None = None,
                  independent: bool | None = None) -> History:
    fmt = fmt or detect_format(data, source or "")
    if fmt == "jsonl":
        return load_jsonl(data, source)
    if fmt == "json-array":
        return load_json_array(data, source)
    if fmt == "edn":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise HistoryError(f"not UTF-8 text (byte {e.start})", file=source) from None
        return load_edn(text, source, independent=independent)
    raise HistoryError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}", file=source)


def load_history(path: str | os.PathLike, *, fmt: str | None = None,
                 independent: bool | None = None) -> History:
    """Load a history file (JSONL or EDN), raising HistoryError on bad input."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise HistoryError("no such file", file=str(p)) from None
    except IsADirectoryError:
        raise HistoryError("is a directory, expected a history file", file=str(p)) from None
    except OSError as e:
        raise HistoryError(f"cannot read: {e.strerror}", file=str(p)) from None
    return loads_history(data, str(p), fmt=fmt, independent=independent)


def format_for_path(path: str | os.PathLike) -> str:
    return "edn" if str(path).lower().endswith(".edn") else "jsonl"


def save_history(history: History, path: str | os.PathLike, *, fmt: str | None = None) -> None:
    """Write ``history`` to ``path`` all or nothing: into a temporary file beside
    it, renamed over ``path`` only once every op is written, so a failed
    conversion leaves no empty or half-written file behind."""
    fmt = fmt or format_for_path(path)
    if fmt not in FORMATS:
        raise HistoryError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    data = dumps_history(history, fmt)
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                               dir=target.parent if str(target.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _encoded(history: History, fmt: str, encode: Callable[[Op], bytes]) -> list[bytes]:
    """Each op encoded; one that cannot be raises HistoryError naming its line."""
    out = []
    for pos, op in enumerate(history.ops):
        try:
            out.append(encode(op))
        except (TypeError, ValueError) as e:  # e.g. a lone surrogate in a history built in code
            why = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise HistoryError(f"cannot write this op as {fmt}: {why}", file=history.source,
                               line=history.line_of(pos)) from None
    out.append(b"")
    return out


def dumps_history(history: History, fmt: str) -> bytes:
    """The whole history in ``fmt``; an op that cannot be written raises
    HistoryError naming its source line."""
    if fmt == "jsonl":
        return b"\n".join(_encoded(history, fmt, dumps_op))
    if fmt != "edn":
        raise HistoryError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    at = mixed_keys_at(history.ops)
    if at is not None:
        raise HistoryError(f"{MIXED_KEYS} (this op; converting to JSON Lines keeps them)",
                           file=history.source, line=history.line_of(at))
    return b"\n".join(_encoded(history, fmt, lambda op: op_to_edn(op).encode("utf-8")))
