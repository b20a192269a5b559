"""The linearizability checker's split into keys (P-compositional): which ops
form a key, the order keys are listed in."""

from __future__ import annotations

import numpy as np

from checkers.history import History, Op
from checkers.linear import check_linearizable
from checkers.linear.partition import split_rows


def test_partly_keyed_history_is_checked_per_key() -> None:
    # key "b" reads 1, which only key "a" had: invalid, though one op has no key
    events = [(0, "invoke", "write", "a", 1), (0, "ok", "write", "a", 1),
              (1, "invoke", "read", "b", None), (1, "ok", "read", "b", 1),
              (2, "invoke", "write", None, 5), (2, "ok", "write", None, 5)]
    h = History(ops=[Op(index=i, time=i, process=p, type=t, f=f, key=k, value=v)
                     for i, (p, t, f, k, v) in enumerate(events)])
    r = check_linearizable(h, model="cas-register")
    assert r.valid is False and r.evidence["keys_checked"] == 3
    assert [k["key"] for k in r.evidence["keys"]] == ["b", "a", None]


def test_split_rows_keeps_keys_in_order_of_first_appearance() -> None:
    got = [(k, rows.tolist()) for k, rows in split_rows(np.array([1, 1, 0, 1, 2, 0]))]
    assert got == [(1, [0, 1, 3]), (0, [2, 5]), (2, [4])]
    assert split_rows(np.zeros(0, np.int64)) == []
