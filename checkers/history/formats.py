"""Reading and writing histories in any supported format, detected from the file."""

from __future__ import annotations

import io
import os
from pathlib import Path

from .edn import load_edn, write_edn
from .history import History
from .json_array import load_json_array, looks_like_json_array
from .jsonl import load_jsonl, write_jsonl
from .op import HistoryError

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
    fmt = fmt or format_for_path(path)
    if fmt == "jsonl":
        with open(path, "wb") as out:
            write_jsonl(history.ops, out)
    elif fmt == "edn":
        with open(path, "w", encoding="utf-8") as out:
            write_edn(history.ops, out)
    else:
        raise HistoryError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")


def dumps_history(history: History, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "jsonl":
        write_jsonl(history.ops, buf)
        return buf.getvalue()
    text = io.StringIO()
    write_edn(history.ops, text)
    return text.getvalue().encode()
