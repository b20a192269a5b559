"""The causal checker against its pre-issue-15 self (causal_old/, kept
unchanged): on seeded histories — valid ones from the simulated store
(lww: CCv; arrival: CM, often not CCv), with crashed and failed ops, and
the same with reads mutated — every level gives the same verdicts, the
same pattern counts and the same pattern witnesses (chains included).

CAUSAL_OLD_VS_NEW=N sets how many histories (default 1,000, under a minute
on an idle machine); the issue-15 acceptance run used 10,000."""

from __future__ import annotations

import os
import random

import pytest

import causal_old
from checkers.causal import check_causal
from checkers.causal.simulate import simulate
from checkers.history import History, Op
from test_causal_medium import mutate

COUNT = int(os.environ.get("CAUSAL_OLD_VS_NEW", "1000"))
CHUNK = 100
LEVEL_PATTERNS = {"CC": {"CyclicCO", "WriteCOInitRead", "ThinAirRead", "WriteCORead"},
                  "CM": {"WriteHBInitRead", "CyclicHB"}, "CCv": {"CyclicCF"}}


def history(seed: int) -> History:
    rng = random.Random(seed)
    big = rng.random() < 0.1   # a few longer ones: several hb rounds per session
    h = simulate(rng.randint(150, 400) if big else rng.randint(10, 80),
                 sessions=rng.randint(2, 8), keys=rng.randint(1, 5), replicas=rng.randint(1, 4),
                 mean_lag=rng.choice([0.0, 3.0, 8.0, 30.0]), mode=rng.choice(["lww", "arrival"]),
                 info_rate=rng.choice([0.0, 0.05, 0.2]), fail_rate=rng.choice([0.0, 0.05]),
                 seed=seed)
    muts = rng.choice([0, 0, 1, 2, 4])
    return mutate(h, rng, muts) if muts else History(ops=list(h.ops))


def _patterns(ev: dict, names: set[str]) -> list:
    return [p for p in ev["patterns"] if p["name"] in names]


def agree(h: History) -> None:
    old = causal_old.check_causal(h).evidence
    new = check_causal(h).evidence
    assert new["satisfies"] == old["satisfies"]
    assert new["counts"] == old["counts"]
    assert new["patterns"] == old["patterns"]
    assert new["sessions"] == old["sessions"]
    assert new.get("unknown_reason") == old.get("unknown_reason")
    # CM decided by the full-graph rounds alone says the same
    assert check_causal(h, hb_small_targets=0).evidence["patterns"] == old["patterns"]
    for level, judged in (("CC", ("CC",)), ("CM", ("CC", "CM")), ("CCv", ("CC", "CCv"))):
        ev = check_causal(h, level=level).evidence
        assert ev["satisfies"] == {lv: old["satisfies"][lv] for lv in judged}, level
        names = set().union(*(LEVEL_PATTERNS[lv] for lv in judged))
        assert _patterns(ev, names) == _patterns(old, names), level
        assert ev["sessions"] == old["sessions"], level


@pytest.mark.parametrize("chunk", range(0, COUNT, CHUNK))
def test_new_kernels_agree_with_the_old_ones(chunk):
    for seed in range(chunk, min(chunk + CHUNK, COUNT)):
        h = history(seed)
        try:
            agree(h)
        except AssertionError as e:
            raise AssertionError(f"seed {seed}: {e}") from None


def test_generated_histories_cover_every_pattern():
    """The seeds above are not all alike: valid and broken at every level."""
    seen: set[str] = set()
    verdicts = set()
    for seed in range(min(COUNT, 600)):
        ev = check_causal(history(seed)).evidence
        seen |= set(ev["counts"])
        verdicts.add(tuple(ev["satisfies"].values()))
    assert seen == {"CyclicCO", "WriteCOInitRead", "ThinAirRead", "WriteCORead",
                    "WriteHBInitRead", "CyclicHB", "CyclicCF"}, seen
    assert {(True, True, True), (True, True, False), (True, False, False),
            (False, False, False)} <= verdicts, verdicts


def test_many_sessions_with_broken_hb_past_the_witness_cap():
    """More broken sessions than witnesses kept: the one-sweep kernel's
    verdict alone counts them, and must count what the old rounds did."""
    ops: list[Op] = []
    t = 0
    for s in range(14):
        # two writers race; one reader sees a, then b, then a again: its
        # view orders the writes both ways (CyclicHB), yet CC holds
        a, b = 2 * s + 1, 2 * s + 2
        for p, f, v in ((100 + s, "write", a), (200 + s, "write", b), (300 + s, "read", a),
                        (300 + s, "read", b), (300 + s, "read", a)):
            ops.append(Op(len(ops), t, p, "invoke", f, "x", v if f == "write" else None))
            ops.append(Op(len(ops), t + 1, p, "ok", f, "x", v))
            t += 2
    h = History(ops=ops)
    old = causal_old.check_causal(h).evidence
    new = check_causal(h).evidence
    assert new["counts"] == old["counts"] == {"CyclicHB": 14, "CyclicCF": 1}
    assert new["patterns"] == old["patterns"]
