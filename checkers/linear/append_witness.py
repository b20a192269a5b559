"""A sound shortcut to "not linearizable" for ``append-kv`` keys.

Appends only extend a string; only a put replaces it.  So when an
acknowledged append of t completed before a get began, and no put can be
linearized between them (every put either completed before the append was
invoked or was invoked after the get completed), the get's result must
contain t: in every linearization the state at the get is the state just
after the append (which ends with t) extended by later appends.  A get that
lacks t proves the key is not linearizable — at once, where the search must
exhaust every order of the ops pending around a lost append before it can
say so (Porcupine gives up on such keys of its c50-bad history).

The check is only ever used to say "invalid"; a key it finds nothing on goes
to the search as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import kernel as K
from .encode import Partition, show
from .unique import UniqueResult


def lost_append(ctx: Any, part: Partition) -> UniqueResult | None:
    """A failed result naming the get that misses an acknowledged append, or
    None when this check finds nothing (the search then decides)."""
    import time
    t0 = time.perf_counter()
    if part.model_id != K.M_APPEND or len(part) == 0:
        return None
    kind, must = part.kind, part.must.astype(bool)
    gets = np.flatnonzero(kind == K.K_READ)
    apps = np.flatnonzero((kind == K.K_APPEND) & must)
    if gets.size == 0 or apps.size == 0:
        return None
    puts = np.flatnonzero(kind == K.K_WRITE)
    put_inv, put_ret = part.inv_pos[puts], part.ret_pos[puts]
    by_inv = gets[np.argsort(part.inv_pos[gets], kind="stable")]
    g_inv = part.inv_pos[by_inv]
    # the first get begun after each append completed
    nxt = np.searchsorted(g_inv, part.ret_pos[apps], side="right")
    found: list[tuple[int, int]] = []
    for a, j in zip(apps.tolist(), nxt.tolist()):
        if j >= by_inv.size:
            continue
        g = int(by_inv[j])
        if puts.size and bool(np.any((put_ret > part.inv_pos[a]) &
                                     (put_inv < part.ret_pos[g]))):
            continue
        t = ctx.inv_value(int(part.rows[a]))
        s = ctx.ret_value(int(part.rows[g]))
        if isinstance(t, str) and t and (s is None or isinstance(s, str)) \
                and t not in (s or ""):
            found.append((g, a))
    if not found:
        return None
    g, a = min(found, key=lambda ga: int(part.ret_pos[ga[0]]))
    t = ctx.inv_value(int(part.rows[a]))
    res = UniqueResult(valid=False, ops=len(part), elapsed_s=0.0, configurations=0, steps=0,
                       algorithm="append-witness")
    res.fail_op = g
    res.reason = (f"an acknowledged append of {show(t)} completed before this get began and "
                  f"no put can come between them, yet the get's result does not contain it")
    res.witnesses = [a]
    res.violations = len(found)
    res.expected = f"a string containing {show(t)}"
    res.concurrent = [int(o) for o in np.flatnonzero(
        (part.inv_pos < part.ret_pos[g]) & (part.ret_pos > part.inv_pos[g])) if o != g]
    res.elapsed_s = time.perf_counter() - t0
    return res
