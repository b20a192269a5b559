"""Slow, obviously-correct twins of the transactional checkers, for small
histories (a handful of transactions, a few keys).

``reference_allows`` answers "could a database that keeps ``model`` have
produced these observations?" by brute force, with no dependency graph and
no version-order inference:

* the serial models (serializable, strict-serializable,
  strong-session-serializable) try every serial order of the committed
  transactions — ``ok`` ones always, ``info`` ones by choice, ``fail`` ones
  never — respecting real time (strict) or process order (strong-session), and
  replay each order against an empty database: every ``ok`` read must equal
  the state at that point, own earlier writes included;
* snapshot-isolation (generalized SI: any earlier snapshot) tries every
  interleaving of start and commit events: a transaction reads its snapshot
  plus its own writes, commits its writes at once, and may not commit when a
  transaction that committed after its start wrote a key it writes (first
  committer wins).  The strong variants take the snapshot only once every ok
  transaction that completed before the invoke (strong) or every earlier one
  of the same process (strong-session) has committed.

The only optimisation is remembering searched states that failed.

``verify_cycle`` re-derives, from the history alone, every step of a cycle a
checker reports (ww / wr / rw / process / realtime), and that the cycle's
shape matches the anomaly name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

from checkers.history import History

SERIAL_MODELS = ("serializable", "strict-serializable", "strong-session-serializable")
SI_MODELS = ("snapshot-isolation", "strong-session-snapshot-isolation", "strong-snapshot-isolation")
MODELS = SERIAL_MODELS + SI_MODELS
WORKLOADS = ("list-append", "rw-register")


@dataclass(frozen=True)
class Txn:
    id: int               # the op index of its completion (of its invoke if it never completed)
    process: Any
    type: str             # ok / info / fail
    mops: tuple           # ((f, key, value), ...); info/fail reads carry None
    invoke_pos: int       # position in the history
    complete_pos: float   # position of the completion; inf for info (may take effect any time)

    def writes(self) -> list[tuple[Any, Any]]:
        return [(k, v) for f, k, v in self.mops if f in ("append", "w")]

    def reads(self) -> list[tuple[Any, Any]]:
        return [(k, v) for f, k, v in self.mops if f == "r"]


def _freeze(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v


def transactions(history: History) -> list[Txn]:
    """Every client txn, paired invoke → completion by process."""
    open_: dict[Any, tuple[int, Any]] = {}
    out: list[Txn] = []
    for pos, op in enumerate(history.ops):
        if op.process == "nemesis" or op.f != "txn":
            continue
        if op.type == "invoke":
            open_[op.process] = (pos, op)
            continue
        ipos, inv = open_.pop(op.process)
        src = op.value if op.type == "ok" else inv.value
        mops = tuple((f, _freeze(k), _freeze(v) if (f != "r" or op.type == "ok") else None)
                     for f, k, v in (src or []))
        out.append(Txn(op.index, op.process, op.type, mops, ipos,
                       math.inf if op.type == "info" else pos))
    for ipos, inv in open_.values():
        mops = tuple((f, _freeze(k), None if f == "r" else _freeze(v)) for f, k, v in inv.value)
        out.append(Txn(inv.index, inv.process, "info", mops, ipos, math.inf))
    return out


# ------------------------------------------------------------------ replay

def _state_key(state: dict) -> tuple:
    return tuple(sorted(state.items(), key=repr))


def _read_matches(workload: str, current: Any, observed: Any) -> bool:
    if workload == "list-append":
        return tuple(current or ()) == tuple(observed or ())
    return current == observed


def _write(workload: str, state: dict, k: Any, v: Any) -> None:
    if workload == "list-append":
        state[k] = tuple(state.get(k) or ()) + (v,)
    else:
        state[k] = v


def _run_serial(workload: str, t: Txn, state: tuple) -> tuple | None:
    """The state after ``t`` runs alone on ``state``; None if an ok read disagrees."""
    st = dict(state)
    for f, k, v in t.mops:
        if f == "r":
            if t.type == "ok" and not _read_matches(workload, st.get(k), v):
                return None
        else:
            _write(workload, st, k, v)
    return _state_key(st)


def _predecessors(txns: list[Txn], model: str) -> list[frozenset[int]]:
    """For each txn, the ok txns that must precede it in any order the model allows.
    info txns are never predecessors: they may take effect at any later time."""
    out = []
    for t in txns:
        before = set()
        if model not in ("serializable", "snapshot-isolation"):
            for j, u in enumerate(txns):
                if u.type != "ok" or u.complete_pos >= t.invoke_pos:
                    continue
                if model.startswith(("strict", "strong-snapshot")) or u.process == t.process:
                    before.add(j)
        out.append(frozenset(before))
    return out


def _serial_allows(txns: list[Txn], workload: str, model: str) -> bool:
    cand = [i for i, t in enumerate(txns) if t.type in ("ok", "info")]
    must = frozenset(i for i in cand if txns[i].type == "ok")
    before = _predecessors(txns, model)
    failed: set = set()

    def search(placed: frozenset, state: tuple) -> bool:
        if must <= placed:
            return True          # unplaced info txns simply never committed
        if (placed, state) in failed:
            return False
        for i in cand:
            if i in placed or not before[i] <= placed:
                continue
            nxt = _run_serial(workload, txns[i], state)
            if nxt is not None and search(placed | {i}, nxt):
                return True
        failed.add((placed, state))
        return False

    return search(frozenset(), ())


def _si_allows(txns: list[Txn], workload: str, model: str) -> bool:
    before = _predecessors(txns, model)
    cand = [i for i, t in enumerate(txns) if t.type in ("ok", "info")]
    must = frozenset(i for i in cand if txns[i].type == "ok")
    wkeys = [frozenset(k for k, _ in t.writes()) for t in txns]
    failed: set = set()

    def commit(t: Txn, state: tuple) -> tuple:
        st = dict(state)
        for k, v in t.writes():
            _write(workload, st, k, v)
        return _state_key(st)

    # active: frozenset of (txn, txns committed when it started); committed: a tuple in commit order
    def search(active: frozenset, committed: tuple, state: tuple) -> bool:
        done = frozenset(committed)
        if must <= done and not any(i in must for i, _ in active):
            return True
        key = (active, done, state)
        if key in failed:
            return False
        started = {i for i, _ in active} | done
        for i in cand:
            # its reads see the snapshot plus its own writes: a serial run on the snapshot
            if i not in started and before[i] <= done and \
                    _run_serial(workload, txns[i], state) is not None:
                if search(active | {(i, done)}, committed, state):
                    return True
        for entry in active:
            i, seen = entry
            if any(wkeys[i] & wkeys[j] for j in done - seen):
                continue         # a concurrent writer of the same key committed first
            if search(active - {entry}, committed + (i,), commit(txns[i], state)):
                return True
        failed.add(key)
        return False

    return search(frozenset(), (), ())


def reference_allows(history: History, workload: str, model: str) -> bool:
    """Whether some execution under ``model`` explains every ok read of ``history``."""
    if workload not in WORKLOADS:
        raise ValueError(workload)
    txns = transactions(history)
    if model in SI_MODELS:
        return _si_allows(txns, workload, model)
    if model in SERIAL_MODELS:
        return _serial_allows(txns, workload, model)
    raise ValueError(model)


def fully_observed(history: History, workload: str) -> bool:
    """Every value a committed txn appended appears in some ok read of its key.

    Committed: ``ok``, or ``info`` with one of its appends read (then all of
    them were installed).  Without this, an inference checker cannot know
    where an unread append went — e.g. a read that misses a completed txn's
    only, never-read append breaks strict serializability invisibly.
    """
    if workload != "list-append":
        return False
    txns = transactions(history)
    seen: dict[Any, set] = {}
    for t in txns:
        if t.type == "ok":
            for k, v in t.reads():
                seen.setdefault(k, set()).update(v or ())
    for t in txns:
        ws = t.writes()
        committed = t.type == "ok" or (t.type == "info" and
                                       any(v in seen.get(k, ()) for k, v in ws))
        if committed and not all(v in seen.get(k, ()) for k, v in ws):
            return False
    return True


# ------------------------------------------------------------------ cycle verifier

class CycleError(AssertionError):
    pass


def _ok_reads(txns: Iterable[Txn], k: Any) -> list[tuple]:
    out = []
    for t in txns:
        if t.type == "ok":
            out.extend(tuple(v or ()) for kk, v in t.reads() if kk == k)
    return out


def _precedes_in_some_read(reads: list[tuple], a: Any, b: Any) -> bool:
    # any occurrences: a read with duplicates is an anomaly of its own, yet still shows order
    return any(a in r and b in r[r.index(a) + 1:] for r in reads)


def _appends_right_after(t: Txn, k: Any, v: Any) -> bool:
    """``t`` appended ``v`` to ``k`` and then something else to ``k``: a txn's
    appends to a key are adjacent in its version order, so the next version
    after ``v`` is ``t``'s."""
    ws = [x for kk, x in t.writes() if kk == k]
    return v in ws and ws.index(v) < len(ws) - 1


def _read_then_appended(t: Txn, k: Any, seen: tuple, anywhere: bool = False) -> bool:
    """``t`` read (ok) a version of ``k`` extending ``seen`` (with ``anywhere``:
    containing it) and then appended to ``k``: its append follows ``seen`` in
    the version order."""
    if t.type != "ok":
        return False
    read_ok = False
    for f, kk, v in t.mops:
        if kk != k:
            continue
        if f != "r":
            if read_ok:
                return True
            continue
        got = tuple(v or ())
        if got[: len(seen)] == seen or (anywhere and set(seen) <= set(got)):
            read_ok = True
    return False


def _prefix_compatible(reads: list[tuple]) -> bool:
    longest = max(reads, key=len, default=())
    return all(longest[: len(r)] == r for r in reads)


def _register_before(txns: list[Txn], k: Any, a: Any, b: Any, wfr: bool) -> bool:
    """a precedes b in key k's version order as the history shows it: the
    initial nil precedes every written value; with ``wfr`` a txn that read a
    then wrote b puts a before b (and the order is transitive)."""
    if a is None and b is not None:
        return True
    if not wfr:
        return False
    edges: dict[Any, set] = {}
    for t in txns:
        if t.type != "ok":
            continue
        last_read, read_seen = None, False
        for f, kk, v in t.mops:
            if kk != k:
                continue
            if f == "r" and not read_seen:
                last_read, read_seen = v, True
            elif f == "w" and read_seen and v != last_read:
                edges.setdefault(last_read, set()).add(v)
    todo, seen = [a], {a}
    while todo:
        x = todo.pop()
        for y in edges.get(x, ()):
            if y == b:
                return True
            if y not in seen:
                seen.add(y)
                todo.append(y)
    return False


def _check_step(step: dict, by_id: dict[int, Txn], txns: list[Txn], workload: str,
                wfr: bool) -> None:
    typ, a, b = step.get("type"), by_id.get(step.get("from")), by_id.get(step.get("to"))
    if a is None or b is None or a is b:
        raise CycleError(f"step {step}: from/to are not two distinct transactions")
    k = _freeze(step.get("key"))
    if typ == "process":
        if not (a.process == b.process and a.complete_pos < b.invoke_pos):
            raise CycleError(f"step {step}: not the same process, from before to")
        return
    if typ == "realtime":
        if not (a.type == "ok" and a.complete_pos < b.invoke_pos):
            raise CycleError(f"step {step}: from did not complete before to was invoked")
        return
    a_w = [v for kk, v in a.writes() if kk == k]
    b_w = [v for kk, v in b.writes() if kk == k]
    b_r = [v for kk, v in b.reads() if kk == k] if b.type == "ok" else []
    a_r = [v for kk, v in a.reads() if kk == k] if a.type == "ok" else []
    if workload == "list-append":
        reads = _ok_reads(txns, k)
        # A committed append no read shows still made it into the version order:
        # after everything any read shows (every read is a prefix of that order) —
        # unless the same txn's later append to k is read (then it sits right before
        # that one, and the history is broken elsewhere).  Committed: ok, or info
        # with some append read.
        def read_anywhere(kk: Any, v: Any) -> bool:
            return any(v in r for r in _ok_reads(txns, kk))
        committed = b.type == "ok" or (b.type == "info" and
                                       any(read_anywhere(kk, v) for kk, v in b.writes()))
        unseen = [y for i, y in enumerate(b_w)
                  if committed and not any(z in r for z in b_w[i:] for r in reads)]
        if typ in ("ww", "rw") and not _prefix_compatible(reads):
            # Reads of k disagree (incompatible-order): any version order a checker
            # picks contradicts some read, so only check the step names real appends.
            if not b_w or (typ == "ww" and not a_w) or (typ == "rw" and not a_r):
                raise CycleError(f"step {step}: from/to did not touch {k!r} as claimed")
            return
        if typ == "ww":
            if unseen and any(x in r for x in a_w for r in reads):
                return
            if any(_read_then_appended(b, k, (x,), anywhere=True) for x in a_w):
                return
            if not any(_precedes_in_some_read(reads, x, y) for x in a_w for y in b_w):
                raise CycleError(f"step {step}: no read of key {k!r} shows from's append "
                                 "before to's")
        elif typ == "wr":
            if not any(x in tuple(r or ()) for x in a_w for r in b_r):
                raise CycleError(f"step {step}: to never read a value from appended to {k!r}")
        elif typ == "rw":
            ok = bool(unseen and a_r)
            for seen in a_r:
                seen = tuple(seen or ())
                if not seen and b_w:
                    ok = True    # every append follows the initial, empty state
                if seen and _appends_right_after(b, k, seen[-1]):
                    ok = True    # from saw one of to's appends but not the next one
                if _read_then_appended(b, k, seen):
                    ok = True    # to read at least what from read, then appended
                for r in reads:
                    if r[:len(seen)] == seen and any(y in r[len(seen):] for y in b_w):
                        ok = True
            if not ok:
                raise CycleError(f"step {step}: no read of {k!r} by from is followed, in a "
                                 "longer read, by a value to appended")
        else:
            raise CycleError(f"step {step}: unknown step type {typ!r}")
        return
    if typ == "ww":
        if not any(_register_before(txns, k, x, y, wfr) for x in a_w for y in b_w):
            raise CycleError(f"step {step}: nothing orders from's write of {k!r} before to's")
    elif typ == "wr":
        if not any(r is not None and r == x for x in a_w for r in b_r):
            raise CycleError(f"step {step}: to never read a value from wrote to {k!r}")
    elif typ == "rw":
        if not any(_register_before(txns, k, r, y, wfr) for r in a_r for y in b_w):
            raise CycleError(f"step {step}: nothing puts from's read of {k!r} before to's write")
    else:
        raise CycleError(f"step {step}: unknown step type {typ!r}")


def _rw_adjacent(types: list[str]) -> bool:
    n = len(types)
    return any(types[i] == "rw" and types[(i + 1) % n] == "rw" for i in range(n))


def check_shape(name: str, types: list[str]) -> None:
    """The step types of a cycle fit the anomaly it is reported as."""
    base = name
    allowed_order = set()
    for suffix, extra in (("-realtime", {"realtime", "process"}), ("-process", {"process"})):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            allowed_order = extra
            break
    order_edges = [t for t in types if t in ("process", "realtime")]
    if any(t not in allowed_order for t in order_edges):
        raise CycleError(f"{name}: order edges {order_edges} not allowed")
    if allowed_order and not order_edges:
        raise CycleError(f"{name}: no {sorted(allowed_order)} edge in {types}")
    if name.endswith("-realtime") and "realtime" not in types:
        raise CycleError(f"{name}: no realtime edge in {types}")
    data = [t for t in types if t not in ("process", "realtime")]
    rw = data.count("rw")
    if base == "G0" and set(data) - {"ww"}:
        raise CycleError(f"{name}: G0 has only ww edges, got {types}")
    if base == "G1c" and (rw or "wr" not in data):
        raise CycleError(f"{name}: G1c has ww/wr edges, at least one wr, got {types}")
    if base in ("G-single", "G-single-item") and rw != 1:
        raise CycleError(f"{name}: G-single has exactly one rw edge, got {types}")
    if base in ("G-nonadjacent", "G-nonadjacent-item") and (rw < 2 or _rw_adjacent(types)):
        raise CycleError(f"{name}: G-nonadjacent has ≥2 rw edges, none adjacent, got {types}")
    if base in ("G2", "G2-item") and rw < 1:
        raise CycleError(f"{name}: G2 has an rw edge, got {types}")


def verify_cycle(history: History, workload: str, name: str, instance: dict,
                 wfr: bool = False) -> None:
    """Re-derive every step of one reported cycle; raise CycleError if one fails."""
    txns = transactions(history)
    by_id = {t.id: t for t in txns}
    cycle, steps = instance.get("cycle"), instance.get("steps")
    if not cycle or not steps or cycle[0] != cycle[-1] or len(steps) != len(cycle) - 1:
        raise CycleError(f"{name}: malformed cycle {cycle} / {len(steps or [])} steps")
    for i, step in enumerate(steps):
        if step.get("from") != cycle[i] or step.get("to") != cycle[i + 1]:
            raise CycleError(f"{name}: step {i} {step} does not join {cycle[i]}→{cycle[i + 1]}")
        _check_step(step, by_id, txns, workload, wfr)
    for t in cycle:
        if by_id[t].type == "fail":
            raise CycleError(f"{name}: failed txn {t} is in a cycle")
    check_shape(name, [s["type"] for s in steps])


# ------------------------------------------------------------------ non-cycle anomalies

def _read_of(t: Txn, inst: dict) -> Any:
    """The read micro-op an instance quotes, checked to be one of ``t``'s."""
    mop = inst.get("mop")
    f, k, v = mop[0], _freeze(mop[1]), _freeze(mop[2])
    if f != "r" or (f, k, v) not in t.mops:
        raise CycleError(f"{inst}: op {t.id} has no micro-op {mop}")
    return v


def _positions(t: Txn, mop: tuple) -> list[int]:
    return [i for i, m in enumerate(t.mops) if m == mop]


def _contradicts_own_ops(t: Txn, k: Any, got: Any, i: int, la: bool) -> bool:
    """The read at ``t.mops[i]`` disagrees with what ``t``'s own earlier micro-ops on
    ``k`` say the key holds (a read fixes it; an append extends what is known)."""
    known, exact, touched = (), False, False
    for f, kk, v in t.mops[:i]:
        if kk != k:
            continue
        touched = True
        if f == "r":
            known, exact = (tuple(v or ()) if la else v), True
        elif la:
            known = tuple(known) + (v,)
        else:
            known, exact = v, True
    if not touched:
        return False
    if not la:
        return got != known
    got = tuple(got or ())
    return got != known if exact else got[len(got) - len(known):] != known


def verify_instance(history: History, workload: str, name: str, inst: dict,
                    wfr: bool = False) -> None:
    """Re-derive one non-cycle anomaly instance from the history (the shapes
    of checkers/txn's evidence); names this verifier does not know pass."""
    txns = transactions(history)
    by_id = {t.id: t for t in txns}
    k = _freeze(inst.get("key"))
    op = by_id.get(inst.get("op"))
    la = workload == "list-append"

    def elems(v: Any) -> tuple:
        return tuple(v or ()) if la else (v,)

    def wrote(t: Txn, v: Any) -> bool:
        return (k, v) in t.writes()

    if name in ("G1a", "G1b", "garbage-read", "duplicate-elements", "future-read", "internal",
                "lost-update"):
        if op is None or op.type != "ok":
            raise CycleError(f"{name} {inst}: op is not an ok transaction")
        got = _read_of(op, inst)
        v = _freeze(inst.get("value"))
    if name == "G1a":
        w = by_id.get(inst.get("writer"))
        if not (w and w.type == "fail" and wrote(w, v) and v in elems(got)):
            raise CycleError(f"G1a {inst}: the writer did not fail, or the read lacks its value")
    elif name == "G1b":
        w = by_id.get(inst.get("writer"))
        ws = [x for kk, x in (w.writes() if w else []) if kk == k]
        if not (w and v in ws and ws.index(v) < len(ws) - 1 and elems(got)[-1:] == (v,)):
            raise CycleError(f"G1b {inst}: not a read ending in a non-final write")
    elif name == "garbage-read":
        if v not in elems(got) or any(wrote(t, v) for t in txns):
            raise CycleError(f"garbage-read {inst}: someone wrote it, or it was not read")
    elif name == "duplicate-elements":
        if elems(got).count(v) < 2:
            raise CycleError(f"duplicate-elements {inst}: {v!r} is not read twice")
    elif name == "future-read":
        if not (v in elems(got) and any(("append" if la else "w", k, v) in op.mops[i + 1:]
                                         for i in _positions(op, ("r", k, got)))):
            raise CycleError(f"future-read {inst}: the txn does not write {v!r} after the read")
    elif name == "internal":
        if not any(_contradicts_own_ops(op, k, got, i, la)
                   for i in _positions(op, ("r", k, got))):
            raise CycleError(f"internal {inst}: the read agrees with the txn's own earlier ops")
    elif name == "lost-update":
        other = by_id.get(inst.get("other"))
        both = [op, other]
        if other is None or other is op or any(t.type != "ok" for t in both):
            raise CycleError(f"lost-update {inst}: needs two ok transactions")
        # a list-append version is named by its last element (appended values are unique)
        same = (lambda x: tuple(x or ())[-1:] == tuple(got or ())[-1:]) if la \
            else (lambda x: x == got)
        for t in both:
            reads = [x for kk, x in t.reads() if kk == k]
            if not any(same(x) for x in reads) or not [x for kk, x in t.writes() if kk == k]:
                raise CycleError(f"lost-update {inst}: op {t.id} did not read {got!r} and write")
    elif name == "lost-append":
        # an ok append, an ok read of its key begun after it completed that lacks it,
        # and no ok read anywhere showing it
        v = _freeze(inst.get("value"))
        r = by_id.get(inst.get("reader"))
        if not (op and op.type == "ok" and wrote(op, v)):
            raise CycleError(f"lost-append {inst}: op is not an ok append of the value")
        if not (r and r.type == "ok" and r.invoke_pos > op.complete_pos):
            raise CycleError(f"lost-append {inst}: the reader did not begin after it completed")
        if not any(kk == k and v not in elems(x) for kk, x in r.reads()):
            raise CycleError(f"lost-append {inst}: the reader has no read of the key without it")
        if any(kk == k and v in elems(x) for t in txns if t.type == "ok" for kk, x in t.reads()):
            raise CycleError(f"lost-append {inst}: some read shows {v!r}")
    elif name == "incompatible-order" and "writer" in inst:
        # a read shows a writer's later append but not its earlier one (or after it)
        w, v = by_id.get(inst.get("writer")), _freeze(inst.get("value"))
        ws = [x for kk, x in (w.writes() if w else []) if kk == k]
        got = tuple(_read_of(op, inst) or ()) if op else ()
        later = ws[ws.index(v) + 1:] if v in ws else []
        if not any(y in got and (v not in got or got.index(v) > got.index(y)) for y in later):
            raise CycleError(f"incompatible-order {inst}: the read does not skip the writer's "
                             "earlier append")
    elif name == "incompatible-order":
        ids, vals = inst.get("ops") or [], [tuple(_freeze(x) or ()) for x in inst.get("values")]
        a, b = vals[0], vals[1]
        if a[: len(b)] == b or b[: len(a)] == a:
            raise CycleError(f"incompatible-order {inst}: one read is a prefix of the other")
        for i, x in zip(ids, vals):
            t = by_id.get(i)
            if t is None or not any(kk == k and tuple(y or ()) == x for kk, y in t.reads()):
                raise CycleError(f"incompatible-order {inst}: op {i} did not read {x}")
    elif name == "dirty-update":
        w, v = by_id.get(inst.get("writer")), _freeze(inst.get("value"))
        if not (w and w.type == "fail" and wrote(w, v) and op and op.type != "fail"):
            raise CycleError(f"dirty-update {inst}: not a failed write and a later committed one")
        mine = [x for kk, x in op.writes() if kk == k]
        if not any(_precedes_in_some_read(_ok_reads(txns, k), v, y) for y in mine):
            raise CycleError(f"dirty-update {inst}: no read shows op's write after the aborted one")
    elif name == "cyclic-versions" and wfr:
        vals = [_freeze(x) for x in inst.get("values")]
        if vals[0] != vals[-1] or not all(_register_before(txns, k, x, y, True)
                                          for x, y in zip(vals, vals[1:])):
            raise CycleError(f"cyclic-versions {inst}: not a cycle of version-order steps")
