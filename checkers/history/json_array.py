"""A JSON array of op maps — the history format of Elle's command-line
wrapper (elle-cli), e.g. ``[{"type": "ok", "f": "txn", "process": 0,
"value": [["append", 1, 2], ["r", 1, [1, 2]]]}, ...]``.

Elements are decoded one at a time so that a bad one is reported with the
line it starts on.
"""

from __future__ import annotations

import bisect
import json
import re

from .columnar import build_columnar_from_records
from .history import History, gc_paused
from .op import HistoryError

_HEAD = re.compile(rb"\s*\[\s*(\{\s*\"|\])")
_SKIP = re.compile(r"[\s,]*")


def looks_like_json_array(data: bytes) -> bool:
    """``[`` then ``{"`` (or ``]``): JSON, where EDN would have ``{:``."""
    return _HEAD.match(data[:256]) is not None


def load_json_array(data: bytes, source: str | None = None) -> History:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise HistoryError(f"not UTF-8 text (byte {e.start})", file=source) from None
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_at(offset: int) -> int:
        return bisect.bisect_right(newlines, offset - 1) + 1

    start = text.find("[")
    if start < 0:
        raise HistoryError("expected a JSON array of op objects", file=source, line=1)
    dec = json.JSONDecoder()
    records: list[dict] = []
    lines: list[int] = []
    pos = start + 1
    n = len(text)
    with gc_paused():
        while True:
            pos = _SKIP.match(text, pos).end()
            if pos >= n:
                raise HistoryError("the JSON array is not closed (expected ']')", file=source,
                                   line=line_at(n))
            if text[pos] == "]":
                break
            try:
                rec, end = dec.raw_decode(text, pos)
            except json.JSONDecodeError as e:
                raise HistoryError(f"not JSON: {e.msg}", file=source, line=line_at(e.pos)) from None
            if not isinstance(rec, dict):
                raise HistoryError(f"expected an op object in the array, got "
                                   f"{type(rec).__name__}", file=source, line=line_at(pos))
            records.append(rec)
            lines.append(line_at(pos))
            pos = end
    rest = text[pos + 1:].strip()
    if rest:
        raise HistoryError("unexpected text after the JSON array", file=source,
                           line=line_at(pos + 1 + text[pos + 1:].find(rest[0])))
    col = build_columnar_from_records(records, lines, source)
    return History(records=records, source=source, lines=lines, columnar=col)
