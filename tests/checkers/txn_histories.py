"""Small transactional histories for the checker tests: simulated databases
that keep a model by construction, and mutations that (usually) break it.

Every generator takes a ``random.Random``-like source, so the same code runs
under hypothesis (``st.randoms()``: shrinkable draws) and in seeded loops
(the large cross-check run).  Values appended or written are unique per key,
as Elle's inference requires.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from checkers.history import History

# How a simulated database orders transactions:
#   strict   — each txn takes effect at one instant between its invoke and completion
#   session  — one serial order that keeps each process's order, not real time
#   serial   — any serial order at all
#   si       — snapshot isolation: a snapshot at start, writes at commit, first committer wins
MODES = ("strict", "session", "serial", "si")
KEY_SETS = ([0, 1, 2], ["x", "y", "z"])


def _txn_body(rnd, workload: str, keys: list, counters: dict) -> list[list]:
    mops = []
    for _ in range(rnd.randint(1, 3)):
        k = rnd.choice(keys)
        if rnd.random() < 0.5:
            mops.append(["r", k, None])
        else:
            counters[k] = counters.get(k, 0) + 1
            mops.append(["append" if workload == "list-append" else "w", k, counters[k]])
    return mops


def _apply(workload: str, db: dict, mops: list, snapshot: dict | None = None) -> list:
    """Run mops on ``db`` (reads from ``snapshot`` plus own writes when given); the
    completed mops with what each read saw."""
    view = dict(db if snapshot is None else snapshot)
    out = []
    for f, k, v in mops:
        if f == "r":
            cur = view.get(k)
            out.append(["r", k, list(cur or []) if workload == "list-append" else cur])
        else:
            view[k] = (list(view.get(k) or []) + [v]) if workload == "list-append" else v
            out.append([f, k, v])
    if snapshot is None:
        db.update({k: view[k] for f, k, _ in mops if f != "r"})
    return out


def simulate(rnd, workload: str, mode: str, *, max_txns: int = 6,
             final_read: bool | None = None) -> History:
    """A history a database keeping ``mode`` could produce (see MODES)."""
    keys = rnd.choice(KEY_SETS)[: rnd.randint(1, 3)]
    counters: dict = {}
    n = rnd.randint(1, max_txns)
    workers = rnd.randint(1, 4)
    txns = []
    for i in range(n):
        outcome = rnd.choice(["ok", "ok", "ok", "ok", "fail", "info"])
        txns.append({"worker": rnd.randrange(workers), "mops": _txn_body(rnd, workload, keys,
                                                                          counters),
                     "outcome": outcome, "applied": outcome == "ok" or
                     (outcome == "info" and rnd.random() < 0.6)})
    # Interleave: each txn is invoke → [start] → effect → complete within its worker's sequence;
    # an info txn's effect may also land after its (info) completion.
    streams: dict[int, list] = {}
    for i, t in enumerate(txns):
        ev = [("invoke", i)]
        if mode == "si":
            ev.append(("start", i))
        ev += [("effect", i), ("complete", i)]
        streams.setdefault(t["worker"], []).append(ev)
    queues = {w: [e for evs in s for e in evs] for w, s in streams.items()}
    floating: list = []
    order: list = []
    while any(queues.values()) or floating:
        live = [("q", w) for w, q in queues.items() if q] + [("f", j) for j in range(len(floating))]
        src, which = rnd.choice(live)
        if src == "f":
            order.append(floating.pop(which))
            continue
        ev = queues[which].pop(0)
        i = ev[1]
        if ev[0] == "effect" and txns[i]["outcome"] == "info" and rnd.random() < 0.5:
            floating.append(ev)      # crashed client: the effect may come later
            continue
        order.append(ev)

    history_events = [e for e in order if e[0] in ("invoke", "complete")]
    db: dict = {}
    results: dict[int, list] = {}
    if mode in ("strict", "si"):
        snapshots: dict[int, tuple[dict, int]] = {}
        commits: list[tuple[int, set]] = []
        for kind, i in order:
            t = txns[i]
            if kind == "start":
                snapshots[i] = (copy.deepcopy(db), len(commits))
            elif kind == "effect":
                if mode == "si":
                    snap, seen = snapshots[i]
                    wk = {k for f, k, _ in t["mops"] if f != "r"}
                    if any(wk & ks for _, ks in commits[seen:]):
                        # first committer wins: this one cannot commit
                        t["applied"] = False
                        if t["outcome"] == "ok":
                            t["outcome"] = "fail"
                    results[i] = _apply(workload, {}, t["mops"], snap)
                    if t["applied"]:
                        _apply(workload, db, t["mops"])
                        commits.append((i, wk))
                elif t["applied"]:
                    results[i] = _apply(workload, db, t["mops"])
    else:
        serial = list(range(n))
        rnd.shuffle(serial)
        if mode == "session":
            # keep each worker's txns in their order (a worker is one process until an info)
            by_worker: dict[int, list[int]] = {}
            for i in range(n):
                by_worker.setdefault(txns[i]["worker"], []).append(i)
            slots = [txns[i]["worker"] for i in serial]
            serial = [by_worker[w].pop(0) for w in slots]
        for i in serial:
            if txns[i]["applied"]:
                results[i] = _apply(workload, db, txns[i]["mops"])

    ops: list[dict] = []
    proc_of_worker = {w: w for w in range(workers)}
    next_proc = workers
    proc_of_txn: dict[int, int] = {}
    for kind, i in history_events:
        t = txns[i]
        inv = [[f, k, None if f == "r" else v] for f, k, v in t["mops"]]
        if kind == "invoke":
            proc_of_txn[i] = proc_of_worker[t["worker"]]
            ops.append({"process": proc_of_txn[i], "type": "invoke", "f": "txn", "value": inv})
        else:
            typ = t["outcome"]
            value = results[i] if typ == "ok" else inv
            ops.append({"process": proc_of_txn[i], "type": typ, "f": "txn", "value": value})
            if typ == "info":   # the client crashed: its worker goes on as a fresh process
                proc_of_worker[t["worker"]] = next_proc
                next_proc += 1
    if final_read is None:
        final_read = rnd.random() < 0.5
    if final_read:
        mops = [["r", k, None] for k in keys]
        ops.append({"process": next_proc, "type": "invoke", "f": "txn", "value": mops})
        ops.append({"process": next_proc, "type": "ok", "f": "txn",
                    "value": _apply(workload, db, mops)})
    return to_history(ops)


def to_history(ops: list[dict]) -> History:
    for i, o in enumerate(ops):
        o["index"], o["time"] = i, (i + 1) * 1_000_000
    return History.from_dicts(ops)


def _records(h: History) -> list[dict]:
    return [{"process": o.process, "type": o.type, "f": o.f, "value": copy.deepcopy(o.value)}
            for o in h.ops]


def _pairs(ops: list[dict]) -> list[tuple[int, int]]:
    open_: dict = {}
    out = []
    for i, o in enumerate(ops):
        if o["type"] == "invoke":
            open_[o["process"]] = i
        else:
            out.append((open_.pop(o["process"]), i))
    return out


def mutate(rnd, h: History, workload: str) -> History | None:
    """One random change that may make ``h`` impossible; None if it did not apply."""
    ops = _records(h)
    pairs = _pairs(ops)
    if not pairs:
        return None
    written: dict[Any, list] = {}
    for _, c in pairs:
        for f, k, v in ops[c]["value"]:
            if f != "r":
                written.setdefault(k, []).append(v)
    ok_reads = [(c, j) for _, c in pairs if ops[c]["type"] == "ok"
                for j, m in enumerate(ops[c]["value"]) if m[0] == "r"]
    kind = rnd.choice(["read", "read", "read", "drop-write", "add-write", "outcome",
                       "realtime"])
    if kind == "read" and ok_reads:
        c, j = rnd.choice(ok_reads)
        mop = ops[c]["value"][j]
        k, cur = mop[1], mop[2]
        others = written.get(k, [])
        if workload == "list-append":
            cur = list(cur or [])
            how = rnd.choice(["drop-last", "drop-any", "swap", "add", "garbage", "dup",
                              "other-read"])
            if how == "drop-last" and cur:
                cur.pop()
            elif how == "drop-any" and cur:
                cur.pop(rnd.randrange(len(cur)))
            elif how == "swap" and len(cur) >= 2:
                a, b = rnd.sample(range(len(cur)), 2)
                cur[a], cur[b] = cur[b], cur[a]
            elif how == "add" and others:
                cur.append(rnd.choice(others))
            elif how == "garbage":
                cur.insert(rnd.randint(0, len(cur)), 99)
            elif how == "dup" and cur:
                cur.append(rnd.choice(cur))
            elif how == "other-read":
                alts = [list(ops[c2]["value"][j2][2] or []) for c2, j2 in ok_reads
                        if ops[c2]["value"][j2][1] == k]
                cur = rnd.choice(alts)
            else:
                return None
        else:
            cur = rnd.choice(others + [None, 99])
        if cur == mop[2] or (workload == "list-append" and not cur and not mop[2]):
            return None
        mop[2] = cur
    elif kind in ("drop-write", "add-write"):
        i, c = rnd.choice(pairs)
        if ops[c]["type"] != "ok":
            return None
        f = "append" if workload == "list-append" else "w"
        if kind == "drop-write":
            ws = [j for j, m in enumerate(ops[c]["value"]) if m[0] != "r"]
            if not ws or len(ops[c]["value"]) < 2:
                return None
            j = rnd.choice(ws)
            del ops[c]["value"][j]
            del ops[i]["value"][j]
        else:
            k = rnd.choice([m[1] for m in ops[c]["value"]])
            j = rnd.randint(0, len(ops[c]["value"]))
            ops[c]["value"].insert(j, [f, k, 50 + rnd.randrange(10)])
            ops[i]["value"].insert(j, [f, k, ops[c]["value"][j][2]])
            if len([m for m in ops[c]["value"] if m[0] != "r" and m[1] == k]) != \
                    len({m[2] for m in ops[c]["value"] if m[0] != "r" and m[1] == k}) or \
                    ops[c]["value"][j][2] in written.get(k, []):
                return None
    elif kind == "outcome":
        i, c = rnd.choice(pairs)
        if ops[c]["type"] != "ok":
            return None
        ops[c]["type"] = rnd.choice(["fail", "info"])
        ops[c]["value"] = copy.deepcopy(ops[i]["value"])
        if ops[c]["type"] == "info" and any(o["process"] == ops[c]["process"]
                                            for o in ops[c + 1:]):
            return None      # a process that crashed never invokes again
    else:
        comps = [(i, c) for i, c in pairs]
        if len(comps) < 2:
            return None
        (i1, c1), (i2, c2) = sorted(rnd.sample(comps, 2), key=lambda p: p[1])
        if not i2 < c1:
            return None
        ops[c1], ops[c2] = ops[c2], ops[c1]     # txn 2 now returns first
        if _pairs_broken(ops):
            return None
    return to_history(ops)


def _pairs_broken(ops: list[dict]) -> bool:
    open_: dict = {}
    for o in ops:
        if o["type"] == "invoke":
            if o["process"] in open_:
                return True
            open_[o["process"]] = True
        elif open_.pop(o["process"], None) is None:
            return True
    return False


def valid_histories(workload: str, modes: tuple[str, ...] = MODES) -> st.SearchStrategy:
    """(mode, history) pairs valid for the mode by construction."""
    return st.tuples(st.sampled_from(modes), st.randoms(use_true_random=False)).map(
        lambda mr: (mr[0], simulate(mr[1], workload, mr[0])))


def mutated_histories(workload: str) -> st.SearchStrategy:
    @st.composite
    def build(draw):
        mode = draw(st.sampled_from(MODES))
        rnd = draw(st.randoms(use_true_random=False))
        h = simulate(rnd, workload, mode)
        for _ in range(draw(st.integers(1, 2))):
            m = mutate(rnd, h, workload)
            if m is not None:
                h = m
        return h
    return build()


def txn_history(*groups: tuple) -> History:
    """A hand-written history: each group is a tuple of ``(process, type, mops)``
    transactions invoked together and then completed in the order given (so
    they are concurrent); groups follow one another in real time.  Reads in
    ``mops`` carry what an ok txn read; invokes get them as null."""
    ops: list[dict] = []
    for group in groups:
        for p, _, mops in group:
            ops.append({"process": p, "type": "invoke", "f": "txn",
                        "value": [[f, k, None if f == "r" else v] for f, k, v in mops]})
        for p, typ, mops in group:
            value = mops if typ == "ok" else [[f, k, None if f == "r" else v] for f, k, v in mops]
            ops.append({"process": p, "type": typ, "f": "txn", "value": value})
    return to_history(ops)


def txn_events(txns: list[tuple], order: list[int]) -> History:
    """Transactions ``(process, type, mops)`` with an explicit interleaving:
    in ``order`` a txn's number appears twice, first for its invoke, then for
    its completion."""
    ops: list[dict] = []
    begun: set[int] = set()
    for i in order:
        p, typ, mops = txns[i]
        invoke = [[f, k, None if f == "r" else v] for f, k, v in mops]
        if i not in begun:
            begun.add(i)
            ops.append({"process": p, "type": "invoke", "f": "txn", "value": invoke})
        else:
            ops.append({"process": p, "type": typ, "f": "txn",
                        "value": mops if typ == "ok" else invoke})
    return to_history(ops)
