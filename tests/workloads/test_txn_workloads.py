"""The list-append, rw-register and bank op streams: shapes, unique values per key, key
retirement, and option errors that name the option."""

import random
from collections import Counter

import pytest

import workloads
from workloads.txn import _TxnOps


@pytest.mark.parametrize("name,write", [("list-append", "append"), ("rw-register", "w")])
def test_txn_streams_write_unique_values_per_key_and_retire_keys(name, write):
    w = workloads.get(name)
    assert w.client_fs == ("txn",)
    ops = _TxnOps(write, key_count=3, max_writes=5, min_len=1, max_len=4, read_fraction=0.4)
    rng = random.Random(3)
    seen: Counter = Counter()
    keys = set()
    for _ in range(500):
        op = ops(rng)
        assert op["f"] == "txn" and 1 <= len(op["value"]) <= 4
        for kind, k, v in op["value"]:
            keys.add(k)
            if kind == "r":
                assert v is None
            else:
                assert kind == write
                seen[(k, v)] += 1
                assert 1 <= v <= 5
    assert max(seen.values()) == 1, "a value was written twice to one key"
    assert len(keys) > 20, "keys never retired"
    assert len(ops.active) == 3


def test_txn_workload_options_and_checkers():
    w = workloads.get("list-append")
    assert w.checkers({}) == [("list-append", {})]
    assert w.checkers({"consistency_models": ["serializable"]}) == \
        [("list-append", {"consistency_models": ["serializable"]})]
    with pytest.raises(workloads.OptionError, match="consistency_models"):
        w.validate_options({"consistency_models": "serializable"})
    with pytest.raises(workloads.OptionError, match="min_txn_length"):
        w.generator({"min_txn_length": 5, "max_txn_length": 2})
    with pytest.raises(workloads.OptionError, match="unknown option"):
        w.validate_options({"keys": 3})


def test_bank_stream_and_checker_options():
    w = workloads.get("bank")
    g = w.generator({"accounts": 3, "max_transfer": 4})
    rng = random.Random(1)
    from workloads.bank import _BankOps
    ops = _BankOps(3, 4, 0.5)
    kinds = Counter()
    for _ in range(300):
        op = ops(rng)
        kinds[op["f"]] += 1
        if op["f"] == "transfer":
            v = op["value"]
            assert v["from"] != v["to"] and {v["from"], v["to"]} <= {0, 1, 2}
            assert 1 <= v["amount"] <= 4
    assert kinds["read"] and kinds["transfer"]
    assert g is not None
    assert w.checkers({"accounts": 3, "total": 30}) == \
        [("bank", {"total": 30, "accounts": [0, 1, 2], "negative_balances": False})]
    with pytest.raises(workloads.OptionError, match="accounts"):
        w.validate_options({"accounts": 1})
