"""rw-register inference: version orders per key, non-cycle anomalies, and
ww / wr / rw dependencies.

A register read names one value, so reads alone order nothing but "the
initial nil comes first".  More order comes from what the user knows of the
database, each opt-in as in Elle:

- ``wfr_keys``: within a transaction, a write follows its own earlier read
  of the key (read v1 then wrote v2: v1 < v2);
- ``sequential_keys``: each process sees every key move forward (the last
  version a transaction of a process left a key at precedes the first
  version the process's next transaction touching it saw or wrote);
- ``linearizable_keys``: the same across processes in real time (kept as
  the frontier reduction of :mod:`graph`, per key);
- ``transaction_order``: an externally known order (op index -> position),
  e.g. commit timestamps: versions follow it.

A transaction's own writes to a key are always ordered.  The version graph
of a key may come out cyclic (``cyclic-versions``); its edges still become
dependencies — the cycle then shows as G0/G1c as well.  From each version
edge v1 < v2: ww writer(v1) -> writer(v2); rw each reader of v1 -> writer(v2).
The initial nil precedes only the versions nothing else precedes (a
transitive reduction: the rest follow through ww).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from .graph import RW, WR, WW, Edges, realtime_edges, tarjan
from .ops import K_READ, S_FAIL, S_OK, Txns

NIL = -1
(R_G1A, R_G1B, R_GARBAGE, R_INTERNAL, R_FUTURE, R_DUP_WRITE, R_LOST, R_CYCLIC) = range(8)
KIND_NAMES = {R_G1A: "G1a", R_G1B: "G1b", R_GARBAGE: "garbage-read", R_INTERNAL: "internal",
              R_FUTURE: "future-read", R_DUP_WRITE: "duplicate-appends", R_LOST: "lost-update",
              R_CYCLIC: "cyclic-versions"}


def infer(txns: Txns, *, wfr_keys: bool = False, sequential_keys: bool = False,
          linearizable_keys: bool = False,
          transaction_order: dict[int, int] | None = None) -> tuple[list, dict, Edges, list]:
    """Rows ``(kind, txn, mop, key, value, other)``, counts by name, edges, and
    cyclic-version evidence ``[{key, values}]``."""
    status = txns.status.tolist()
    kind = txns.mop_kind.tolist()
    key = txns.mop_key.tolist()
    val = txns.mop_val.tolist()
    ms = txns.mop_start.tolist()
    rows: list[tuple[int, ...]] = []
    counts: dict[str, int] = defaultdict(int)

    def row(k: int, t: int, j: int, kk: int, v: int, other: int) -> None:
        counts[KIND_NAMES[k]] += 1
        if counts[KIND_NAMES[k]] <= 1000:
            rows.append((k, t, j, kk, v, other))

    writer: dict[tuple[int, int], int] = {}      # (key, value) -> write micro-op
    last_write: dict[tuple[int, int], int] = {}  # (txn, key) -> its last write micro-op
    for t in range(txns.n):
        for j in range(ms[t], ms[t + 1]):
            if kind[j] != K_READ:
                kv = (key[j], val[j])
                if kv in writer:
                    row(R_DUP_WRITE, t, j, key[j], val[j], int(txns.mop_txn[writer[kv]]))
                else:
                    writer[kv] = j
                last_write[(t, key[j])] = j

    mop_txn = txns.mop_txn.tolist()
    vedges: set[tuple[int, int, int]] = set()     # (key, v1, v2), v1 may be NIL
    readers: dict[tuple[int, int], list[int]] = defaultdict(list)   # (key, v) -> reader txns
    wr_src: list[int] = []
    wr_dst: list[int] = []
    wr_key: list[int] = []
    wr_val: list[int] = []
    first_seen: list[dict[int, int]] = []   # per txn: key -> first version seen or written
    final_seen: list[dict[int, int]] = []   # per txn: key -> version it left the key at
    lost: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for t in range(txns.n):
        st = status[t]
        known: dict[int, int] = {}
        first: dict[int, int] = {}
        ext_read: dict[int, tuple[int, int]] = {}
        wrote: set[int] = set()
        for j in range(ms[t], ms[t + 1]):
            kk, v = key[j], val[j]
            if kind[j] != K_READ:
                if kk in known and known[kk] != v and (kk in wrote or wfr_keys):
                    # after its own write: always ordered; after its read: if wfr
                    vedges.add((kk, known[kk], v))
                wrote.add(kk)
                first.setdefault(kk, v)
                known[kk] = v
                continue
            if st != S_OK:
                continue
            if kk in known:
                if known[kk] != v:
                    row(R_INTERNAL, t, j, kk, v, known[kk])
                continue
            first[kk] = v
            known[kk] = v
            ext_read[kk] = (v, j)
            readers[(kk, v)].append(t)
            if v == NIL:
                continue
            wj = writer.get((kk, v))
            if wj is None:
                row(R_GARBAGE, t, j, kk, v, -1)
                continue
            w = mop_txn[wj]
            if w == t:
                row(R_FUTURE, t, j, kk, v, -1)
                continue
            if status[w] == S_FAIL:
                row(R_G1A, t, j, kk, v, w)
                continue
            if last_write[(w, kk)] != wj:
                row(R_G1B, t, j, kk, v, w)
            wr_src.append(w)
            wr_dst.append(t)
            wr_key.append(kk)
            wr_val.append(v)
        if st == S_OK:
            for kk, (v, j) in ext_read.items():
                if last_write.get((t, kk)) is not None:
                    lost[(kk, v)].append((t, j))
        first_seen.append(first)
        final_seen.append(known)
    for (kk, v), ts in lost.items():
        for (a, _), (b, jb) in zip(ts, ts[1:]):
            row(R_LOST, b, jb, kk, v, a)

    ok_txns = [t for t in range(txns.n) if status[t] == S_OK]
    chained = sequential_keys or linearizable_keys or transaction_order is not None
    if chained:
        for t in ok_txns:   # a transaction's own steps on a key are in order
            for kk, v in first_seen[t].items():
                fv = final_seen[t][kk]
                if fv != v:
                    vedges.add((kk, v, fv))

    def chain(order: list[int]) -> None:
        last: dict[int, int] = {}
        for t in order:
            for kk, v in first_seen[t].items():
                if kk in last and last[kk] != v:
                    vedges.add((kk, last[kk], v))
            last.update(final_seen[t])

    if sequential_keys:
        by_proc: dict[int, list[int]] = defaultdict(list)
        for t in ok_txns:
            by_proc[int(txns.process[t])].append(t)
        for ts in by_proc.values():
            chain(ts)
    if transaction_order is not None:
        pos = {int(txns.op_index[t]): t for t in range(txns.n)}
        inv_index = {}
        for t in range(txns.n):
            inv_index[int(txns.op_index[t])] = t
        ordered = []
        for idx, p in transaction_order.items():
            t = pos.get(int(idx))
            if t is None:
                raise ValueError(f"transaction-order names op index {idx}, which is not the "
                                 "completion of a transaction in this history")
            if status[t] == S_OK:
                ordered.append((p, t))
        chain([t for _, t in sorted(ordered)])
    if linearizable_keys:
        by_key: dict[int, list[int]] = defaultdict(list)
        for t in ok_txns:
            for kk in first_seen[t]:
                by_key[kk].append(t)
        for kk, ts in by_key.items():
            inv = txns.inv_pos[ts]
            comp = txns.comp_pos[ts]
            s, d = realtime_edges(inv, comp)
            for a, b in zip(s.tolist(), d.tolist()):
                va, vb = final_seen[ts[a]][kk], first_seen[ts[b]][kk]
                if va != vb:
                    vedges.add((kk, va, vb))

    # versions with a writer, per key; nil precedes those nothing else precedes
    has_pred = {(kk, b) for kk, a, b in vedges if a != NIL}
    for (kk, v), j in writer.items():
        if (kk, v) not in has_pred:
            vedges.add((kk, NIL, v))
    vedges = {(kk, a, b) for kk, a, b in vedges if a != b}

    cyclic = _cyclic_versions(vedges)
    if cyclic:
        counts["cyclic-versions"] = len(cyclic)

    src, dst, typ, ek, e1, e2 = list(wr_src), list(wr_dst), [WR] * len(wr_src), list(wr_key), \
        list(wr_val), [-1] * len(wr_src)
    bad_keys = {c["key_id"] for c in cyclic}
    for kk, a, b in sorted(vedges):
        if kk in bad_keys:
            continue   # a contradictory order orders nothing (as Elle drops cyclic version graphs)
        wb = writer.get((kk, b))
        if wb is None:
            continue
        tb = mop_txn[wb]
        if status[tb] == S_FAIL:
            continue
        if a != NIL:
            wa = writer.get((kk, a))
            if wa is not None and status[mop_txn[wa]] != S_FAIL and mop_txn[wa] != tb:
                src.append(mop_txn[wa]); dst.append(tb); typ.append(WW)      # noqa: E702
                ek.append(kk); e1.append(a); e2.append(b)                    # noqa: E702
        wa_t = mop_txn[writer[(kk, a)]] if (kk, a) in writer else -1
        for r in readers.get((kk, a), ()):
            if r != tb and wa_t != tb:   # wa_t == tb: an intermediate read, reported as G1b
                src.append(r); dst.append(tb); typ.append(RW)                # noqa: E702
                ek.append(kk); e1.append(a); e2.append(b)                    # noqa: E702
    arr = lambda x: np.array(x, np.int64)  # noqa: E731
    edges = Edges(arr(src), arr(dst), arr(typ), arr(ek), arr(e1), arr(e2))
    return rows, dict(counts), edges, cyclic


def _cyclic_versions(vedges: set[tuple[int, int, int]]) -> list[dict[str, Any]]:
    """One cycle of values per strongly connected set of versions of a key."""
    by_key: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for kk, a, b in vedges:
        by_key[kk].append((a, b))
    out = []
    for kk in sorted(by_key):
        pairs = sorted(by_key[kk])
        ids = {v: i for i, v in enumerate(sorted({x for p in pairs for x in p}))}
        n = len(ids)
        succ: list[list[int]] = [[] for _ in range(n)]
        for a, b in pairs:
            succ[ids[a]].append(ids[b])
        indptr = np.zeros(n + 1, np.int64)
        for i in range(n):
            indptr[i + 1] = indptr[i] + len(succ[i])
        indices = np.array([x for s in succ for x in s], np.int64)
        bits = np.ones(len(indices), np.int8)
        comp = tarjan(n, indptr, indices, bits, 1)
        vals = sorted(ids, key=ids.get)
        groups: dict[int, list[int]] = defaultdict(list)
        for i in range(n):
            groups[int(comp[i])].append(i)
        for members in groups.values():
            if len(members) < 2:
                continue
            inside = set(members)
            start = min(members)
            prev = {start: -1}
            todo = [start]
            found = None
            while todo and found is None:   # BFS back to start inside the component
                nxt = []
                for x in todo:
                    for y in succ[x]:
                        if y == start:
                            found = x
                            break
                        if y in inside and y not in prev:
                            prev[y] = x
                            nxt.append(y)
                    if found is not None:
                        break
                todo = nxt
            path = [start]
            x = found
            while x != start and x is not None and x != -1:
                path.append(x)
                x = prev[x]
            path = [start] + list(reversed(path[1:])) + [start]
            out.append({"key_id": kk, "values": [vals[i] for i in path]})
    return out
