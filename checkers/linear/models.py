"""The built-in models: how each encodes ops into integers for the kernel,
and how it describes states and expectations for a person.

Semantics shared by all (Jepsen's): ``fail`` ops never happened and are
dropped; ``ok`` ops must take effect between invoke and completion; ``info``
ops (and invokes never completed) may take effect at any time after their
invoke, or never.  An op whose result nobody saw (an ``info`` read) constrains
nothing and is dropped, or carries ``ANY`` when it also changes the state
(an ``info`` dequeue).

State representations (all exact except where a fingerprint is noted):

- register, cas-register, kv: the value's intern code.
- counter: the integer itself; a history whose values or sums could leave
  +/-2^62 is checked by the exact Python twin instead (int64 never wraps).
- mutex: 0 free, 1 held.
- append-kv: a 61-bit polynomial fingerprint of the string, mod p = 2^61-1,
  with bytes+1 as coefficients and a fixed base B.  fp(s+t) = fp(s)*B^|t| +
  fp(t), so an append costs O(1).  Two different strings of length <= L
  collide for at most L-1 of the p bases (a nonzero polynomial of degree < L
  has < L roots), i.e. with probability <= L/2^61 per pair for a base not
  chosen against the history.
- set: the XOR of a 64-bit hash (BLAKE2b) of each member.  Membership of an
  added value is decided exactly from the linearized ops (an add is a no-op
  iff another add of the same value is already linearized or the value was
  initially present), so only a *read* compares fingerprints: two different
  sets collide with probability 2^-64 per comparison.
- fifo-queue, multi-register: the exact state vector, interned in the state
  store (ids compare exactly).
"""

from __future__ import annotations

import abc

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..history import T_FAIL, T_INFO, T_OK, Columnar, Operations
from ..history.values import resolve_json_keys
from . import kernel as K
from .encode import Partition, ValueTable, show
from .readable import STRING_LIMIT, set_diff, show_set, show_string, string_diff


@dataclass
class Ctx:
    col: Columnar
    ops: Operations
    vt: ValueTable
    init: Any
    # per op row: a failed cas whose compare failed (error "cas-mismatch"), kept as
    # the observation "the register did not hold from" under cas_fail_observes
    cas_mismatch: np.ndarray
    n_positions: int

    def f_name(self, row: int) -> str:
        return self.col.f_names[int(self.ops.f[row])]

    def inv_value(self, row: int) -> Any:
        return self.col.values[int(self.ops.invoke_value[row])]

    def ret_value(self, row: int) -> Any:
        return self.col.values[int(self.ops.complete_value[row])]

    def op_where(self, row: int) -> str:
        pos = int(self.ops.invoke[row])
        return f"op index {int(self.col.index[pos])} at {self.col.where(pos)}"


class ModelError(ValueError):
    """An op the model cannot interpret (one line, names the op)."""


class Unrepresentable(ModelError):
    """Values the compiled model cannot hold exactly in its 64-bit words; the
    checker then runs the model's exact Python twin (:meth:`Model.exact_twin`)."""


def _positions(ctx: Ctx, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inv = ctx.ops.invoke[rows].astype(np.int64)
    st = ctx.ops.status[rows]
    comp = ctx.ops.complete[rows]
    # open-ended ops return after everything (ordered among themselves by row)
    ret = np.where((st == T_INFO) | (comp < 0), ctx.n_positions + rows, comp).astype(np.int64)
    return inv, ret


def _part(ctx: Ctx, model_id: int, key: Any, rows: np.ndarray, kind, a, b, c, must,
          **kw) -> Partition:
    rows = np.asarray(rows, np.int64)
    inv, ret = _positions(ctx, rows)
    return Partition(model_id=model_id, key=key, rows=rows,
                     kind=np.asarray(kind, np.int64), a=np.asarray(a, np.int64),
                     b=np.asarray(b, np.int64), c=np.asarray(c, np.int64),
                     must=np.asarray(must, np.int8), inv_pos=inv, ret_pos=ret, **kw)


def _check_fs(ctx: Ctx, rows: np.ndarray, model: "Model") -> dict[str, int]:
    codes = {name: ctx.col.f_code(name) for name in model.fs}
    allowed = np.array([c for c in codes.values() if c >= 0], np.int64)
    bad = rows[~np.isin(ctx.ops.f[rows], allowed)]
    if bad.size:
        r = int(bad[0])
        raise ModelError(f"model '{model.name}' has no operation '{ctx.f_name(r)}' "
                         f"({ctx.op_where(r)}); expected one of: {', '.join(model.fs)}")
    return codes


class Model(abc.ABC):
    name = ""
    model_id = -1
    fs: tuple[str, ...] = ()
    partitioned = True
    description = ""

    @abc.abstractmethod
    def encode(self, ctx: Ctx, rows: np.ndarray, key: Any) -> Partition:
        """The model's integer encoding of one key's ops."""

    def encode_many(self, ctx: Ctx, groups: list[tuple[Any, np.ndarray]]) -> list[Partition]:
        return [self.encode(ctx, rows, key) for key, rows in groups]

    def describe(self, raw: Any, ctx: Ctx) -> str:
        return show(ctx.vt.value(int(raw)))

    def expected(self, ctx: Ctx, row: int, states: list[str]) -> str:
        f = ctx.f_name(row)
        return f"{f} {show(ctx.inv_value(row))} is not legal from state " + " or ".join(states)

    def exact_twin(self) -> Any:
        """A PyModel with the same semantics in exact Python values, for histories
        the encoding raises :class:`Unrepresentable` on (None: no such twin)."""
        return None


# ------------------------------------------------------------------ registers

class Register(Model):
    name = "register"
    model_id = K.M_REGISTER
    fs = ("read", "write")
    description = "a single read/write register (per key when ops carry keys)"

    def init_code(self, ctx: Ctx) -> int:
        return ctx.vt.code(ctx.init)

    def encode(self, ctx: Ctx, rows: np.ndarray, key: Any) -> Partition:
        return self.encode_many(ctx, [(key, rows)])[0]

    def encode_many(self, ctx: Ctx, groups: list[tuple[Any, np.ndarray]]) -> list[Partition]:
        # vectorised over the whole history at once, then sliced per key: with
        # thousands of keys, per-key numpy calls would dominate the check
        sizes = np.array([g[1].size for g in groups], np.int64)
        rows = np.concatenate([g[1] for g in groups]) if groups else np.zeros(0, np.int64)
        gid = np.repeat(np.arange(len(groups)), sizes)
        codes = _check_fs(ctx, rows, self)
        o = ctx.ops
        f = o.f[rows]
        st = o.status[rows]
        is_read = f == codes.get("read", -2)
        is_write = f == codes.get("write", -2)
        is_cas = f == codes.get("cas", -2)
        keep = ((is_read & (st == T_OK)) | (is_write & (st != T_FAIL))
                | (is_cas & ((st != T_FAIL) | ctx.cas_mismatch[rows])))
        rows, gid = rows[keep], gid[keep]
        f, st = f[keep], st[keep]
        is_read, is_write, is_cas = is_read[keep], is_write[keep], is_cas[keep]
        kind = np.where(is_read, K.K_READ, K.K_WRITE).astype(np.int64)
        a = np.where(is_read, o.complete_value[rows], o.invoke_value[rows]).astype(np.int64)
        b = np.zeros(rows.size, np.int64)
        if is_cas.any():
            cas_rows = rows[is_cas]
            uniq, first, inverse = np.unique(o.invoke_value[cas_rows], return_index=True,
                                             return_inverse=True)
            frm = np.empty(uniq.size, np.int64)
            to = np.empty(uniq.size, np.int64)
            values, code_of = ctx.col.values, ctx.vt.code
            xs: list[Any] = []
            ys: list[Any] = []
            for i, code in enumerate(uniq.tolist()):
                v = values[code]
                if not isinstance(v, (list, tuple)) or len(v) != 2:
                    raise ModelError(f"cas value must be [from, to], got {show(v)} "
                                     f"({ctx.op_where(int(cas_rows[first[i]]))})")
                xs.append(v[0])
                ys.append(v[1])
            for out, vs in ((frm, xs), (to, ys)):
                if len(vs) < _VECTOR_MIN:
                    # few values: a dict lookup each (ints and strings are their own
                    # intern keys), no call
                    direct = ctx.col._values._codes.get if ctx.col._values is not None \
                        else {}.get
                    for i, x in enumerate(vs):
                        cx = direct(x) if type(x) is int or type(x) is str else None
                        out[i] = code_of(x) if cx is None else cx
                    continue
                # a unique-value history has as many distinct cas values as cas ops:
                # plain ints are looked up all at once (no million-entry dict)
                codes, is_int = _int_codes(ctx, vs)
                out[:] = codes
                for i in np.flatnonzero(out < 0).tolist():
                    # an int int_codes misses is in no op of the history
                    out[i] = ctx.vt.extra_code(vs[i]) if is_int[i] else code_of(vs[i])
            a[is_cas] = frm[inverse]
            b[is_cas] = to[inverse]
            kind[is_cas] = np.where(st[is_cas] == T_FAIL, K.K_CASFAIL, K.K_CAS)
        must = ((st == T_OK) | (st == T_FAIL)).astype(np.int8)
        c = np.zeros(rows.size, np.int64)
        inv, ret = _positions(ctx, rows)
        init = self.init_code(ctx)
        bounds = np.r_[0, np.cumsum(np.bincount(gid, minlength=len(groups)))]
        parts = []
        for g, (key, _) in enumerate(groups):
            lo, hi = int(bounds[g]), int(bounds[g + 1])
            ka, kk = a[lo:hi], kind[lo:hi]
            if init != 0 and not ((kk == K.K_WRITE) & (ka == 0)).any() \
                    and not ((kk == K.K_CAS) & (b[lo:hi] == 0)).any():
                # Knossos' convention: when nil can never be the register's value, a
                # read returning nil reports no observation, not a nil
                ka[(kk == K.K_READ) & (ka == 0)] = K.ANY
            sel = _needed(kk, ka, b[lo:hi], must[lo:hi])
            parts.append(Partition(model_id=self.model_id, key=key, rows=rows[lo:hi][sel],
                                   kind=kk[sel], a=ka[sel], b=b[lo:hi][sel], c=c[lo:hi][sel],
                                   must=must[lo:hi][sel], inv_pos=inv[lo:hi][sel],
                                   ret_pos=ret[lo:hi][sel], init_state=init))
        return parts

    def expected(self, ctx: Ctx, row: int, states: list[str]) -> str:
        f = ctx.f_name(row)
        held = " or ".join(states)
        if f == "read":
            return f"read {held}"
        if f == "cas":
            v = ctx.inv_value(row)
            frm = v[0] if isinstance(v, (list, tuple)) and v else v
            if int(ctx.ops.status[row]) == T_FAIL:
                return f"a value other than {show(frm)} for the failed cas; the register held {held}"
            return f"{show(frm)} for the cas to succeed; the register held {held}"
        return f"the register held {held}"


_VECTOR_MIN = 4096  # distinct cas values from which one vectorised lookup beats a dict each


def _int_codes(ctx: Ctx, vs: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """The history's codes of the plain 64-bit ints among ``vs`` (-1 for one the
    history's ops never hold, and for every other value), and which are such ints."""
    is_int = np.fromiter((type(v) is int and -(1 << 63) <= v < (1 << 63) for v in vs), bool,
                         len(vs))
    out = np.full(len(vs), -1, np.int64)
    if ctx.col._values is not None and is_int.any():
        ints = np.array([v for v, ok in zip(vs, is_int) if ok], np.int64)
        out[is_int] = ctx.col._values.int_codes(ints)
    else:
        is_int[:] = False  # no interner to ask: every value goes the careful way
    return out, is_int


def _needed(kind: np.ndarray, a: np.ndarray, b: np.ndarray, must: np.ndarray) -> np.ndarray:
    """Which ops the search must consider.  A crashed write or cas whose new value
    nothing observes — no ok read returns it, no cas expects it — can be left out:
    in any linearization that takes it, only reads that observed nothing can sit
    between it and the next write (a read of its value or a cas expecting it does
    not exist), so removing it leaves a linearization.  Such ops are common (writes
    that timed out on an isolated node) and each one doubles the search.  Not with
    failed cas kept as observations (``--cas-fail-observes``, error "cas-mismatch"):
    those can tell the value apart from the one before it."""
    keep = np.ones(kind.size, np.bool_)
    if (kind == K.K_CASFAIL).any():
        return keep
    observed = np.union1d(a[kind == K.K_READ], a[kind == K.K_CAS])
    new_value = np.where(kind == K.K_CAS, b, a)
    crashed_write = ((kind == K.K_WRITE) | (kind == K.K_CAS)) & (must == 0)
    keep[crashed_write & ~np.isin(new_value, observed)] = False
    return keep


class CasRegister(Register):
    name = "cas-register"
    model_id = K.M_CAS
    fs = ("read", "write", "cas")
    description = "read/write/compare-and-set register (per key when ops carry keys)"


class KV(CasRegister):
    name = "kv"
    description = "a map of independent cas-registers, checked per key (P-compositional)"


# ------------------------------------------------------------------ counter, mutex

def _int_value(ctx: Ctx, v: Any, row: int, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ModelError(f"{what} must be an integer, got {show(v)} ({ctx.op_where(row)})")
    if abs(v) >= (1 << 61):
        raise Unrepresentable(f"{what} {v} is beyond the compiled model's +/-2^61")
    return int(v)


# every state the compiled counter model can reach stays strictly within +/- this,
# so the kernel's int64 arithmetic never wraps (reads and deltas are within 2^61
# each); a history that could go further is checked by the exact Python twin
COUNTER_LIMIT = 1 << 62


class Counter(Model):
    name = "counter"
    model_id = K.M_COUNTER
    fs = ("add", "read")
    description = "a counter: add DELTA / read VALUE"

    def encode(self, ctx: Ctx, rows: np.ndarray, key: Any) -> Partition:
        _check_fs(ctx, rows, self)
        out_rows, kind, a, must = [], [], [], []
        for r in rows.tolist():
            st = int(ctx.ops.status[r])
            if st == T_FAIL:
                continue
            if ctx.f_name(r) == "read":
                if st != T_OK:
                    continue
                kind.append(K.K_READ)
                a.append(_int_value(ctx, ctx.ret_value(r), r, "a counter read"))
            else:
                kind.append(K.K_ADD)
                a.append(_int_value(ctx, ctx.inv_value(r), r, "an add's delta"))
            out_rows.append(r)
            must.append(st == T_OK)
        init = 0 if ctx.init is None else _int_value(ctx, ctx.init, 0, "the initial counter")
        deltas = [d for d, k in zip(a, kind) if k == K.K_ADD]
        low = init + sum(d for d in deltas if d < 0)
        high = init + sum(d for d in deltas if d > 0)
        if low <= -COUNTER_LIMIT or high >= COUNTER_LIMIT:
            # the kernel adds in int64, which would wrap around silently (eight adds of
            # 2^61-1 would read as -8, a false "valid")
            raise Unrepresentable(f"counter may reach {high if high >= COUNTER_LIMIT else low}")
        z = np.zeros(len(out_rows), np.int64)
        return _part(ctx, self.model_id, key, np.array(out_rows, np.int64), kind, a, z, z, must,
                     init_state=init)

    def describe(self, raw: Any, ctx: Ctx) -> str:
        return str(int(raw))

    def exact_twin(self) -> Any:
        from .pymodel import ExactCounter
        return ExactCounter()

    def expected(self, ctx: Ctx, row: int, states: list[str]) -> str:
        if ctx.f_name(row) == "read":
            return "read " + " or ".join(states)
        return "counter was " + " or ".join(states)


class Mutex(Model):
    name = "mutex"
    model_id = K.M_MUTEX
    fs = ("acquire", "release")
    description = "a lock: acquire / release (initially free)"

    def encode(self, ctx: Ctx, rows: np.ndarray, key: Any) -> Partition:
        codes = _check_fs(ctx, rows, self)
        st = ctx.ops.status[rows]
        rows = rows[st != T_FAIL]
        st = ctx.ops.status[rows]
        kind = np.where(ctx.ops.f[rows] == codes["acquire"], K.K_ACQ, K.K_REL)
        z = np.zeros(rows.size, np.int64)
        held = ctx.init not in (None, False, 0, "free")
        return _part(ctx, self.model_id, key, rows, kind, z, z, z, st == T_OK,
                     init_state=1 if held else 0)

    def describe(self, raw: Any, ctx: Ctx) -> str:
        return "held" if int(raw) else "free"

    def expected(self, ctx: Ctx, row: int, states: list[str]) -> str:
        want = "free" if ctx.f_name(row) == "acquire" else "held"
        return f"the lock {want} for {ctx.f_name(row)}; it was " + " or ".join(states)


# ------------------------------------------------------------------ append-kv (strings)

_B61 = 0x1F2E3D4C5B6A7988 % K.P61  # fixed base of the string fingerprint


def fp61(s: str) -> int:
    h = 0
    for byte in s.encode("utf-8"):
        h = (h * _B61 + byte + 1) % K.P61
    return h


def _pow61(n: int) -> int:
    return pow(_B61, n, K.P61)


class AppendKV(Model):
    name = "append-kv"
    model_id = K.M_APPEND
    fs = ("get", "put", "append")
    description = "per-key strings: get / put / append (Porcupine's kv model)"

    def _str(self, ctx: Ctx, v: Any, row: int) -> str:
        if v is None:
            return ""
        if not isinstance(v, str):
            raise ModelError(f"append-kv values must be strings, got {show(v)} "
                             f"({ctx.op_where(row)})")
        return v

    def encode(self, ctx: Ctx, rows: np.ndarray, key: Any) -> Partition:
        _check_fs(ctx, rows, self)
        out_rows, kind, a, b, must = [], [], [], [], []
        for r in rows.tolist():
            st = int(ctx.ops.status[r])
            if st == T_FAIL:
                continue
            f = ctx.f_name(r)
            if f == "get":
                if st != T_OK:
                    continue
                s = self._str(ctx, ctx.ret_value(r), r)
                kind.append(K.K_READ)
                a.append(fp61(s))
                b.append(0)
            else:
                s = self._str(ctx, ctx.inv_value(r), r)
                kind.append(K.K_WRITE if f == "put" else K.K_APPEND)
                a.append(fp61(s))
                b.append(_pow61(len(s.encode("utf-8"))))
            out_rows.append(r)
            must.append(st == T_OK)
        init = fp61(self._str(ctx, ctx.init, 0))
        z = np.zeros(len(out_rows), np.int64)
        return _part(ctx, self.model_id, key, np.array(out_rows, np.int64), kind, a, b, z, must,
                     init_state=init)

    def describe(self, raw: Any, ctx: Ctx) -> str:
        return f"string with fingerprint {int(raw):#x}"

    def explain(self, ctx: Ctx, rows: np.ndarray, prefix: list[int], raws: list[Any],
                row: int) -> tuple[list[str], str]:
        """The strings behind the state fingerprints, and how the failing get's
        result differs from them.  The first state is the one the search reached
        by ``prefix``, so replaying it gives that string exactly; the others are
        found among the strings the history shows."""
        s = self._str(ctx, ctx.init, 0)
        known = {fp61(s): s}
        for o in prefix:
            r = int(rows[o])
            f = ctx.f_name(r)
            if f == "put":
                s = self._str(ctx, ctx.inv_value(r), r)
            elif f == "append":
                s += self._str(ctx, ctx.inv_value(r), r)
            known.setdefault(fp61(s), s)
        for r in rows.tolist():
            for v in (ctx.inv_value(r), ctx.ret_value(r)):
                if isinstance(v, str):
                    known.setdefault(fp61(v), v)
        held = [known.get(int(raw)) for raw in raws]
        states = [show_string(h) if h is not None else
                  f"a string with fingerprint {int(raw):#x} (not one the history shows)"
                  for h, raw in zip(held, raws)]
        if ctx.f_name(row) != "get":
            return states, "state " + " or ".join(states)
        got = self._str(ctx, ctx.ret_value(row), row)
        expected = f"get returned {show_string(got)}; the string was " + " or ".join(states)
        want = next((h for h in held if h is not None), None)
        if want is not None and max(len(got), len(want)) > STRING_LIMIT:
            expected += f" ({string_diff(got, want)})"
        return states, expected


# ------------------------------------------------------------------ set

def _h64(ctx: Ctx, v: Any) -> int:
    from ..history.columnar import intern_key
    d = hashlib.blake2b(repr(intern_key(v)).encode(), digest_size=8).digest()
    return int.from_bytes(d, "little", signed=True)


class SetModel(Model):
    name = "set"
    model_id = K.M_SET
    fs = ("add", "read")
    description = "a set: add ELEMENT / read returns the whole set"

    def encode(self, ctx: Ctx, rows: np.ndarray, key: Any) -> Partition:
        _check_fs(ctx, rows, self)
        init = ctx.init if ctx.init is not None else []
        if not isinstance(init, (list, tuple)):
            raise ModelError(f"set init must be a list of elements, got {show(init)}")
        init_keys = {ctx.vt.code(v) for v in init}
        init_fp = 0
        for c in init_keys:
            init_fp ^= _h64(ctx, ctx.vt.value(c))
        out_rows, kind, a, vals, must = [], [], [], [], []
        for r in rows.tolist():
            st = int(ctx.ops.status[r])
            if st == T_FAIL:
                continue
            if ctx.f_name(r) == "read":
                if st != T_OK:
                    continue
                v = ctx.ret_value(r)
                if not isinstance(v, (list, tuple)):
                    raise ModelError(f"a set read must return a list, got {show(v)} "
                                     f"({ctx.op_where(r)})")
                fp = 0
                for code in {ctx.vt.code(x) for x in v}:
                    fp ^= _h64(ctx, ctx.vt.value(code))
                kind.append(K.K_SREAD)
                a.append(fp)
                vals.append(-1)
            else:
                code = ctx.vt.code(ctx.inv_value(r))
                kind.append(K.K_SADD)
                a.append(0 if code in init_keys else _h64(ctx, ctx.inv_value(r)))
                vals.append(code)
            out_rows.append(r)
            must.append(st == T_OK)
        n = len(out_rows)
        b = np.zeros(n, np.int64)
        c = np.zeros(n, np.int64)
        groups: dict[int, list[int]] = {}
        for i, v in enumerate(vals):
            if v >= 0:
                groups.setdefault(v, []).append(i)
        aux: list[int] = []
        for members in groups.values():
            lo = len(aux)
            aux.extend(members)
            for i in members:
                b[i], c[i] = lo, len(aux)
        return _part(ctx, self.model_id, key, np.array(out_rows, np.int64), kind, a, b, c, must,
                     init_state=init_fp, aux=np.array(aux + [0], np.int64))

    def describe(self, raw: Any, ctx: Ctx) -> str:
        return f"set with fingerprint {int(raw) & ((1 << 64) - 1):#x}"

    def explain(self, ctx: Ctx, rows: np.ndarray, prefix: list[int], raws: list[Any],
                row: int) -> tuple[list[str], str]:
        """The members behind the state fingerprints (replaying ``prefix`` gives
        the first state's exactly; others are found among the sets read), and
        what the failing read missed or added."""
        from ..history.columnar import intern_key
        members = {intern_key(v): v for v in (ctx.init or [])}
        known = {self._fp(ctx, members.values()): list(members.values())}
        for o in prefix:
            r = int(rows[o])
            if ctx.f_name(r) == "add":
                v = ctx.inv_value(r)
                members[intern_key(v)] = v
                known.setdefault(self._fp(ctx, members.values()), list(members.values()))
        for r in rows.tolist():
            v = ctx.ret_value(r)
            if ctx.f_name(r) == "read" and isinstance(v, (list, tuple)):
                known.setdefault(self._fp(ctx, v), list(v))
        held = [known.get(int(raw)) for raw in raws]
        states = [show_set(h) if h is not None else
                  f"a set with fingerprint {int(raw) & ((1 << 64) - 1):#x} (not one the "
                  "history shows)" for h, raw in zip(held, raws)]
        if ctx.f_name(row) != "read":
            return states, "set was " + " or ".join(states)
        got = ctx.ret_value(row)
        expected = f"read returned {show_set(got)}; the set was " + " or ".join(states)
        want = next((h for h in held if h is not None), None)
        if want is not None:
            expected += f" ({set_diff(got, want)})"
        return states, expected

    @staticmethod
    def _fp(ctx: Ctx, values: Any) -> int:
        from ..history.columnar import intern_key
        fp = 0
        for v in {intern_key(x): x for x in values}.values():
            fp ^= _h64(ctx, v)
        return fp


# ------------------------------------------------------------------ fifo-queue

class FifoQueue(Model):
    name = "fifo-queue"
    model_id = K.M_QUEUE
    fs = ("enqueue", "dequeue")
    description = "a FIFO queue: enqueue VALUE / dequeue returns the head (nil when empty)"

    def encode(self, ctx: Ctx, rows: np.ndarray, key: Any) -> Partition:
        _check_fs(ctx, rows, self)
        init = ctx.init if ctx.init is not None else []
        if not isinstance(init, (list, tuple)):
            raise ModelError(f"fifo-queue init must be a list, got {show(init)}")
        out_rows, kind, a, must = [], [], [], []
        for r in rows.tolist():
            st = int(ctx.ops.status[r])
            if st == T_FAIL:
                continue
            if ctx.f_name(r) == "enqueue":
                kind.append(K.K_ENQ)
                a.append(ctx.vt.code(ctx.inv_value(r)))
            else:
                kind.append(K.K_DEQ)
                if st == T_OK:
                    v = ctx.ret_value(r)
                    a.append(K.EMPTY if v is None else ctx.vt.code(v))
                else:
                    a.append(K.ANY)
            out_rows.append(r)
            must.append(st == T_OK)
        n_enq = sum(1 for k in kind if k == K.K_ENQ)
        z = np.zeros(len(out_rows), np.int64)
        return _part(ctx, self.model_id, key, np.array(out_rows, np.int64), kind, a, z, z, must,
                     init_vec=np.array([ctx.vt.code(v) for v in init], np.int64),
                     store_need=len(init) + n_enq + 2)

    def describe(self, raw: Any, ctx: Ctx) -> str:
        return "[" + ", ".join(show(ctx.vt.value(int(c))) for c in raw) + "]"

    def expected(self, ctx: Ctx, row: int, states: list[str]) -> str:
        if ctx.f_name(row) == "dequeue":
            return (f"dequeue returned {show(ctx.ret_value(row))}; queue was "
                    + " or ".join(states))
        return "queue was " + " or ".join(states)


# ------------------------------------------------------------------ multi-register

class MultiRegister(Model):
    name = "multi-register"
    model_id = K.M_MULTI
    fs = ("txn",)
    partitioned = False
    description = "Knossos' multi-register: txn of [read k v] / [write k v], atomic across keys"

    def encode(self, ctx: Ctx, rows: np.ndarray, key: Any) -> Partition:
        _check_fs(ctx, rows, self)
        init = ctx.init if ctx.init is not None else {}
        if not isinstance(init, dict):
            raise ModelError(f"multi-register init must be a map of key to value, got {show(init)}")
        try:
            init = resolve_json_keys(init, _txn_keys(ctx, rows))
        except ValueError as e:
            raise ModelError(str(e)) from None
        keys: dict[Any, int] = {}
        self._keys: list[Any] = []

        def kidx(k: Any) -> int:
            from ..history.columnar import intern_key
            ik = intern_key(k)
            if ik not in keys:
                keys[ik] = len(self._keys)
                self._keys.append(k)
            return keys[ik]

        for k in init:
            kidx(k)
        out_rows, b, c, must = [], [], [], []
        aux: list[int] = []
        for r in rows.tolist():
            st = int(ctx.ops.status[r])
            if st == T_FAIL:
                continue
            mops = ctx.ret_value(r) if st == T_OK else ctx.inv_value(r)
            if not isinstance(mops, (list, tuple)):
                raise ModelError(f"txn value must be a list of [f k v] micro-ops, got "
                                 f"{show(mops)} ({ctx.op_where(r)})")
            lo = len(aux)
            for m in mops:
                if not isinstance(m, (list, tuple)) or len(m) != 3 or m[0] not in (
                        "read", "r", "write", "w"):
                    raise ModelError(f"micro-op must be [read|write key value], got {show(m)} "
                                     f"({ctx.op_where(r)})")
                is_read = m[0] in ("read", "r")
                if is_read and st != T_OK:
                    val = K.ANY
                else:
                    val = ctx.vt.code(m[2])
                aux.extend((0 if is_read else 1, kidx(m[1]), val))
            out_rows.append(r)
            b.append(lo)
            c.append(len(aux))
            must.append(st == T_OK)
        vec = np.array([ctx.vt.code(init.get(k)) if isinstance(init, dict) else 0
                        for k in self._keys], np.int64)
        n = len(out_rows)
        return _part(ctx, self.model_id, key, np.array(out_rows, np.int64),
                     np.full(n, K.K_TXN), np.zeros(n, np.int64), b, c, must,
                     init_vec=vec, store_need=len(self._keys) + 2,
                     aux=np.array(aux + [0], np.int64))

    def describe(self, raw: Any, ctx: Ctx) -> str:
        return "{" + ", ".join(f"{show(k)} {show(ctx.vt.value(int(v)))}"
                               for k, v in zip(self._keys, raw)) + "}"

    def expected(self, ctx: Ctx, row: int, states: list[str]) -> str:
        v = ctx.ret_value(row) if int(ctx.ops.status[row]) == T_OK else ctx.inv_value(row)
        return f"txn {show(v)} is not legal from " + " or ".join(states)


def _txn_keys(ctx: Ctx, rows: np.ndarray) -> list[Any]:
    """Every key a micro-op of these txns names (malformed ones are left to encode)."""
    out = []
    for r in rows.tolist():
        for v in (ctx.inv_value(r), ctx.ret_value(r)):
            if isinstance(v, (list, tuple)):
                out.extend(m[1] for m in v if isinstance(m, (list, tuple)) and len(m) == 3)
    return out


BUILTIN: dict[str, type[Model]] = {m.name: m for m in (
    Register, CasRegister, KV, Counter, Mutex, AppendKV, SetModel, FifoQueue, MultiRegister)}
