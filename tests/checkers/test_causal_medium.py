"""Medium histories (tens of ops, several sessions): too big for the order
search, so the checker is compared with the paper's bad patterns evaluated
naively (explicit closures, hb_o for every op) — this exercises the
reductions the checker relies on (one cf edge per session, binary searches
on per-session segments, incremental clocks, hb_o only at session ends)."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from causal_util import verify_chain
from checkers.causal import check_causal
from checkers.causal.simulate import simulate
from checkers.history import History, Op
from reference_causal import pattern_levels

SETTINGS = settings(max_examples=120, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def mutate(h: History, rng: random.Random, k: int) -> History:
    ops = [Op(o.index, o.time, o.process, o.type, o.f, o.key, o.value) for o in h.ops]
    reads = [i for i, o in enumerate(ops) if o.f == "read" and o.type == "ok"]
    for _ in range(k):
        if not reads:
            break
        i = rng.choice(reads)
        written = sorted({o.value for o in ops if o.f == "write" and o.key == ops[i].key
                          and o.type == "invoke"})
        ops[i].value = rng.choice([None] + written)
    return History(ops=ops)


@SETTINGS
# Found by this test: a nested hb edge's via op was left out of the pattern's ops.
@example(n=61, sessions=3, keys=3, replicas=4, mode='lww', muts=0, seed=67)
@given(st.integers(20, 70), st.integers(2, 6), st.integers(1, 4), st.integers(1, 4),
       st.sampled_from(["lww", "arrival"]), st.integers(0, 3), st.integers(0, 10**6))
def test_medium_histories_agree_with_naive_patterns(n, sessions, keys, replicas, mode, muts, seed):
    h = simulate(n, sessions=sessions, keys=keys, replicas=replicas, mean_lag=8.0, mode=mode,
                 info_rate=0.05, fail_rate=0.05, seed=seed)
    h = mutate(h, random.Random(seed), muts)
    ref = pattern_levels(h)
    for small in (0, 64):   # full-graph hb rounds only / compressed graph first
        ev = check_causal(h, hb_small_targets=small).evidence
        assert ev["satisfies"] == ref, small
        for p in ev["patterns"]:
            verify_chain(h, p)
