"""A simulated linearizable register / key-value store, for benchmarks and tests.

Every op gets an invoke time, a completion time and a linearization point
strictly between them; ops take effect in linearization-point order against a
real state, so the history it writes is linearizable by construction — while
processes really overlap.  A crashed op (``info``) either took effect at a
point that may lie well after its crash (up to three op durations after the
invoke) or never did; its process is retired and replaced by a fresh process
id, as Jepsen does.
"""

from __future__ import annotations

import numpy as np

from ..history import History, Op


def simulate_register_history(seed: int, n_ops: int, processes: int = 5, keys: int | None = None,
                              info_rate: float = 0.0, *, values: int = 5, cas: bool = True,
                              read_frac: float = 0.5, mean_latency_ns: int = 1_000_000,
                              n_info: int | None = None) -> History:
    """A linearizable history of ``n_ops`` logical ops (invoke + completion each).

    ``keys`` None: one register, ops carry no key; otherwise keys ``0..keys-1``.
    ``info_rate``: fraction of ops that crash (or exactly ``n_info`` of them).
    Values written are ints in ``0..values-1``; the register starts as nil.
    CASes whose compare fails complete as ``fail``.
    """
    rng = np.random.default_rng(seed)
    n = int(n_ops)
    slot, dur, gap, u, fkind = _draw_ops(rng, n, processes, mean_latency_ns, read_frac, cas)
    v1 = rng.integers(0, values, n)
    v2 = rng.integers(0, values, n)
    key = rng.integers(0, keys, n) if keys else np.full(n, -1)
    if n_info is not None:
        crash = np.zeros(n, bool)
        crash[rng.choice(n, size=min(n, n_info), replace=False)] = True
    else:
        crash = rng.random(n) < info_rate
    took = rng.random(n) < 0.5

    invoke_t, complete_t, lin_t, pid = _schedule(rng, slot, dur, gap, u, crash, processes)

    effective = ~crash | (took & (fkind != 0))
    state: dict[int, int | None] = {}
    result: list = [None] * n
    ok = np.ones(n, bool)
    kl, fl, v1l, v2l = key.tolist(), fkind.tolist(), v1.tolist(), v2.tolist()
    for i in np.argsort(lin_t, kind="stable").tolist():
        if not effective[i]:
            continue
        k = kl[i]
        f = fl[i]
        if f == 0:
            result[i] = state.get(k)
        elif f == 1:
            state[k] = v1l[i]
        else:
            if state.get(k) == v1l[i]:
                state[k] = v2l[i]
            else:
                ok[i] = False

    value = [None if f == 0 else (a if f == 1 else [a, b]) for f, a, b in zip(fl, v1l, v2l)]
    return _history(seed, n, fl, kl, value, result, ok, crash.tolist(), pid.tolist(),
                    np.concatenate([invoke_t, complete_t]))


def _draw_ops(rng, n: int, processes: int, mean_latency_ns: int, read_frac: float, cas: bool):
    """(slot, duration, gap after, where in its window it takes effect, kind
    0 read / 1 write / 2 cas) of each op, drawn in this order from ``rng``."""
    slot = rng.integers(0, processes, n)
    dur = rng.exponential(mean_latency_ns, n).astype(np.int64) + 1000
    gap = rng.exponential(mean_latency_ns / 4, n).astype(np.int64) + 10
    u = rng.random(n)
    r = rng.random(n)
    wr = (1 - read_frac) * (0.6 if cas else 1.0)
    fkind = np.where(r < read_frac, 0, np.where(r < read_frac + wr, 1, 2))
    return slot, dur, gap, u, fkind


def _schedule(rng, slot, dur, gap, u, crash, processes: int):
    """(invoke, completion, linearization times, process ids): each slot's ops
    run back to back; a crashed op may take effect up to three durations after
    its invoke; a slot's process changes after each crash."""
    n = slot.shape[0]
    invoke_t = np.empty(n, np.int64)
    order = np.argsort(slot, kind="stable")
    ss = slot[order]
    starts = np.flatnonzero(np.r_[True, ss[1:] != ss[:-1]])
    step = dur[order] + gap[order]
    cum = np.cumsum(step)
    base = np.repeat(cum[starts] - step[starts], np.diff(np.r_[starts, n]))
    invoke_t[order] = cum - step - base + rng.integers(0, 1000, processes)[ss]
    complete_t = invoke_t + dur
    span = np.where(crash, 3 * dur, dur)
    lin_t = invoke_t + 1 + (u * (span - 2)).astype(np.int64)
    pid = np.empty(n, np.int64)
    next_pid = processes
    cur = list(range(processes))
    for i in order.tolist():
        s = int(slot[i])
        pid[i] = cur[s]
        if crash[i]:
            cur[s] = next_pid
            next_pid += 1
    return invoke_t, complete_t, lin_t, pid


def simulate_unique_register_history(seed: int, n_ops: int, processes: int = 5,
                                     keys: int | None = None, info_rate: float = 0.0, *,
                                     cas: bool = True, read_frac: float = 0.5,
                                     mean_latency_ns: int = 1_000_000,
                                     lag_ns: int = 0) -> History:
    """Like :func:`simulate_register_history`, but every write and CAS writes a
    value never written before (as splitbrain's own register workload does),
    and a CAS usually expects the value current at its linearization point, so
    most succeed.  The register starts as nil.

    ``lag_ns`` > 0 simulates a replica that serves every read from the state
    ``lag_ns`` before the read's linearization point (writes and CASes go to
    the primary): the history is then Δ-atomic for Δ = ``lag_ns`` and, when
    writes are frequent, for no Δ much smaller."""
    import bisect
    rng = np.random.default_rng(seed)
    n = int(n_ops)
    slot, dur, gap, u, fkind = _draw_ops(rng, n, processes, mean_latency_ns, read_frac, cas)
    key = rng.integers(0, keys, n) if keys else np.full(n, -1)
    crash = rng.random(n) < info_rate
    took = rng.random(n) < 0.5
    guess = rng.random(n)

    invoke_t, complete_t, lin_t, pid = _schedule(rng, slot, dur, gap, u, crash, processes)

    effective = ~crash | (took & (fkind != 0))
    # per key: the times its state changed and the states, for lagging reads
    changed_at: dict[int, list[int]] = {}
    states: dict[int, list] = {}
    result: list = [None] * n
    value: list = [None] * n
    ok = np.ones(n, bool)
    fresh = 0
    kl, fl, gl, ll = key.tolist(), fkind.tolist(), guess.tolist(), lin_t.tolist()
    for i in np.argsort(lin_t, kind="stable").tolist():
        k, f = kl[i], fl[i]
        times = changed_at.setdefault(k, [-(1 << 62)])
        hist = states.setdefault(k, [None])
        if f == 0:
            if effective[i]:
                j = bisect.bisect_right(times, ll[i] - lag_ns) - 1 if lag_ns else len(hist) - 1
                result[i] = hist[j]
            continue
        fresh += 1
        new = fresh
        if f == 1:
            value[i] = new
            if effective[i]:
                times.append(ll[i])
                hist.append(new)
            continue
        # cas: usually expects the current value; sometimes an older or unknown one
        g = gl[i]
        if g < 0.7 or len(hist) < 2:
            frm = hist[-1]
        elif g < 0.9:
            frm = hist[int(g * 1e6) % len(hist)]
        else:
            frm = -new
        value[i] = [frm, new]
        if not effective[i]:
            continue
        if hist[-1] == frm:
            times.append(ll[i])
            hist.append(new)
        else:
            ok[i] = False
    return _history(seed, n, fl, kl, value, result, ok, crash.tolist(), pid.tolist(),
                    np.concatenate([invoke_t, complete_t]))


def _history(seed: int, n: int, fl: list, kl: list, value: list, result: list, ok,
             crashed: list, pl: list, times: np.ndarray) -> History:
    names = ("read", "write", "cas")
    ops: list[Op] = []
    tl = times.tolist()
    okl = ok.tolist()
    for j, e in enumerate(np.argsort(times, kind="stable").tolist()):
        i = e % n
        val = value[i]
        if e < n:
            typ = "invoke"
        elif crashed[i]:
            typ = "info"
        elif not okl[i]:
            typ = "fail"
        else:
            typ = "ok"
            if fl[i] == 0:
                val = result[i]
        k = kl[i]
        ops.append(Op(index=j, time=tl[e], process=pl[i], type=typ, f=names[fl[i]],
                      key=None if k < 0 else k, value=val))
    return History(ops=ops, source=f"simulated(seed={seed})")


def simulate_append_kv(seed: int, n_ops: int, clients: int = 50, keys: int = 10,
                       lost: int = 1):
    """A linearizable append-kv store (get / put / append of short strings, like
    the kvraft histories Porcupine's kv tests use) with ``lost`` acknowledged
    appends that never took effect."""
    rng = np.random.default_rng(seed)
    n = n_ops
    slot = rng.integers(0, clients, n)
    dur = rng.exponential(1_000_000, n).astype(np.int64) + 1000
    gap = rng.exponential(250_000, n).astype(np.int64) + 10
    # as in the kvraft tests Porcupine's kv histories come from: appends and gets, rare puts
    kind = rng.choice(3, n, p=[0.5, 0.02, 0.48])         # get / put / append
    key = rng.integers(0, keys, n)
    start = np.zeros(clients, np.int64)
    inv = np.empty(n, np.int64)
    for i in range(n):
        c = int(slot[i])
        inv[i] = start[c]
        start[c] += dur[i] + gap[i]
    ret = inv + dur
    lin = inv + 1 + (rng.random(n) * (dur - 2)).astype(np.int64)
    appends = np.flatnonzero(kind == 2)
    lost_ops = set(rng.choice(appends, size=min(lost, appends.size), replace=False).tolist())
    state: dict[int, str] = {}
    value: list = [None] * n
    result: list = [None] * n
    for i in np.argsort(lin, kind="stable").tolist():
        k = int(key[i])
        if kind[i] == 0:
            result[i] = state.get(k, "")
        else:
            v = f"x {int(slot[i])} {i} y"
            value[i] = result[i] = v
            if i in lost_ops:
                continue
            state[k] = v if kind[i] == 1 else state.get(k, "") + v
    names = ("get", "put", "append")
    times = np.concatenate([inv, ret])
    ops = []
    for j, e in enumerate(np.argsort(times, kind="stable").tolist()):
        i = e % n
        ops.append(Op(index=j, time=int(times[e]), process=int(slot[i]),
                      type="invoke" if e < n else "ok", f=names[int(kind[i])],
                      key=int(key[i]), value=value[i] if e < n else result[i]))
    return History(ops=ops, source=f"append-kv(seed={seed})")
