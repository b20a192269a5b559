"""Brute-force reference for causal consistency, straight from the
definitions of Bouajjani, Enea, Guerraoui and Hamza (POPL 2017), §2–3 —
no bad patterns, no clocks: only searches for orders.  For tiny histories.

A history is explained when there is a causal order CO (a strict partial
order containing session order so and read-from wr) and serialisations:
- CC:  for every read r, a linear extension of CO over the writes of r's
       causal past plus r in which r returns the last write to its key;
- CM:  for every op o, one linear extension of CO over the writes of o's
       causal past plus the reads of o's session up to o that explains all
       of those reads (reads of other sessions are hidden: they constrain
       nothing beyond CO, which is transitive);
- CCv: one total arbitration order of all writes extending CO such that
       every read returns the arbitration-last write to its key among the
       writes of its causal past.
Values are written once per key, so wr is determined by the history and
the smallest CO, (so ∪ wr)+, is the best choice: a larger CO only adds
constraints.  An ``info`` write may or may not have happened: every subset
of them is tried (a read of a write left out has nothing to read from).

The four session guarantees are evaluated straight from their definitions
as this project states them (see checkers/causal/kernels.py): a read r of x
returning w0 (or init) violates a guarantee when some x-write w1 with
w0 -co-> w1 (any write when r read init) is known to r through: RYW
w1 -so-> r; MR w1 -wr-> r1 -so-> r (r1 a read of x); MW w1 -so-> w2 -co-> r
(w2 a write); WFR w1 -wr-> r1 -so-> w2 -co-> r (r1 a read of x, w2 a write).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

INIT = "init"


@dataclass(frozen=True)
class ROp:
    id: int
    session: object
    f: str       # "read" / "write"
    key: object
    value: object
    status: str  # ok / info


def ref_ops(history) -> list[ROp]:
    """Logical ops (invoke + completion) of a History, fail ops and info
    reads dropped, in history order."""
    open_: dict = {}
    out: list[ROp] = []
    pending = []
    for pos, op in enumerate(history.ops):
        if op.process == "nemesis":
            continue
        if op.type == "invoke":
            open_[op.process] = len(pending)
            pending.append([op, None])
        else:
            pending[open_.pop(op.process)][1] = op
    for i, (inv, comp) in enumerate(pending):
        status = comp.type if comp is not None else "info"
        if status == "fail":
            continue
        if inv.f == "read":
            if status != "ok":
                continue
            out.append(ROp(i, inv.process, "read", inv.key, comp.value, "ok"))
        else:
            out.append(ROp(i, inv.process, "write", inv.key, inv.value, status))
    return out


def _closure(nodes, edges):
    """Transitive closure as a set of pairs; None when cyclic."""
    succ = {v: set() for v in nodes}
    for a, b in edges:
        succ[a].add(b)
    reach = {}
    for v in nodes:
        seen, stack = set(), [v]
        while stack:
            u = stack.pop()
            for w in succ[u]:
                if w not in seen:
                    seen.add(w)
                    stack.append(w)
        reach[v] = seen
    if any(v in reach[v] for v in nodes):
        return None
    return {(a, b) for a in nodes for b in reach[a]}


def _extensions(items, before):
    """All linear extensions of the partial order ``before`` over ``items``."""
    items = list(items)

    def rec(placed, rest):
        if not rest:
            yield list(placed)
            return
        for x in rest:
            if any((y, x) in before for y in rest if y != x):
                continue
            placed.append(x)
            yield from rec(placed, [y for y in rest if y != x])
            placed.pop()
    yield from rec([], items)


class World:
    """One choice of which info writes happened."""

    def __init__(self, ops: list[ROp], init=None):
        self.ops = ops
        self.by_id = {o.id: o for o in ops}
        self.init = init
        writes = {(o.key, o.value): o.id for o in ops if o.f == "write"}
        self.wr: dict[int, object] = {}
        self.ok = True
        for o in ops:
            if o.f != "read":
                continue
            if o.value == init and (o.key, o.value) not in writes:
                self.wr[o.id] = INIT
            elif (o.key, o.value) in writes:
                self.wr[o.id] = writes[(o.key, o.value)]
            else:
                self.ok = False          # nothing to read from
        edges = []
        last: dict = {}
        for o in ops:                    # history order = session order per process
            if o.session in last:
                edges.append((last[o.session], o.id))
            last[o.session] = o.id
        self.so = _closure([o.id for o in ops], edges) or set()
        edges += [(w, r) for r, w in self.wr.items() if w != INIT]
        co = _closure([o.id for o in ops], edges)
        if co is None:
            self.ok = False
            co = set()
        self.co = co

    def past_writes(self, o: int) -> list[int]:
        return [w.id for w in self.ops if w.f == "write" and (w.id, o) in self.co]

    def _explains(self, order: list[int], reads: list[int]) -> bool:
        for r in reads:
            key = self.by_id[r].key
            i = order.index(r)
            last = INIT
            for x in order[:i]:
                o = self.by_id[x]
                if o.f == "write" and o.key == key:
                    last = x
            if last != self.wr[r]:
                return False
        return True

    def cc(self) -> bool:
        for r in self.wr:
            items = self.past_writes(r) + [r]
            if not any(self._explains(ext, [r]) for ext in _extensions(items, self.co)):
                return False
        return True

    def cm(self) -> bool:
        for o in self.ops:
            reads = [r.id for r in self.ops if r.f == "read" and r.session == o.session
                     and (r.id == o.id or (r.id, o.id) in self.so)]
            items = sorted(set(self.past_writes(o.id)) | ({o.id} if o.f == "write" else set())
                           | set(reads))
            if not any(self._explains(ext, reads) for ext in _extensions(items, self.co)):
                return False
        return True

    def ccv(self) -> bool:
        writes = [o.id for o in self.ops if o.f == "write"]
        for arb in _extensions(writes, self.co):
            rank = {w: i for i, w in enumerate(arb)}
            good = True
            for r, w in self.wr.items():
                key = self.by_id[r].key
                vis = [x for x in self.past_writes(r) if self.by_id[x].key == key]
                best = max(vis, key=rank.__getitem__) if vis else INIT
                if best != w:
                    good = False
                    break
            if good:
                return True
        return False

    def sessions(self) -> dict[str, bool]:
        co, so = self.co, self.so
        ops = self.ops
        bad = {"read-your-writes": False, "monotonic-reads": False,
               "monotonic-writes": False, "writes-follow-reads": False}

        def older(w0, w1) -> bool:
            return w0 == INIT or (w0 != w1 and (w0, w1) in co)

        for r, w0 in self.wr.items():
            x = self.by_id[r].key
            for w1o in ops:
                if w1o.f != "write" or w1o.key != x:
                    continue
                w1 = w1o.id
                if not older(w0, w1):
                    continue
                if (w1, r) in so:
                    bad["read-your-writes"] = True
                for r1, src in self.wr.items():
                    if src == w1 and (r1, r) in so:
                        bad["monotonic-reads"] = True
                for w2o in ops:
                    if w2o.f != "write" or (w2o.id, r) not in co:
                        continue
                    if (w1, w2o.id) in so:
                        bad["monotonic-writes"] = True
                    for r1, src in self.wr.items():
                        if src == w1 and (r1, w2o.id) in so:
                            bad["writes-follow-reads"] = True
        return {k: not v for k, v in bad.items()}


def worlds(history, init=None):
    ops = ref_ops(history)
    info = [o for o in ops if o.f == "write" and o.status == "info"]
    for keep in itertools.product([True, False], repeat=len(info)):
        drop = {o.id for o, k in zip(info, keep) if not k}
        yield World([o for o in ops if o.id not in drop], init)


def reference_levels(history, init=None) -> dict[str, bool]:
    """Which of CC, CM, CCv some world satisfies (each level on its own)."""
    out = {"CC": False, "CM": False, "CCv": False}
    for w in worlds(history, init):
        if not w.ok:
            continue
        if not out["CC"] and w.cc():
            out["CC"] = True
        if not out["CM"] and w.cm():
            out["CM"] = True
        if not out["CCv"] and w.ccv():
            out["CCv"] = True
    return out


def reference_sessions(history, init=None) -> dict[str, bool] | None:
    """Session guarantees in the world where only read info writes happened
    (None when that world's causal order is cyclic)."""
    ops = ref_ops(history)
    read_vals = {(o.key, o.value) for o in ops if o.f == "read"}
    kept = [o for o in ops if o.f == "read" or o.status == "ok" or (o.key, o.value) in read_vals]
    w = World(kept, init)
    if not _acyclic(w):
        return None
    # thin-air reads impose nothing on the session guarantees
    return w.sessions()


def _acyclic(w: World) -> bool:
    edges = []
    last: dict = {}
    for o in w.ops:
        if o.session in last:
            edges.append((last[o.session], o.id))
        last[o.session] = o.id
    edges += [(s, r) for r, s in w.wr.items() if s != INIT]
    return _closure([o.id for o in w.ops], edges) is not None


def pattern_levels(history, init=None) -> dict[str, bool]:
    """The levels from the paper's bad patterns evaluated naively — explicit
    transitive closures (bitsets), hb_o saturated for *every* op o — for
    histories too big for the order search but small enough for O(n^3)."""
    ops = ref_ops(history)
    read_vals = {(o.key, o.value) for o in ops if o.f == "read"}
    ops = [o for o in ops if o.f == "read" or o.status == "ok" or (o.key, o.value) in read_vals]
    m = len(ops)
    writes = {(o.key, o.value): i for i, o in enumerate(ops) if o.f == "write"}
    bad = set()
    wr: dict[int, object] = {}
    for i, o in enumerate(ops):
        if o.f == "read":
            if (o.key, o.value) in writes:
                wr[i] = writes[(o.key, o.value)]
            elif o.value == init:
                wr[i] = INIT
            else:
                bad.add("ThinAirRead")
    edges = [[] for _ in range(m)]
    last: dict = {}
    for i, o in enumerate(ops):
        if o.session in last:
            edges[last[o.session]].append(i)
        last[o.session] = i
    for r, w in wr.items():
        if w != INIT:
            edges[w].append(r)

    def close(succ_bits: list[int]) -> list[int]:
        reach = list(succ_bits)
        for k in range(m):
            bk = 1 << k
            rk = reach[k]
            for i in range(m):
                if reach[i] & bk:
                    reach[i] |= rk
        return reach

    base = [sum(1 << j for j in set(edges[i])) for i in range(m)]
    co = close(base)
    if any(co[i] >> i & 1 for i in range(m)):
        return {"CC": False, "CM": False, "CCv": False}

    def before(a, b, rel):  # a -rel-> b
        return bool(rel[a] >> b & 1)

    same_key_writes = lambda k: [i for i, o in enumerate(ops) if o.f == "write" and o.key == k]
    for r, w in wr.items():
        k = ops[r].key
        if w == INIT:
            if any(before(x, r, co) for x in same_key_writes(k)):
                bad.add("WriteCOInitRead")
        else:
            for w2 in same_key_writes(k):
                if w2 != w and before(w, w2, co) and before(w2, r, co):
                    bad.add("WriteCORead")
    cf = list(base)
    for r, w in wr.items():
        if w == INIT:
            continue
        for w1 in same_key_writes(ops[r].key):
            if w1 != w and before(w1, r, co):
                cf[w1] |= 1 << w
    cfc = close(cf)
    if any(cfc[i] >> i & 1 for i in range(m)):
        bad.add("CyclicCF")
    for o in range(m):
        hist_o = [u for u in range(m) if u == o or before(u, o, co)]
        mask = sum(1 << u for u in hist_o)
        hb = [co[u] & mask if (mask >> u & 1) else 0 for u in range(m)]
        sess_reads = [r for r in wr if ops[r].session == ops[o].session and (r == o or before(r, o, co))
                      and (mask >> r & 1)]
        while True:
            grew = False
            for r in sess_reads:
                w = wr[r]
                for w1 in same_key_writes(ops[r].key):
                    if w1 == w or not before(w1, r, hb):
                        continue
                    if w == INIT:
                        bad.add("WriteHBInitRead")
                    elif not before(w1, w, hb):
                        hb[w1] |= 1 << w
                        grew = True
            if not grew:
                break
            hb = close(hb)
            if any(hb[i] >> i & 1 for i in range(m)):
                bad.add("CyclicHB")
                break
    cc = not bad & {"ThinAirRead", "WriteCOInitRead", "WriteCORead"}
    return {"CC": cc, "CM": cc and not bad & {"WriteHBInitRead", "CyclicHB"},
            "CCv": cc and "CyclicCF" not in bad}
