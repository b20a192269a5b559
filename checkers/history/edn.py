"""Jepsen's EDN histories: read and write.

EDN (https://github.com/edn-format/edn) is read by a small regex tokenizer
and a recursive-descent reader rather than a general EDN library because
histories are large and only a subset appears in them: maps, vectors,
lists, sets, keywords, symbols, strings, characters, numbers, ``nil``,
booleans, comments, ``#_`` discards and tagged literals (kept as their
value).  Keywords become plain strings without the colon: Jepsen writes
``:f :read`` where our JSON form writes ``"f": "read"``.

Jepsen files hold either a vector/list of op maps or one map per line; both
are accepted.  Jepsen's "independent" values ``[key value]`` become
``key``/``value`` (auto-detected only where unambiguous, see
:func:`looks_independent`, or forced).  Sets become :class:`EdnSet` (compared
as sets); map keys keep their type; integers of any size stay exact; a value
nested deeper than ``MAX_DEPTH`` or a string holding half a surrogate pair is
refused naming its line.
"""

from __future__ import annotations

import bisect
import math
import re
from typing import Any, Iterable, TextIO

from .history import History, op_from_mapping
from .op import INPUT_VALUE_FS, NEMESIS, HistoryError, Op
from .values import MAX_DEPTH, EdnSet, intern_key


class Keyword(str):
    """An EDN keyword, kept distinct from strings while reading."""
    __slots__ = ()


class Symbol(str):
    __slots__ = ()


_TOKEN = re.compile(r"""
    (?P<ws>[\s,]+)
  | (?P<comment>;[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<open>\#\{|[\[\(\{])
  | (?P<close>[\]\)\}])
  | (?P<discard>\#_)
  | (?P<tag>\#[A-Za-z][^\s,\[\]\(\)\{\}"]*)
  | (?P<char>\\(?:newline|space|tab|return|formfeed|backspace|u[0-9a-fA-F]{4}|.))
  | (?P<atom>[^\s,\[\]\(\)\{\}"\;]+)
""", re.VERBOSE | re.DOTALL)

_INT = re.compile(r"[+-]?\d+N?$")
_FLOAT = re.compile(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?M?$")
_RATIO = re.compile(r"[+-]?\d+/\d+$")
_STRING_ESC = re.compile(r'\\(u[0-9a-fA-F]{4}|.)', re.DOTALL)
_ESC = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "b": "\b", "f": "\f"}
_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r", "formfeed": "\f",
          "backspace": "\b"}


def _unescape(m: re.Match) -> str:
    s = m.group(1)
    if s[0] == "u" and len(s) == 5:
        return chr(int(s[1:], 16))
    return _ESC.get(s, s)


def _whole_unicode(s: str) -> str | None:
    """``s`` with ``\\uD83D\\uDE00``-style surrogate pairs joined into one
    character (EDN, like Java, escapes UTF-16 units); None when a lone
    surrogate remains — not Unicode, so no JSON or UTF-8 writer can keep it."""
    if not any("\ud800" <= c <= "\udfff" for c in s):
        return s
    try:
        return s.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:
        return None


def _atom(text: str) -> Any:
    if text == "nil":
        return None
    if text == "true":
        return True
    if text == "false":
        return False
    if text[0] == ":":
        return Keyword(text[1:])
    if _INT.match(text):
        return int(text.rstrip("N"))
    if _FLOAT.match(text):
        return float(text.rstrip("M"))
    if _RATIO.match(text):
        a, b = text.split("/")
        return int(a) / int(b)
    if text in ("##Inf", "##-Inf", "##NaN"):
        return {"##Inf": math.inf, "##-Inf": -math.inf, "##NaN": math.nan}[text]
    return Symbol(text)


class _Reader:
    def __init__(self, text: str, source: str | None):
        self.text = text
        self.source = source
        self._newlines = [m.start() for m in re.finditer("\n", text)]
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        n = len(text)
        while pos < n:
            m = _TOKEN.match(text, pos)
            if m is None:
                raise self.error(pos, f"cannot read EDN here: {text[pos:pos + 20]!r}")
            kind = m.lastgroup
            if kind not in ("ws", "comment"):
                self.tokens.append((kind, m.group(), pos))
            pos = m.end()
        self.i = 0

    def line_at(self, offset: int) -> int:
        return bisect.bisect_right(self._newlines, offset - 1) + 1

    def error(self, offset: int, msg: str) -> HistoryError:
        return HistoryError(msg, file=self.source, line=self.line_at(offset))

    def at_end(self) -> bool:
        if self.i < len(self.tokens) and self.tokens[self.i][0] == "discard":
            self.skip_discards()
        return self.i >= len(self.tokens)

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i]

    def skip_discards(self) -> None:
        """Drop ``#_ form`` pairs (nested ones too: ``#_ #_ a b`` drops a and b)."""
        while self.i < len(self.tokens) and self.tokens[self.i][0] == "discard":
            off = self.tokens[self.i][2]
            self.i += 1
            if self.at_end():
                raise self.error(off, "'#_' discards nothing: no form follows it")
            self.read()

    def read(self, depth: int = 0) -> Any:
        if self.i < len(self.tokens) and self.tokens[self.i][0] == "discard":
            self.skip_discards()
        if self.i >= len(self.tokens):
            end = len(self.text)
            raise self.error(end, "unexpected end of input: an EDN form is not closed")
        kind, tok, off = self.tokens[self.i]
        self.i += 1
        if kind == "atom":
            return _atom(tok)
        if kind == "string":
            s = _whole_unicode(_STRING_ESC.sub(_unescape, tok[1:-1]))
            if s is None:
                raise self.error(off, "a string holds a lone UTF-16 surrogate (\\uD800-\\uDFFF "
                                      "without its pair): not Unicode text")
            return s
        if kind == "char":
            c = tok[1:]
            if len(c) == 5 and c[0] == "u":
                return chr(int(c[1:], 16))
            return _CHARS.get(c, c)
        if kind == "tag":
            return self.read(depth)
        if kind == "open":
            if depth >= MAX_DEPTH:
                raise self.error(off, f"a value nested more than {MAX_DEPTH} levels deep")
            closer = {"[": "]", "(": ")", "{": "}", "#{": "}"}[tok]
            items = []
            while True:
                if self.i >= len(self.tokens):
                    raise self.error(off, f"'{tok}' opened here is never closed")
                k2, t2, o2 = self.tokens[self.i]
                if k2 == "discard":
                    self.skip_discards()
                    continue
                if k2 == "close":
                    self.i += 1
                    if t2 != closer:
                        raise self.error(o2, f"expected '{closer}' to close '{tok}' from line "
                                             f"{self.line_at(off)}, found '{t2}'")
                    break
                items.append(self.read(depth + 1))
            if tok == "{":
                if len(items) % 2:
                    raise self.error(off, "a map needs an even number of forms (key value pairs)")
                return {_hashable(items[j]): items[j + 1] for j in range(0, len(items), 2)}
            if tok == "#{":
                return self.edn_set(items, off)
            return items
        raise self.error(off, f"unexpected '{tok}'")

    def edn_set(self, items: list, off: int) -> EdnSet:
        keyed = {}
        for x in items:
            k = intern_key(_plain(x))
            if k in keyed:
                raise self.error(off, f"a set holds {_plain(x)!r} twice")
            keyed[k] = x
        # a canonical order, so a set is written and shown the same way however read
        return EdnSet(keyed[k] for k in sorted(keyed, key=repr))


def _hashable(x: Any) -> Any:
    if isinstance(x, EdnSet):
        return ("#{", *(_hashable(i) for i in x))
    if isinstance(x, list):
        return tuple(_hashable(i) for i in x)
    if isinstance(x, dict):
        return tuple(sorted((str(k), _hashable(v)) for k, v in x.items()))
    return x


def _plain(x: Any) -> Any:
    """EDN values → JSON-able values: keywords and symbols become strings, sets
    stay :class:`EdnSet`, scalar map keys keep their type (``{1 5}`` is keyed
    by the integer 1); a compound map key becomes its EDN text."""
    if isinstance(x, (Keyword, Symbol)):
        return str(x)
    if isinstance(x, EdnSet):
        return EdnSet(_plain(i) for i in x)
    if isinstance(x, (list, tuple)):
        return [_plain(i) for i in x]
    if isinstance(x, dict):
        return {(_plain(k) if isinstance(k, (str, int, float)) or k is None
                 else _edn_key_text(k)): _plain(v) for k, v in x.items()}
    return x


def _edn_key_text(k: Any) -> str:
    if isinstance(k, tuple) and k[:1] == ("#{",):
        return dumps_value(EdnSet(_plain(i) for i in k[1:]))
    return dumps_value(_plain(list(k)) if isinstance(k, tuple) else _plain(k))


def _pair(v: Any) -> bool:
    return type(v) is list and len(v) == 2  # a vector: a two-member set is no [key value]


def looks_independent(records: list[dict]) -> bool | None:
    """Is this Jepsen's jepsen.independent form, every client value ``[key value]``?

    True only when the history says so unambiguously: every client op's value
    is ``[k v]`` with ``k`` a scalar, a cas's ``v`` is itself a ``[from to]``
    pair, and some op could not be read the plain way — a read (or other op
    whose value is a result) invoked with ``[k nil]`` where Jepsen's plain form
    invokes with nil, or a cas ``[k [from to]]``.  False when some client value
    cannot be ``[key value]`` (a plain cas ``[1 2]`` is not key 1 with a cas of
    2: a cas needs a pair).  None when it could be either (say which with
    ``--independent``): guessing would split or merge keys silently.
    """
    seen = evidence = False
    for r in records:
        if r.get("process") == NEMESIS:
            continue
        v = r.get("value")
        if not (_pair(v) and not isinstance(v[0], (list, dict))):
            return False
        f = r.get("f")
        if f == "cas":
            if not _pair(v[1]):
                return False
            evidence = True
        elif v[1] is None and r.get("type") == "invoke" and f not in INPUT_VALUE_FS:
            evidence = True
        seen = True
    if not seen:
        return False
    return True if evidence else None


def read_edn_records(text: str, source: str | None = None) -> tuple[list[dict], list[int]]:
    """Decode EDN text into op records (plain dicts) and their line numbers."""
    reader = _Reader(text, source)
    forms: list[tuple[Any, int]] = []
    starts: list[int] = []
    while not reader.at_end():
        starts.append(reader.i)
        off = reader.peek()[2]
        forms.append((reader.read(), off))
    if len(forms) == 1 and type(forms[0][0]) is list:
        # A single vector/list of maps: find where each element starts.
        reader.i = starts[0] + 1
        items_offsets: list[int] = []
        while True:
            reader.skip_discards()
            if reader.tokens[reader.i][0] == "close":
                break
            items_offsets.append(reader.tokens[reader.i][2])
            reader.read(1)
        forms = list(zip(forms[0][0], items_offsets))
    records, lines = [], []
    for form, off in forms:
        line = reader.line_at(off)
        if not isinstance(form, dict):
            raise HistoryError(f"expected an op map like {{:type :invoke, :f :read, ...}}, got "
                               f"{type(_plain(form)).__name__}", file=source, line=line)
        rec = {}
        for k, v in form.items():
            name = str(k) if isinstance(k, (Keyword, Symbol, str)) else str(_plain(k))
            rec[name] = _plain(v)
        records.append(rec)
        lines.append(line)
    return records, lines


def load_edn(text: str, source: str | None = None, *, independent: bool | None = None) -> History:
    records, lines = read_edn_records(text, source)
    if independent is None:
        independent = looks_independent(records)
        if independent is None:
            raise HistoryError("cannot tell whether values are Jepsen 'independent' [key value] "
                               "pairs (every client value is a pair, and nothing rules either "
                               "reading out): say --independent yes or --independent no",
                               file=source)
    ops: list[Op] = []
    for pos, (rec, line) in enumerate(zip(records, lines)):
        if independent and rec.get("process") != NEMESIS:
            v = rec.get("value")
            if not (isinstance(v, list) and len(v) == 2):
                raise HistoryError("independent history: expected value [key value]",
                                   file=source, line=line)
            rec = dict(rec)
            rec["key"], rec["value"] = v[0], v[1]
        ops.append(op_from_mapping(rec, pos, file=source, line=line))
    return History(ops=ops, source=source, lines=lines)


# ---------------------------------------------------------------- writing

_NEEDS_ESC = re.compile(r'["\\\n\t\r\b\f]')
_REV_ESC = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b",
            "\f": "\\f"}
_KEYWORD_OK = re.compile(r"^[A-Za-z*+!_?<>=\-][A-Za-z0-9*+!_?<>=\-.]*(/[A-Za-z0-9*+!_?<>=\-.]+)?$")


def _edn_string(s: str) -> str:
    return '"' + _NEEDS_ESC.sub(lambda m: _REV_ESC[m.group()], s) + '"'


def dumps_value(x: Any) -> str:
    if x is None:
        return "nil"
    if x is True:
        return "true"
    if x is False:
        return "false"
    if isinstance(x, Keyword):
        return ":" + x
    if isinstance(x, str):
        return _edn_string(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "##NaN"
        if math.isinf(x):
            return "##Inf" if x > 0 else "##-Inf"
        r = repr(x)
        return r if any(c in r for c in ".eE") else r + ".0"
    if isinstance(x, EdnSet):
        return "#{" + " ".join(dumps_value(i) for i in x) + "}"
    if isinstance(x, (list, tuple)):
        return "[" + " ".join(dumps_value(i) for i in x) + "]"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{dumps_value(k)} {dumps_value(v)}" for k, v in x.items()) + "}"
    raise TypeError(f"cannot write {type(x).__name__} as EDN")


def _kw(s: str) -> Any:
    return Keyword(s) if _KEYWORD_OK.match(s) else s


def _txn_value(v: Any) -> Any:
    # Knossos and Elle expect micro-op functions as keywords: [:read :x 1].
    if isinstance(v, list) and all(isinstance(m, list) and m and isinstance(m[0], str) for m in v):
        return [[_kw(m[0])] + m[1:] for m in v]
    return v


def op_to_edn(op: Op) -> str:
    value = _txn_value(op.value) if op.f == "txn" else op.value
    wrap = op.key is not None and op.process != NEMESIS
    if wrap:
        value = [op.key, value]  # Jepsen's independent form, as Knossos reads it
    parts = [f":index {op.index}"]
    if op.time is not None:
        parts.append(f":time {op.time}")
    parts.append(f":type :{op.type}")
    parts.append(":process :nemesis" if op.process == NEMESIS else f":process {dumps_value(op.process)}")
    parts.append(f":f {dumps_value(_kw(op.f))}")
    parts.append(f":value {dumps_value(value)}")
    if op.node is not None:
        parts.append(f":node {dumps_value(op.node)}")
    if op.error is not None:
        parts.append(f":error {dumps_value(op.error)}")
    if op.key is not None and not wrap:
        parts.append(f":key {dumps_value(op.key)}")
    for k, v in op.extra.items():
        if _KEYWORD_OK.match(k):
            parts.append(f":{k} {dumps_value(v)}")
    return "{" + ", ".join(parts) + "}"


MIXED_KEYS = ("EDN's independent form ([key value] values) needs every client op to have a "
              "key, or none: this history mixes them")


def mixed_keys_at(ops: list[Op]) -> int | None:
    """Position of the first client op keyed unlike the first one, if any."""
    first = None
    for pos, op in enumerate(ops):
        if op.process == NEMESIS:
            continue
        keyed = op.key is not None
        if first is None:
            first = keyed
        elif keyed != first:
            return pos
    return None


def write_edn(ops: Iterable[Op], out: TextIO) -> None:
    """One op map per line, as Jepsen's history.edn.  Keys are written in the
    independent form, which a reader can only tell apart when every client op
    has one or none does."""
    ops = list(ops)
    at = mixed_keys_at(ops)
    if at is not None:
        raise HistoryError(f"{MIXED_KEYS} (op #{at})")
    for op in ops:
        out.write(op_to_edn(op))
        out.write("\n")


def loads_value(text: str) -> Any:
    """One EDN value (e.g. a ``--init`` argument) as a JSON-able value; map keys
    keep their type (``{1 5}`` is keyed by the integer 1)."""
    reader = _Reader(text, None)
    if reader.at_end():
        raise HistoryError("empty value")
    v = reader.read()
    if not reader.at_end():
        raise HistoryError(f"expected one value, found more after it: {text!r}")
    return _plain(v)
