"""``check_linearizable_many``: many small register histories at once.

A test suite of many short histories (Porcupine's ~100 etcd histories of
~85 ops; a CI job checking every run's keys) spends most of its time not
searching but around the search: encoding in numpy, building arrays, calling
into compiled code, about 0.3 ms a history against a search of a few
microseconds.  Here the histories' columns are concatenated and one compiled
call (batch_kernel.py) encodes and searches them all; Python touches each
history only to gather its columns and to write its result.

What the batch answers, it answers exactly as :func:`check_linearizable`
would: the same encoding, the same search, the same configurations count.
It answers only "linearizable, searched to the end"; every other history —
a violation (which deserves its counterexample), a key the unique-values
check decides (which reports staleness), a budget, input the model rejects —
goes through :func:`check_linearizable` on its own.  Options the batch does
not implement (a Python model, other models, ``cas_fail_observes``,
``max_staleness_s``, ``algorithm`` other than ``auto``/``wgl``) send every
history that way.

Timing: one clock covers the whole batch; each result's ``elapsed_s`` is its
share of it, in proportion to its ops and search steps, and its evidence says
``"batch": N`` (the number of histories checked together).
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from ..history import History
from ..history.history import gc_paused
from ..history.columnar import intern_key
from ..result import CheckResult
from . import batch_kernel as BK
from .checker import MAX_VALID_LISTED, _summary, budget, check_linearizable, resolve_model
from .encode import show
from .models import KV, CasRegister, Register
from . import search
from .search import warm_up

# per key: a search past this many steps, or tables past this many words,
# is left to the per-history path (with its clock and memory budget)
BATCH_MAX_STEPS = 1 << 20
BATCH_MEM_WORDS = 1 << 23  # 64 MiB
# The kernel reads no clock: under a time limit a key gets at most this many
# steps a second of it (a step is 40-100 ns here, so well inside the limit),
# and a key that needs more is judged one by one, by the clock.
STEPS_PER_LIMIT_S = 10_000_000
_F_KIND = {"read": BK.F_READ, "write": BK.F_WRITE, "cas": BK.F_CAS}
_ZOB_SEED = 0xBA7C4


class _Values:
    """Value ids shared by the batch: equal values (by type and value, as the
    history's interner says) get one id, None is 0; ``frm`` and ``to`` give,
    per id, the ids of a [from, to] value's parts (-1 for any other value)."""

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {None: 0}
        self.items: list[Any] = [None]
        self.frm: list[int] = [BK.NO_PAIR]
        self.to: list[int] = [BK.NO_PAIR]

    def add(self, ikey: Any, v: Any) -> int:
        g = self.ids.get(ikey)
        if g is not None:
            return g
        g = len(self.items)
        self.ids[ikey] = g
        self.items.append(v)
        self.frm.append(BK.NO_PAIR)
        self.to.append(BK.NO_PAIR)
        if isinstance(v, (list, tuple)) and len(v) == 2:
            f = self.add(intern_key(v[0]), v[0])
            t = self.add(intern_key(v[1]), v[1])
            self.frm[g], self.to[g] = f, t
        return g


def _batchable(m: Any, kw: dict[str, Any]) -> bool:
    if type(m) not in (Register, CasRegister, KV):
        return False
    if kw.get("cas_fail_observes") or kw.get("max_staleness_s") is not None:
        return False
    return kw.get("algorithm", "auto") in ("auto", "wgl")


def check_linearizable_many(histories: Sequence[History], model: Any = "cas-register",
                            init: Any = None, *, errors: str = "raise",
                            **kw: Any) -> list[Any]:
    """One :class:`CheckResult` per history, as :func:`check_linearizable`
    gives it (same options), each history judged on its own.  A history the
    model cannot read raises its error (``errors="raise"``) or has the
    exception in its place in the list (``errors="return"``)."""
    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return', got {errors!r}")

    def one(h: History) -> Any:
        if errors == "raise":
            return check_linearizable(h, model=model, init=init, **kw)
        try:
            return check_linearizable(h, model=model, init=init, **kw)
        except ValueError as e:  # ModelError, HistoryError: a one-line reason
            return e

    try:
        # an option the check refuses is every history's error, as one by one
        m = resolve_model(model)
        bounds = _bounds(kw)
    except ValueError as e:
        if errors == "raise":
            raise
        return [e for _ in histories]
    if not _batchable(m, kw) or len(histories) < 2:
        return [one(h) for h in histories]
    with gc_paused():
        # a result's few objects form no cycles; a collection over every loaded
        # history, triggered by them, would cost more than the checking
        out = _batch(histories, m, init, *bounds)
    return [one(h) if r is None else r for h, r in zip(histories, out)]


def _bounds(kw: dict[str, Any]) -> tuple[int, int]:
    """(steps, table words) a key may use in the batch, within the check's own
    time and memory limits: the batch must not answer where one by one the
    budget would run out."""
    steps, words = BATCH_MAX_STEPS, BATCH_MEM_WORDS
    t = budget("time_limit", kw.get("time_limit"), "seconds")
    mib = budget("memory_limit", kw.get("memory_limit"), "MiB")
    # min() before int(): an infinite limit leaves the batch's own bound
    if t is not None:
        steps = int(min(steps, t * STEPS_PER_LIMIT_S))
    if mib is not None:
        words = int(min(words, mib * (1 << 20) / 8))
    return steps, words


def _batch(histories: Sequence[History], m: Any, init: Any, max_steps: int,
           mem_words: int) -> list[CheckResult | None]:
    """The batch's results; None for each history it leaves to check_linearizable."""
    cols = [_columnar(h) for h in histories]
    warm_up()
    warm_up_batch()
    t0 = time.perf_counter()
    vals = _Values()
    init_id = vals.add(intern_key(init), init)
    # every history's interned values, in code order, looked up at once: the
    # interner's table keys are the values' intern keys already
    live: list[Any] = []
    fmaps: list[np.ndarray] = []
    fcache: dict[tuple, np.ndarray] = {}
    usable: list[bool] = []
    all_keys: list[Any] = []
    all_items: list[Any] = []
    sizes: list[int] = []
    for col in cols:
        vi = col._values if col is not None else None
        table = vi._codes if vi is not None else None
        if table is None or len(vi.items) != len(table):
            usable.append(False)  # no interner to say which values are equal
            continue
        usable.append(True)
        live.append(col)
        # the interner's table keys are the values' intern keys, in code order
        all_keys.extend(table)
        all_items.extend(vi.items)
        sizes.append(len(table))
        fk = tuple(col.f_names)
        fm = fcache.get(fk)
        if fm is None:
            fm = fcache[fk] = np.array([_F_KIND.get(f, BK.F_OTHER) for f in fk], np.int64)
        fmaps.append(fm)
    get = vals.ids.get
    for k, v in dict(zip(all_keys, all_items)).items():
        if get(k) is None:
            vals.add(k, v)
    ids = np.fromiter(map(get, all_keys), np.int64, len(all_keys))
    nl = len(live)
    hoff = np.zeros(nl + 1, np.int64)
    np.cumsum([c.type.shape[0] for c in live], out=hoff[1:])
    fmap_off = np.zeros(nl + 1, np.int64)
    np.cumsum([f.shape[0] for f in fmaps], out=fmap_off[1:])
    l2g_off = np.zeros(nl + 1, np.int64)
    np.cumsum(sizes, out=l2g_off[1:])
    hout = np.zeros((nl, BK.N_HO), np.int64)
    if nl:
        pout = np.zeros((int(hoff[-1]) + 1, BK.N_PO), np.int64)
        BK.run_batch(hoff, np.concatenate([c.type for c in live]),
                     np.concatenate([c.process for c in live]),
                     np.concatenate([c.f for c in live]), np.concatenate([c.key for c in live]),
                     np.concatenate([c.value for c in live]),
                     np.concatenate([c.pair for c in live]), np.concatenate(fmaps), fmap_off,
                     ids, l2g_off, np.array(vals.frm, np.int64),
                     np.array(vals.to, np.int64), np.int64(init_id),
                     _zobrist(int(hoff[-1])), np.int64(max_steps),
                     np.int64(mem_words), search.READS_FIRST, hout, pout)
    batch_s = time.perf_counter() - t0
    hrows = hout.tolist()
    weight = [r[BK.HO_OPS] + r[BK.HO_STEPS] for r in hrows]
    total_w = max(1, sum(weight))
    n_batch = sum(r[BK.HO_STATUS] == BK.H_VALID for r in hrows)
    shown: dict[int, str] = {}
    prows = pout[:sum(r[BK.HO_PARTS] for r in hrows)].tolist() if nl else []
    out: list[CheckResult | None] = []
    j = 0
    for i, col in enumerate(cols):
        r = None
        if usable[i]:
            ho = hrows[j]
            if ho[BK.HO_STATUS] == BK.H_VALID:
                r = _valid_result(m.name, init, col, ho, prows, vals.items, shown,
                                  batch_s * weight[j] / total_w, n_batch)
            j += 1
        out.append(r)
    return out


def _columnar(h: History) -> Any:
    """The history's columns, or None when it has none to give (its error is
    then raised, or returned, by the one-by-one check)."""
    try:
        return h.columnar()
    except ValueError:
        return None


def _valid_result(model: str, init: Any, col: Any, ho: list[int], prows: list[list[int]],
                  items: list[Any], shown: dict[int, str], elapsed: float,
                  n_batch: int) -> CheckResult:
    """The result :func:`check_linearizable` gives a linearizable history whose
    keys were all searched (checker.py builds the same evidence)."""
    p0, ng = ho[BK.HO_PART0], ho[BK.HO_PARTS]
    ops = ho[BK.HO_OPS]
    share = elapsed / max(1, ho[BK.HO_STEPS] + ops)
    keys = []
    for kc, kops, configs, steps in prows[p0:p0 + min(ng, MAX_VALID_LISTED)]:
        keys.append({"key": col.keys[kc] if kc >= 0 else None, "valid": True, "ops": kops,
                     "elapsed_s": round(share * (kops + steps), 6),
                     "explored": {"configurations": configs, "budget_hit": None},
                     "algorithm": "wgl"})
    ev: dict[str, Any] = {"model": model, "init": init, "keys_checked": ng, "keys": keys,
                          "ops": ops, "configurations": ho[BK.HO_CONFIGS],
                          "algorithm": "wgl", "batch": n_batch}
    if ng > MAX_VALID_LISTED:
        ev["valid_keys_not_listed"] = ng - MAX_VALID_LISTED
    if ng == 1:
        final = ho[BK.HO_FINAL]
        txt = shown.get(final)
        if txt is None:
            txt = shown[final] = show(items[final])
        ev["final_state"] = txt
    return CheckResult("linearizable", True,
                       _summary(True, keys, ng, ops, bool(ho[BK.HO_KEYED]), col.source),
                       elapsed, ev)


_zob_cache = np.zeros(0, np.int64)


def _zobrist(n: int) -> np.ndarray:
    global _zob_cache
    if _zob_cache.shape[0] < n:
        rng = np.random.default_rng(_ZOB_SEED)
        _zob_cache = rng.integers(-(1 << 63), (1 << 63) - 1, size=max(n, 1024), dtype=np.int64)
    return _zob_cache


_batch_warm = False


def warm_up_batch() -> None:
    """Load (or compile) the batch kernel before the clock starts: once per
    process, like search.warm_up."""
    global _batch_warm
    if _batch_warm:
        return
    _batch_warm = True
    z = np.zeros(1, np.int64)
    BK.run_batch(np.zeros(2, np.int64), np.zeros(0, np.int8), z[:0], np.zeros(0, np.int32), z[:0],
                 z[:0], z[:0], z[:0], np.zeros(2, np.int64), z[:0], np.zeros(2, np.int64),
                 z, z, np.int64(0), _zobrist(1 << 16), np.int64(1), np.int64(1 << 10), True,
                 np.zeros((1, BK.N_HO), np.int64), np.zeros((1, BK.N_PO), np.int64))
