"""Whether acknowledged writes were ever observable afterwards.

Cycle analysis (Elle) only judges what reads show: a write nobody read afterwards
contradicts nothing, so a run whose database vanished at a restart — every later
read failing — would look clean.  Two rules close that gap (docs/txn.md):

* **unread writes** — an acknowledged write (append or register write in an ok
  transaction) with no ok read of its key that *began after the write completed*.
  When the history has a final phase (client transactions invoked after the
  run's last nemesis ``heal`` op) the final reads were meant to cover every key,
  so such writes make the verdict unknown: nothing vouches for their durability.
  Histories without a final phase (most public Jepsen/Elle histories) are judged
  as before.
* **lost-append** (list-append only) — an acknowledged append that no read ever
  observed (nor any other append of its transaction to that key), while an ok
  read of its key began after it completed.  Real-time
  order puts the append before that read, which must then contain it: a
  violation of every model with real-time order (strict serializability, strong
  snapshot isolation).  Serializability and weaker may order the read first.
  Elle infers nothing from a value no read returned, so it does not report this;
  Jepsen's set checker calls such an element *lost*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from checkers.history import NEMESIS, History

from .explain import CYCLES_KEPT
from .ops import K_READ, S_OK, Txns

HEAL_F = "heal"


def final_phase_start(history: History) -> int:
    """Position of the last nemesis ``heal`` op, or -1 when the history has none."""
    col = getattr(history, "_columnar", None)
    if col is not None:
        fc = col.f_code(HEAL_F)
        if fc < 0:
            return -1
        hits = np.flatnonzero((col.f == fc) & (col.process < 0))
        return int(hits[-1]) if len(hits) else -1
    last = -1
    for pos, o in enumerate(history.ops):
        if o.f == HEAL_F and o.process == NEMESIS:
            last = pos
    return last


@dataclass
class Durability:
    counts: dict[str, int] = field(default_factory=dict)
    instances: dict[str, list] = field(default_factory=dict)
    unknown_reasons: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)


def check_durability(history: History, txns: Txns, *, lists: bool) -> Durability:
    out = Durability()
    if txns.n == 0:
        return out
    mt = txns.mop_txn
    ok = txns.status[mt] == S_OK
    kind = txns.mop_kind
    key = txns.mop_key
    reads = np.flatnonzero(ok & (kind == K_READ) & (txns.read_len >= 0))
    writes = np.flatnonzero(ok & (kind != K_READ))
    if len(writes) == 0:
        return out
    # latest begin of an ok read, per key: a write is covered when one began after it completed
    last_read = np.full(max(len(txns.keys), 1), -1, np.int64)
    np.maximum.at(last_read, key[reads], txns.inv_pos[mt[reads]])
    done = txns.comp_pos[mt[writes]]
    covered = last_read[key[writes]] > done

    if lists:
        _lost_appends(txns, reads, writes, covered, out)

    heal = final_phase_start(history)
    final = np.flatnonzero(txns.inv_pos > heal) if heal >= 0 else np.empty(0, np.int64)
    unread = writes[~covered]
    if len(final) and len(unread):
        out.evidence["final_reads"] = {"after_position": heal, "txns": int(len(final)),
                                       "ok": int((txns.status[final] == S_OK).sum())}
        out.unknown_reasons.append(_unread_reason(history, txns, final, unread, lists))
        out.evidence["unread_writes"] = [
            {"op": int(txns.op_index[mt[j]]), "key": txns.keys[key[j]],
             "value": txns.values[txns.mop_val[j]]} for j in unread[:CYCLES_KEPT]]
    return out


def _unread_reason(history: History, txns: Txns, final: np.ndarray, unread: np.ndarray,
                   lists: bool) -> str:
    keys = np.unique(txns.mop_key[unread])
    what = (f"{len(unread)} acknowledged {'appends' if lists else 'writes'} on {len(keys)} "
            f"key{'s' if len(keys) != 1 else ''} were never read after they committed")
    failed = final[txns.status[final] != S_OK]
    wanted = set(keys.tolist())
    example = None
    for t in failed.tolist():
        lo, hi = txns.mop_start[t], txns.mop_start[t + 1]
        if any(txns.mop_kind[j] == K_READ and int(txns.mop_key[j]) in wanted
               for j in range(lo, hi)):
            example = t
            break
    if example is None and len(failed):
        example = int(failed[0])
    if example is None:
        return (f"{what}: no final read covered them (e.g. key "
                f"{repr(txns.keys[int(keys[0])])})")
    comp = int(txns.comp_pos[example])
    err = history.error_at(comp) if comp >= 0 else None
    why = err if err is not None else ("no reply" if comp < 0 else "no error given")
    return f"{what}: the final reads failed (e.g. op {int(txns.op_index[example])}: {why})"


def _elements(txns: Txns, reads: np.ndarray) -> np.ndarray:
    """``key * n_values + value`` of every element the list reads ``reads`` returned."""
    nv = max(len(txns.values), 1)
    lens = txns.read_len[reads]
    keys = np.repeat(txns.mop_key[reads], lens)
    idx = np.repeat(txns.read_start[reads] - np.cumsum(lens) + lens, lens) + np.arange(lens.sum())
    return keys * nv + txns.read_vals[idx]


def _lost_appends(txns: Txns, reads: np.ndarray, writes: np.ndarray, covered: np.ndarray,
                  out: Durability) -> None:
    nv = max(len(txns.values), 1)
    # First against each key's longest read (every other read is a prefix of it, or an
    # incompatible-order): cheap, and in a healthy history it leaves nothing to look at.
    # Then exactly, against every read, for the keys that left candidates.
    order = np.lexsort((txns.read_len[reads], txns.mop_key[reads]))
    rk = txns.mop_key[reads][order]
    longest = reads[order][np.r_[rk[1:] != rk[:-1], True]] if len(rk) else reads
    wcode = txns.mop_key[writes] * nv + txns.mop_val[writes]
    maybe = covered & ~np.isin(wcode, _elements(txns, longest))
    if not maybe.any():
        return
    cand_keys = np.unique(txns.mop_key[writes[maybe]])
    reads = reads[np.isin(txns.mop_key[reads], cand_keys)]
    keep = np.isin(txns.mop_key[writes], cand_keys)
    writes, covered = writes[keep], covered[keep]
    seen = _elements(txns, reads)
    wcode = txns.mop_key[writes] * nv + txns.mop_val[writes]
    # by (transaction, key): a transaction whose earlier append a read shows and whose later
    # one it misses is an intermediate read (G1b) or an order anomaly, which Elle judges
    nk = max(len(txns.keys), 1)
    tk = txns.mop_txn[writes] * nk + txns.mop_key[writes]
    seen_tk = np.unique(tk[np.isin(wcode, seen)])
    lost = writes[covered & ~np.isin(tk, seen_tk)]
    if not len(lost):
        return
    out.counts["lost-append"] = int(len(lost))
    mt = txns.mop_txn
    ev = []
    for j in lost[:CYCLES_KEPT].tolist():
        t, k, v = int(mt[j]), int(txns.mop_key[j]), int(txns.mop_val[j])
        # the first ok read of the key that began after the append completed
        cand = reads[(txns.mop_key[reads] == k) & (txns.inv_pos[mt[reads]] > txns.comp_pos[t])]
        r = int(cand[np.argmin(txns.inv_pos[mt[cand]])])
        rt = int(mt[r])
        got = [txns.values[c] for c in
               txns.read_vals[txns.read_start[r]:txns.read_start[r] + txns.read_len[r]].tolist()]
        w_op, r_op = int(txns.op_index[t]), int(txns.op_index[rt])
        ev.append({"op": w_op, "reader": r_op, "key": txns.keys[k], "value": txns.values[v],
                   "read": got,
                   "explanation": f"op {w_op} appended {repr(txns.values[v])} to key "
                                  f"{repr(txns.keys[k])} and was acknowledged before op {r_op} "
                                  f"began, yet op {r_op} read {repr(got)} without it and no "
                                  f"read ever saw it: in real-time order op {r_op} follows op "
                                  f"{w_op} and must see its append"})
    out.instances["lost-append"] = ev
