"""One named test per bad pattern of Bouajjani et al. (POPL 2017) and per
session guarantee, each on the smallest history that shows it, with the
expected level verdicts (also confirmed by the brute-force reference)."""

from __future__ import annotations

import pytest

from causal_util import hist, verify_chain
from checkers.causal import check_causal
from checkers.registry import run
from reference_causal import reference_levels, reference_sessions

ALL_BAD = {"CC": False, "CM": False, "CCv": False}
GUARANTEES = ("read-your-writes", "monotonic-reads", "monotonic-writes", "writes-follow-reads")


def judge(h, expected: dict, pattern: str | None):
    res = run("causal", h)
    ev = res.evidence
    assert ev["satisfies"] == expected
    assert reference_levels(h) == expected
    names = {p["name"] for p in ev["patterns"]}
    if pattern:
        assert pattern in names, names
        for p in ev["patterns"]:
            verify_chain(h, p)
            assert p["explanation"]
    else:
        assert not names
    return ev


def test_cyclic_co():
    # each session reads the other's later write
    h = hist((0, "r", "x", 1), (1, "r", "y", 1), (0, "w", "y", 1), (1, "w", "x", 1))
    ev = judge(h, ALL_BAD, "CyclicCO")
    (p,) = ev["patterns"]
    assert [e["rel"] for e in p["chain"]].count("wr") == 2
    assert {e["from"] for e in p["chain"]} == {0, 2, 4, 6}
    assert all(ev["sessions"][g]["valid"] == "unknown" for g in GUARANTEES)


def test_write_co_init_read():
    h = hist((0, "w", "x", 1), (0, "r", "x", None))
    ev = judge(h, ALL_BAD, "WriteCOInitRead")
    p = next(p for p in ev["patterns"] if p["name"] == "WriteCOInitRead")
    assert p["chain"] == [{"from": 0, "to": 2, "rel": "so"}]
    assert ev["sessions"]["read-your-writes"]["valid"] is False


def test_thin_air_read():
    h = hist((0, "r", "x", 7))
    ev = judge(h, ALL_BAD, "ThinAirRead")
    assert ev["patterns"][0]["ops"][0]["index"] == 0


def test_write_co_read():
    h = hist((0, "w", "x", 1), (0, "w", "x", 2), (1, "r", "x", 2), (1, "r", "x", 1))
    ev = judge(h, ALL_BAD, "WriteCORead")
    p = next(p for p in ev["patterns"] if p["name"] == "WriteCORead")
    assert {(e["from"], e["to"], e["rel"]) for e in p["chain"]} == {
        (0, 2, "so"), (2, 4, "wr"), (4, 6, "so"), (0, 6, "wr")}


def test_write_hb_init_read_only_breaks_cm():
    # p1 writes x:=2, reads z=init, then learns z:=1 (through y) and reads
    # its own x=2 although x:=1 came after z:=1: p1's view must put
    # z:=1 < x:=1 < x:=2 < read z=init.  CC and CCv hold.
    h = hist((0, "w", "z", 1), (0, "w", "x", 1), (0, "w", "y", 1),
             (1, "w", "x", 2), (1, "r", "z", None), (1, "r", "y", 1), (1, "r", "x", 2))
    ev = judge(h, {"CC": True, "CM": False, "CCv": True}, "WriteHBInitRead")
    p = next(p for p in ev["patterns"] if p["name"] == "WriteHBInitRead")
    assert p["levels"] == ["CM"]
    assert "hb" in {e["rel"] for e in p["chain"]}
    assert p["chain"][0]["from"] == 0 and p["chain"][-1]["to"] == 8


def test_cyclic_hb():
    # p2 sees x=1, then x=2, then x=1 again: no single order for its view
    h = hist((0, "w", "x", 1), (1, "w", "x", 2),
             (2, "r", "x", 1), (2, "r", "x", 2), (2, "r", "x", 1))
    ev = judge(h, {"CC": True, "CM": False, "CCv": False}, "CyclicHB")
    p = next(p for p in ev["patterns"] if p["name"] == "CyclicHB")
    chain = p["chain"]
    assert chain[0]["from"] == chain[-1]["to"]
    assert ev["sessions"]["monotonic-reads"]["valid"] is True  # concurrent writes: no order known


def test_cyclic_cf_only_breaks_ccv():
    # two readers see two concurrent writes in opposite orders
    h = hist((0, "w", "x", 1), (1, "w", "x", 2),
             (2, "r", "x", 1), (2, "r", "x", 2), (3, "r", "x", 2), (3, "r", "x", 1))
    ev = judge(h, {"CC": True, "CM": True, "CCv": False}, "CyclicCF")
    p = next(p for p in ev["patterns"] if p["name"] == "CyclicCF")
    rels = [e["rel"] for e in p["chain"]]
    assert rels.count("cf") == 2
    assert p["chain"][0]["from"] == p["chain"][-1]["to"]


def test_causal_history_passes_every_level():
    h = hist((0, "w", "x", 1), (1, "r", "x", 1), (1, "w", "y", 1), (2, "r", "y", 1),
             (2, "r", "x", 1), (0, "w", "x", 2), (2, "r", "x", 2))
    res = run("causal", h)
    assert res.valid is True
    assert res.evidence["satisfies"] == {"CC": True, "CM": True, "CCv": True}
    assert all(res.evidence["sessions"][g]["valid"] is True for g in GUARANTEES)


@pytest.mark.parametrize("guarantee,steps,others", [
    ("read-your-writes", [(0, "w", "x", 1), (0, "r", "x", None)],
     {"writes-follow-reads", "monotonic-reads", "monotonic-writes"}),
    ("monotonic-reads", [(0, "w", "x", 1), (1, "r", "x", 1), (1, "r", "x", None)],
     {"writes-follow-reads", "monotonic-writes", "read-your-writes"}),
    ("monotonic-writes", [(0, "w", "x", 1), (0, "w", "y", 1), (1, "r", "y", 1), (1, "r", "x", None)],
     {"writes-follow-reads", "monotonic-reads", "read-your-writes"}),
    ("writes-follow-reads", [(0, "w", "x", 1), (1, "r", "x", 1), (1, "w", "y", 1),
                             (2, "r", "y", 1), (2, "r", "x", None)],
     {"monotonic-writes", "monotonic-reads", "read-your-writes"}),
])
def test_session_guarantee(guarantee, steps, others):
    h = hist(*steps)
    ev = check_causal(h).evidence
    assert reference_sessions(h)[guarantee] is False
    s = ev["sessions"][guarantee]
    assert s["valid"] is False and s["violations"]
    for v in s["violations"]:
        verify_chain(h, v)
        assert v["explanation"]
    for g in others or ():
        assert ev["sessions"][g]["valid"] is True, g
        assert reference_sessions(h)[g] is True
    assert ev["satisfies"]["CC"] is False   # every guarantee is implied by CC


def test_writes_follow_reads_through_a_chain():
    h = hist((0, "w", "x", 1), (0, "w", "x", 2), (1, "r", "x", 2), (1, "w", "x", 3),
             (2, "r", "x", 3), (2, "w", "y", 1), (0, "r", "y", 1), (0, "r", "x", 2))
    # process 0 wrote x:=1, x:=2 and then sees x=2 although it learnt (via y)
    # of x:=3, which overwrote x:=2: WriteCORead, and monotonic-writes fails
    ev = check_causal(h).evidence
    assert ev["satisfies"]["CC"] is False
    mw = ev["sessions"]["monotonic-writes"]
    assert mw["valid"] is True  # x:=3 is not followed by a write in its session
    wfr = ev["sessions"]["writes-follow-reads"]
    assert wfr["valid"] is False
    for v in wfr["violations"]:
        verify_chain(h, v)


def test_levels_and_exit_codes_follow_asked_level():
    h = hist((0, "w", "x", 1), (1, "w", "x", 2),
             (2, "r", "x", 1), (2, "r", "x", 2), (3, "r", "x", 2), (3, "r", "x", 1))
    assert check_causal(h, level="CC").valid is True
    assert check_causal(h, level="CM").valid is True
    assert check_causal(h, level="CCv").valid is False
    assert check_causal(h).valid is False  # default CCv
    with pytest.raises(ValueError):
        check_causal(h, level="SC")
