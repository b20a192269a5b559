"""A compiled scanner for the JSON Lines our own writer emits.

Decoding a million-op history with orjson builds two million dicts (~1.5 s
and ~1.3 GiB) only to copy seven fields of each into numpy columns.  This
scanner reads those fields straight from the bytes, for lines of exactly
the shape ``Op.to_dict`` + orjson write::

    {"index":I,"time":I|null,"process":I|"nemesis","type":"invoke|ok|fail|info",
     "f":S[,"key":I|S],"value":null|I|S|[I,I][,"node":J][,"error":J]}

where ``I`` is an integer of at most 18 digits (so it fits int64 exactly),
``S`` a string of printable ASCII without escapes, and ``J`` a string of
printable ASCII whose escapes are the two-character ones.  Such a line is
valid JSON whose fields every loader rule accepts, so nothing is lost by not
asking orjson.  Any other line — a float, a nested value, an extra field,
non-ASCII, spaces, a bad line — is *rejected* here and decoded by the
ordinary path, which keeps every rule and error message (jsonl_columns).
"""

from __future__ import annotations

import numpy as np
from ..jit import njit


def _lit(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("ascii"), np.uint8).copy()


_INDEX = _lit('{"index":')
_TIME = _lit(',"time":')
_PROCESS = _lit(',"process":')
_TYPE = _lit(',"type":"')
_F = _lit(',"f":')
_KEY = _lit(',"key":')
_VALUE = _lit(',"value":')
_NODE = _lit(',"node":')
_ERROR = _lit(',"error":')
_NULL = _lit("null")
_NEMESIS = _lit('"nemesis"')
_INVOKE = _lit('invoke"')
_OK = _lit('ok"')
_FAIL = _lit('fail"')
_INFO = _lit('info"')

# kinds of a key or value
K_NONE, K_INT, K_STR, K_PAIR = 0, 1, 2, 3


@njit(cache=True)
def _match(buf, p, end, lit):
    if p < 0:
        return -1
    n = lit.shape[0]
    if p + n > end:
        return -1
    for i in range(n):
        if buf[p + i] != lit[i]:
            return -1
    return p + n


@njit(cache=True)
def _int(buf, p, end):
    """(position after, value) of a JSON integer of at most 18 digits; -1 if none."""
    if p < 0 or p >= end:
        return -1, 0
    neg = buf[p] == 45
    if neg:
        p += 1
        if p >= end:
            return -1, 0
    c = np.int64(buf[p])
    if c < 48 or c > 57:
        return -1, 0
    if c == 48:
        p += 1
        if p < end and 48 <= buf[p] <= 57:
            return -1, 0  # a leading zero is not JSON
        return p, 0
    v = np.int64(0)
    nd = 0
    while p < end and 48 <= buf[p] <= 57:
        v = v * 10 + (np.int64(buf[p]) - 48)
        p += 1
        nd += 1
        if nd > 18:
            return -1, 0
    return p, (-v if neg else v)


@njit(cache=True)
def _plain(buf, p, end):
    """Position after a string of printable ASCII with no escapes; -1 if not one."""
    if p < 0 or p >= end or buf[p] != 34:
        return -1
    q = p + 1
    while q < end:
        c = buf[q]
        if c == 34:
            return q + 1
        if c < 32 or c > 126 or c == 92:
            return -1
        q += 1
    return -1


@njit(cache=True)
def _escaped(buf, p, end):
    """Position after a printable-ASCII string whose escapes are two-character
    ones (\\" \\\\ \\/ \\b \\f \\n \\r \\t); -1 otherwise (\\u escapes go the
    ordinary way: orjson refuses a lone surrogate, and this must agree)."""
    if p < 0 or p >= end or buf[p] != 34:
        return -1
    q = p + 1
    while q < end:
        c = buf[q]
        if c == 34:
            return q + 1
        if c == 92:
            if q + 1 >= end:
                return -1
            e = buf[q + 1]
            if e == 34 or e == 92 or e == 47 or e == 98 or e == 102 or e == 110 \
                    or e == 114 or e == 116:
                q += 2
                continue
            return -1
        if c < 32 or c > 126:
            return -1
        q += 1
    return -1


@njit(cache=True)
def scan_lines(buf, starts, ends):
    """Parse each line [starts[i], ends[i]) of the writer's shape.

    Returns (accepted, index, time, time_null, process, type, f_start, f_end,
    key_kind, key_int, key_start, key_end, value_kind, value_a, value_b,
    value_start, value_end); string slices exclude their quotes.  A rejected
    line's other fields are meaningless."""
    m = starts.shape[0]
    ok = np.zeros(m, np.bool_)
    index = np.zeros(m, np.int64)
    time = np.zeros(m, np.int64)
    tnull = np.zeros(m, np.bool_)
    proc = np.zeros(m, np.int64)
    typ = np.zeros(m, np.int8)
    fs = np.zeros(m, np.int64)
    fe = np.zeros(m, np.int64)
    kk = np.zeros(m, np.int8)
    ki = np.zeros(m, np.int64)
    ks = np.zeros(m, np.int64)
    ke = np.zeros(m, np.int64)
    vk = np.zeros(m, np.int8)
    va = np.zeros(m, np.int64)
    vb = np.zeros(m, np.int64)
    vs = np.zeros(m, np.int64)
    ve = np.zeros(m, np.int64)
    for i in range(m):
        end = ends[i]
        p = _match(buf, starts[i], end, _INDEX)
        p, index[i] = _int(buf, p, end)
        p = _match(buf, p, end, _TIME)
        q = _match(buf, p, end, _NULL)
        if q >= 0:
            tnull[i] = True
            time[i] = -1
            p = q
        else:
            p, time[i] = _int(buf, p, end)
        p = _match(buf, p, end, _PROCESS)
        q = _match(buf, p, end, _NEMESIS)
        if q >= 0:
            proc[i] = -1
            p = q
        else:
            if p < 0 or p >= end or buf[p] == 45:
                continue  # a negative process goes the ordinary way, which refuses it
            p, proc[i] = _int(buf, p, end)
        p = _match(buf, p, end, _TYPE)
        if p < 0:
            continue
        q = _match(buf, p, end, _INVOKE)
        t = 0
        if q < 0:
            q = _match(buf, p, end, _OK)
            t = 1
        if q < 0:
            q = _match(buf, p, end, _FAIL)
            t = 2
        if q < 0:
            q = _match(buf, p, end, _INFO)
            t = 3
        if q < 0:
            continue
        typ[i] = t
        p = _match(buf, q, end, _F)
        q = _plain(buf, p, end)
        if q < 0 or q - p < 3:
            continue  # f must be a non-empty string
        fs[i], fe[i] = p + 1, q - 1
        p = q
        q = _match(buf, p, end, _KEY)
        if q >= 0:
            r = _plain(buf, q, end)
            if r >= 0:
                kk[i], ks[i], ke[i] = K_STR, q + 1, r - 1
            else:
                r, ki[i] = _int(buf, q, end)
                kk[i] = K_INT
            p = r
        p = _match(buf, p, end, _VALUE)
        if p < 0:
            continue
        q = _match(buf, p, end, _NULL)
        if q < 0:
            q = _plain(buf, p, end)
            if q >= 0:
                vk[i], vs[i], ve[i] = K_STR, p + 1, q - 1
        if q < 0 and p < end and buf[p] == 91:  # [I,I]: a cas pair
            q, va[i] = _int(buf, p + 1, end)
            if q >= 0 and q < end and buf[q] == 44:
                q, vb[i] = _int(buf, q + 1, end)
                if q >= 0 and q < end and buf[q] == 93:
                    q += 1
                    vk[i] = K_PAIR
                else:
                    q = -1
            else:
                q = -1
        elif q < 0:
            q, va[i] = _int(buf, p, end)
            vk[i] = K_INT
        p = q
        q = _match(buf, p, end, _NODE)
        if q >= 0:
            p = _escaped(buf, q, end)
        q = _match(buf, p, end, _ERROR)
        if q >= 0:
            p = _escaped(buf, q, end)
        if p >= 0 and p + 1 == end and buf[p] == 125:
            ok[i] = True
    return ok, index, time, tnull, proc, typ, fs, fe, kk, ki, ks, ke, vk, va, vb, vs, ve


def intern_slices(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray):
    """Codes for byte strings [starts[i], ends[i]), equal bytes one code, in
    order of first occurrence; and the row where each code first occurs."""
    none = np.zeros(0, np.int64)
    return _intern(_slice_hashes(buf, starts, ends), False, buf, starts, ends, none, none)


def intern_int_pairs(a: np.ndarray, b: np.ndarray):
    """Codes for the pairs (a[i], b[i]) in order of first occurrence, and the
    row where each code first occurs (pass b = a for single ints).  A hash
    table: np.unique sorts, which cost ~1.4 s on a million cas pairs."""
    return _intern(_pair_hashes(a, b), True, np.zeros(0, np.uint8), a, a, a, b)


@njit(cache=True)
def _slice_hashes(buf, starts, ends):
    h = np.empty(starts.shape[0], np.uint64)
    for i in range(starts.shape[0]):
        x = np.uint64(14695981039346656037)  # FNV-1a
        for j in range(starts[i], ends[i]):
            x = (x ^ np.uint64(buf[j])) * np.uint64(1099511628211)
        h[i] = x
    return h


@njit(cache=True)
def _pair_hashes(a, b):
    h = np.empty(a.shape[0], np.uint64)
    for i in range(a.shape[0]):
        x = np.uint64(a[i]) * np.uint64(0x9E3779B97F4A7C15) \
            ^ np.uint64(b[i]) * np.uint64(0xC2B2AE3D27D4EB4F)
        h[i] = x ^ (x >> np.uint64(29))
    return h


@njit(cache=True)
def _same(pairs, r, i, buf, starts, ends, a, b):
    """Row r's item equals row i's: by pair, or byte by byte."""
    if pairs:
        return a[r] == a[i] and b[r] == b[i]
    rs, s = starts[r], starts[i]
    n = ends[i] - s
    if ends[r] - rs != n:
        return False
    for j in range(n):
        if buf[rs + j] != buf[s + j]:
            return False
    return True


@njit(cache=True)
def _intern(h, pairs, buf, starts, ends, a, b):
    """Open addressing on the hashes ``h``; every hit confirmed by _same."""
    m = h.shape[0]
    size = 16
    while size < 2 * m:
        size *= 2
    mask = np.uint64(size - 1)
    slot_code = np.full(size, -1, np.int64)
    codes = np.empty(m, np.int64)
    first = np.empty(m, np.int64)
    n = 0
    for i in range(m):
        slot = np.int64(h[i] & mask)
        while True:
            c = slot_code[slot]
            if c < 0:
                slot_code[slot] = n
                first[n] = i
                codes[i] = n
                n += 1
                break
            if _same(pairs, first[c], i, buf, starts, ends, a, b):
                codes[i] = c
                break
            slot = (slot + 1) & (size - 1)
    return codes, first[:n].copy()
