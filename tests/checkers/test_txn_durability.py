"""Acknowledged writes nobody could read afterwards (checkers/txn/durability.py):
unknown when a run's final reads (client txns after the last nemesis heal) all
failed for a written key, lost-append when a read that began after an append
completed misses it and nobody ever saw it — and no change for histories
without a final phase."""

from __future__ import annotations

import pytest

import checkers.txn as txn
from reference_txn import reference_allows, verify_instance
from txn_histories import to_history

GONE = 'database "splitbrain" does not exist'


def _txn(p, typ, invoke, done=None, error=None):
    out = [{"process": p, "type": "invoke", "f": "txn", "value": invoke},
           {"process": p, "type": typ, "f": "txn", "value": done if done is not None else invoke}]
    if error is not None:
        out[1]["error"] = error
    return out


def _heal():
    return [{"process": "nemesis", "type": "invoke", "f": "heal", "value": None},
            {"process": "nemesis", "type": "info", "f": "heal", "value": None}]


def _history(workload: str, final: str | None, final_read):
    """Two acknowledged writes to x, one to y; then (``final``: "heal" adds the
    heal op first) a read of x and y ending ``final_read``: ("ok", x, y) or
    ("fail", error)."""
    w = "append" if workload == "list-append" else "w"
    ops = _txn(0, "ok", [[w, "x", 1], [w, "y", 1]]) + _txn(1, "ok", [[w, "x", 2]])
    if final == "heal":
        ops += _heal()
    inv = [["r", "x", None], ["r", "y", None]]
    if final_read[0] == "ok":
        ops += _txn(2, "ok", inv, [["r", "x", final_read[1]], ["r", "y", final_read[2]]])
    else:
        ops += _txn(2, "fail", inv, error=final_read[1])
    return to_history(ops)


def _check(workload: str, h, models=("strict-serializable",)):
    fn = txn.check_list_append if workload == "list-append" else txn.check_rw_register
    return fn(h, consistency_models=list(models))


FULL = {"list-append": ([1, 2], [1]), "rw-register": (2, 1)}


@pytest.mark.parametrize("workload", ["list-append", "rw-register"])
def test_final_reads_that_see_everything_keep_it_valid(workload: str) -> None:
    res = _check(workload, _history(workload, "heal", ("ok", *FULL[workload])))
    assert res.valid is True, res.summary
    assert "unknown_reasons" not in res.evidence


@pytest.mark.parametrize("workload", ["list-append", "rw-register"])
def test_failed_final_reads_make_it_unknown(workload: str) -> None:
    h = _history(workload, "heal", ("fail", GONE))
    res = _check(workload, h)
    assert res.valid == "unknown", res.summary
    what = "appends" if workload == "list-append" else "writes"
    failed_op = h.ops[-1].index
    assert (f"3 acknowledged {what} on 2 keys were never read after they committed: the final "
            f"reads failed (e.g. op {failed_op}: {GONE})") in res.summary
    assert len(res.evidence["unread_writes"]) == 3


@pytest.mark.parametrize("workload", ["list-append", "rw-register"])
def test_a_final_read_that_never_answered_is_named(workload: str) -> None:
    w = "append" if workload == "list-append" else "w"
    ops = _txn(0, "ok", [[w, "x", 1]]) + _heal()
    ops.append({"process": 1, "type": "invoke", "f": "txn", "value": [["r", "x", None]]})
    res = _check(workload, to_history(ops))
    assert res.valid == "unknown"
    assert "the final reads failed (e.g. op 4: no reply)" in res.summary


@pytest.mark.parametrize("workload", ["list-append", "rw-register"])
def test_without_a_final_phase_the_verdict_is_as_before(workload: str) -> None:
    # a Jepsen/Elle history: no heal op, so no final reads were promised
    res = _check(workload, _history(workload, None, ("fail", GONE)))
    assert res.valid is True, res.summary


def test_a_key_the_final_reads_missed_is_unknown_too() -> None:
    ops = (_txn(0, "ok", [["append", "x", 1], ["append", "z", 1]]) + _heal()
           + _txn(1, "ok", [["r", "x", None]], [["r", "x", [1]]]))
    res = _check("list-append", to_history(ops))
    assert res.valid == "unknown"
    assert "1 acknowledged appends on 1 key were never read after they committed: no final " \
           "read covered them (e.g. key 'z')" in res.summary


def _lost(final: bool = True):
    """x gets 1, then 2 and 3 (acknowledged, never read); a later read shows [1]:
    2 and 3 vanished."""
    ops = (_txn(0, "ok", [["append", "x", 1]]) + _txn(1, "ok", [["append", "x", 2]])
           + _txn(2, "ok", [["append", "x", 3]]) + (_heal() if final else [])
           + _txn(3, "ok", [["r", "x", None]], [["r", "x", [1]]]))
    return to_history(ops)


def test_an_acknowledged_append_missing_from_a_later_read_is_lost() -> None:
    h = _lost()
    res = _check("list-append", h)
    assert res.valid is False
    # the inference's rw edge from the read to an unseen append closes a real-time
    # cycle too; lost-append names the same fact the way a person asks it
    assert res.evidence["anomaly_types"] == ["G-single-item-realtime", "lost-append"]
    assert res.evidence["anomaly_counts"]["lost-append"] == 2
    inst = res.evidence["anomalies"]["lost-append"][1]
    assert (inst["op"], inst["reader"], inst["key"], inst["value"], inst["read"]) == \
        (5, 9, "x", 3, [1])
    assert "must see its append" in inst["explanation"]
    verify_instance(h, "list-append", "lost-append", inst)
    assert not reference_allows(h, "list-append", "strict-serializable")
    # serializable may order the read before the append: allowed, and said so
    res = _check("list-append", h, models=("serializable",))
    assert res.valid is True
    assert "lost-append" in res.summary and "allowed" in res.summary
    assert reference_allows(h, "list-append", "serializable")


def test_strong_snapshot_isolation_rules_lost_appends_out_snapshot_isolation_does_not() -> None:
    h = _lost(final=False)
    assert _check("list-append", h, models=("strong-snapshot-isolation",)).valid is False
    assert _check("list-append", h, models=("snapshot-isolation",)).valid is True


def test_a_read_that_began_before_the_append_completed_loses_nothing() -> None:
    # concurrent: the read may be serialized before the append
    ops = [{"process": 0, "type": "invoke", "f": "txn", "value": [["append", "x", 1]]},
           {"process": 1, "type": "invoke", "f": "txn", "value": [["r", "x", None]]},
           {"process": 0, "type": "ok", "f": "txn", "value": [["append", "x", 1]]},
           {"process": 1, "type": "ok", "f": "txn", "value": [["r", "x", []]]}]
    res = _check("list-append", to_history(ops))
    assert res.valid is True, res.summary


def _bank(final_read_ok: bool | None):
    ops = [{"process": 0, "type": "invoke", "f": "read", "value": None},
           {"process": 0, "type": "ok", "f": "read", "value": {"0": 5, "1": 5}},
           {"process": 1, "type": "invoke", "f": "transfer", "value": {"from": 0, "to": 1,
                                                                       "amount": 2}},
           {"process": 1, "type": "ok", "f": "transfer", "value": {"from": 0, "to": 1,
                                                                   "amount": 2}}]
    if final_read_ok is not None:
        ops += _heal() + [{"process": 0, "type": "invoke", "f": "read", "value": None}]
        ops.append({"process": 0, "type": "ok", "f": "read", "value": {"0": 3, "1": 7}}
                   if final_read_ok else
                   {"process": 0, "type": "fail", "f": "read", "value": None, "error": GONE})
    return to_history(ops)


def test_bank_final_reads_all_failing_make_it_unknown() -> None:
    from checkers.txn.bank import check_bank
    res = check_bank(_bank(False), total=10)
    assert res.valid == "unknown"
    assert res.summary == f"none of the 1 final reads after healing succeeded (e.g. op 7: {GONE})"
    assert check_bank(_bank(True), total=10).valid is True
    assert check_bank(_bank(None), total=10).valid is True    # no final phase: as before


def test_an_append_some_shorter_read_saw_is_not_lost() -> None:
    # two incompatible reads after three appends: each shows an append the other lacks,
    # which is incompatible-order — not lost-append, since somebody saw each append
    ops = (_txn(0, "ok", [["append", "x", 1]]) + _txn(1, "ok", [["append", "x", 2]])
           + _txn(2, "ok", [["append", "x", 3]])
           + _txn(3, "ok", [["r", "x", None]], [["r", "x", [1, 2]]])
           + _txn(4, "ok", [["r", "x", None]], [["r", "x", [1, 3]]]))
    res = _check("list-append", to_history(ops))
    assert res.valid is False
    assert "incompatible-order" in res.evidence["anomaly_types"]
    assert "lost-append" not in res.evidence["anomaly_types"], res.summary
