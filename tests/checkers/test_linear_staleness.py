"""Staleness of reads and the history's Δ (Δ-atomicity), and the bounded
staleness verdict (``max_staleness_s``)."""

from __future__ import annotations

import pytest

from checkers.history import History, Op
from checkers.linear import check_linearizable
from checkers.linear.models import ModelError
from checkers.linear.simulate import simulate_unique_register_history
from checkers.linear.staleness import RESOLUTION_NS


def hist(*events: tuple, dt: int = 100) -> History:
    """Events as (process, type, f, value[, key]); event i happens at i * dt ns."""
    return History(ops=[Op(index=i, time=i * dt, process=e[0], type=e[1], f=e[2], value=e[3],
                           key=e[4] if len(e) > 4 else None) for i, e in enumerate(events)])


@pytest.mark.parametrize("lag_ms", [3, 40, 250])
def test_delta_matches_an_injected_replica_lag(lag_ms: int) -> None:
    lag = lag_ms * 1_000_000
    # writes every ~0.5 ms (5 processes, 1 ms ops, 30 % writes): the simulator's
    # resolution — how far below the lag a read can still look fresh — is ~1 ms
    h = simulate_unique_register_history(3, 6000, processes=5, keys=2, info_rate=0.02,
                                         lag_ns=lag)
    r = check_linearizable(h, model="kv")
    assert r.valid is False
    st = r.evidence["staleness"]
    assert st["delta_known"] is True
    assert lag - 2_000_000 <= st["delta_s"] * 1e9 <= lag + RESOLUTION_NS
    # per read: never more than the lag, and most reads are stale by nearly all of it
    assert st["max_s"] * 1e9 <= lag and st["p50_s"] * 1e9 >= lag * 0.5 - 2_000_000
    assert st["stale_reads"] > st["reads"] // 2 and st["max_versions"] >= 1
    assert all(0 < p[1] <= lag / 1e9 for p in st["points"])
    assert "stale" in r.summary and f"{st['max_versions']} versions stale" in r.summary


def test_linearizable_history_has_delta_zero() -> None:
    h = simulate_unique_register_history(4, 3000, processes=5, keys=3, info_rate=0.05)
    r = check_linearizable(h, model="kv")
    assert r.valid is True
    st = r.evidence["staleness"]
    assert st["delta_s"] == 0 and st["stale_reads"] == 0 and st["max_s"] == 0
    assert st["reads"] > 0 and st["points"] == []


def test_staleness_of_one_read() -> None:
    # write 1, write 2, write 3 one after another; a read that began 700 ns after
    # write 2 completed returns 1: stale by 700 ns and 2 versions
    h = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
             (0, "invoke", "write", 2), (0, "ok", "write", 2),
             (0, "invoke", "write", 3), (0, "ok", "write", 3),
             (9, "invoke", "write", 4),
             (1, "invoke", "read", None), (1, "ok", "read", 1),
             (9, "ok", "write", 4))
    r = check_linearizable(h, model="register")
    st = r.evidence["staleness"]
    assert r.valid is False
    assert st["stale_reads"] == 1 and st["max_versions"] == 2
    assert st["max_s"] == pytest.approx(400e-9)      # read began at 700, write 2 ended at 300
    assert st["points"] == [[700, pytest.approx(400e-9), 2]]
    # moving the read's start back to before write 2 completed is enough
    assert st["delta_s"] == pytest.approx(400e-9 + 1e-9, abs=RESOLUTION_NS * 1e-9)
    assert "reads up to 4e-07 s / 2 versions stale" in r.summary


def test_read_from_the_future_has_no_delta() -> None:
    h = hist((1, "invoke", "read", None), (1, "ok", "read", 1),
             (0, "invoke", "write", 1), (0, "ok", "write", 1))
    r = check_linearizable(h, model="register", max_staleness_s=1000)
    st = r.evidence["staleness"]
    assert st["delta_known"] is True and st["delta_s"] is None
    assert r.valid is False and r.evidence["linearizable"] is False
    assert r.summary.startswith("bounded staleness does not hold: no Δ")


def test_bounded_staleness_verdicts() -> None:
    h = simulate_unique_register_history(5, 3000, processes=5, lag_ns=50_000_000)
    r = check_linearizable(h, model="cas-register", max_staleness_s=0.1)
    assert r.valid is True and r.evidence["linearizable"] is False
    assert r.summary.startswith("bounded staleness holds: Δ = 0.05")
    r = check_linearizable(h, model="cas-register", max_staleness_s=0.01)
    assert r.valid is False and r.summary.startswith("bounded staleness does not hold: Δ")
    ok = simulate_unique_register_history(5, 300, processes=5)
    assert check_linearizable(ok, model="cas-register", max_staleness_s=0).valid is True
    with pytest.raises(ModelError, match="max_staleness_s must be"):
        check_linearizable(ok, model="cas-register", max_staleness_s=-1)
    with pytest.raises(ModelError, match="max_staleness_s must be"):
        check_linearizable(ok, model="cas-register", max_staleness_s="2")


def test_bounded_staleness_is_unknown_where_it_cannot_be_measured() -> None:
    # values not unique, and not linearizable: no Δ measured, so no verdict
    h = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
             (0, "invoke", "write", 1), (0, "ok", "write", 1),
             (0, "invoke", "write", 2), (0, "ok", "write", 2),
             (1, "invoke", "read", None), (1, "ok", "read", 1))
    r = check_linearizable(h, model="register", max_staleness_s=10)
    assert r.valid == "unknown" and "not measured" in r.summary
    # untimed: no staleness at all
    u = History(ops=[Op(index=i, time=None, process=p, type=t, f=f, value=v) for i, (p, t, f, v)
                     in enumerate([(0, "invoke", "write", 1), (0, "ok", "write", 1),
                                   (0, "invoke", "write", 2), (0, "ok", "write", 2),
                                   (1, "invoke", "read", None), (1, "ok", "read", 1)])])
    r = check_linearizable(u, model="register", max_staleness_s=10)
    assert "staleness" not in r.evidence and r.valid == "unknown"


def test_stale_reads_are_placed_in_fault_windows() -> None:
    ev = [(0, "invoke", "write", 1), (0, "ok", "write", 1),
          ("nemesis", "invoke", "start-partition", None),
          ("nemesis", "info", "start-partition", {"topology": "isolate-primary"}),
          (0, "invoke", "write", 2), (0, "ok", "write", 2),
          (1, "invoke", "read", None), (1, "ok", "read", 1),
          ("nemesis", "invoke", "stop-partition", None),
          ("nemesis", "info", "stop-partition", None),
          (1, "invoke", "read", None), (1, "ok", "read", 2)]
    r = check_linearizable(hist(*ev), model="register")
    assert r.evidence["staleness"]["during"] == "all during partition isolate-primary"
    assert r.summary.endswith("reads up to 1e-07 s / 1 version stale, "
                              "all during partition isolate-primary")
    f = r.evidence["staleness"]["faults"]
    assert f["inside"] == {"reads": 1, "stale_reads": 1, "max_s": 1e-07, "p99_s": 1e-07}
    assert f["outside"] == {"reads": 1, "stale_reads": 0, "max_s": 0.0, "p99_s": 0.0}


def test_inside_outside_counts_the_reads_of_linearizable_keys_by_their_time() -> None:
    ev = [(0, "invoke", "write", 1), (0, "ok", "write", 1),
          (1, "invoke", "read", None), (1, "ok", "read", 1),
          ("nemesis", "invoke", "start-cpu-starve", None),
          ("nemesis", "info", "start-cpu-starve", {"nodes": ["n2"]}),
          (1, "invoke", "read", None), (1, "ok", "read", 1),
          (1, "invoke", "read", None), (1, "ok", "read", 1),
          ("nemesis", "invoke", "stop-cpu-starve", None),
          ("nemesis", "info", "stop-cpu-starve", None)]
    r = check_linearizable(hist(*ev), model="register")
    assert r.valid is True
    f = r.evidence["staleness"]["faults"]
    assert (f["inside"]["reads"], f["outside"]["reads"]) == (2, 1)
    assert f["inside"]["max_s"] == f["outside"]["max_s"] == 0.0


def test_delta_search_respects_the_time_budget() -> None:
    h = simulate_unique_register_history(6, 2000, processes=5, lag_ns=10_000_000)
    r = check_linearizable(h, model="cas-register", time_limit=0, max_staleness_s=1)
    st = r.evidence["staleness"]
    assert st["delta_known"] is False and "time budget" in st["delta_note"]
    assert st["stale_reads"] > 0          # per-read figures do not need the search
    assert r.valid == "unknown"           # the bound cannot be judged without Δ
