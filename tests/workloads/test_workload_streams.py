"""Workloads: their op streams, options, checkers, and end-to-end runs
against the real in-memory store (valid when it behaves, invalid when it
serves stale reads)."""

from __future__ import annotations

import pytest

import workloads
from checkers import registry
from checkers.history import HistoryWriter, load_history, validate
from core.generator import bind, clients, limit, simulate
from harness.workers import Runner
from workloads.memory import MemoryStore, memory_client_factory

ALL = ["register", "multi-register", "set", "counter", "causal-register"]
TXN = ["bank", "list-append", "rw-register"]  # their streams: tests/workloads/test_txn_workloads.py


def test_get_lists_names_and_rejects_unknown():
    assert workloads.names() == sorted(ALL + TXN)
    with pytest.raises(workloads.UnknownWorkload) as e:
        workloads.get("regsiter")
    assert ("available: bank, causal-register, counter, list-append, multi-register, register, "
            "rw-register, set") in str(e.value)


@pytest.mark.parametrize("name", ALL)
def test_stream_uses_only_the_client_fs_and_unique_written_values(name):
    w = workloads.get(name)
    ops = simulate(clients(limit(3000, w.generator({}))), concurrency=5, seed=3)
    assert len(ops) == 3000
    assert {o["f"] for o in ops} == set(w.client_fs)
    written = {}
    for o in ops:
        if o["f"] in ("write", "cas") or (o["f"] == "add" and name == "set"):
            v = o["value"][1] if o["f"] == "cas" else o["value"]
            assert (o["key"], v) not in written, o
            written[(o["key"], v)] = o
    assert all(o["key"] is not None for o in ops)
    names = [c for c, _ in w.checkers({})]
    assert names and all(c in registry.names() for c in names)


def test_register_cas_compares_against_recent_values_and_keys_rotate():
    w = workloads.get("register")
    ops = simulate(clients(limit(600, w.generator({"ops_per_key": 100}))), concurrency=2, seed=1)
    assert len({o["key"] for o in ops}) == 6
    writes = {o["value"] for o in ops if o["f"] == "write"} | \
        {o["value"][1] for o in ops if o["f"] == "cas"}
    cas = [o for o in ops if o["f"] == "cas"]
    assert cas and all(c["value"][0] in writes for c in cas)
    assert [c for c, _ in workloads.get("multi-register").checkers({})] == ["linearizable"]
    assert workloads.get("multi-register").checkers({})[0][1]["model"] == "kv"
    assert workloads.get("register").checkers({})[0][1]["model"] == "cas-register"


def test_set_and_counter_have_final_reads_by_every_client():
    for name in ("set", "counter"):
        fg = workloads.get(name).final_generator({})
        ops = simulate(fg, concurrency=4, seed=1)
        assert [o["f"] for o in ops] == ["read"] * 4 and {o["thread"] for o in ops} == {0, 1, 2, 3}


@pytest.mark.parametrize("opts,msg", [
    ({"read_fraction": 1.5}, "read_fraction: 1.5 is not valid"),
    ({"bogus": 1}, "bogus: unknown option for workload register (allowed: "),
    ({"read_fraction": 0.8, "cas_fraction": 0.5}, "read_fraction + cas_fraction"),
])
def test_options_are_validated(opts, msg):
    with pytest.raises(workloads.OptionError) as e:
        workloads.get("register").generator(opts)
    assert msg in str(e.value)


def _run(tmp_path, name, stale=0.0, n=1500, seed=2):
    w = workloads.get(name)
    path = tmp_path / f"{name}-{stale}.jsonl"
    wr = HistoryWriter(path)
    g = clients(limit(n, w.generator({})))
    bind(g, seed)
    r = Runner(g, memory_client_factory(MemoryStore(), stale_probability=stale), None, wr, 4, 1.0)
    r.run()
    fg = w.final_generator({})
    if fg is not None:
        bind(fg, seed)
        r.run(generator=fg)
    r.close()
    wr.close()
    h = load_history(str(path))
    assert validate(h) == []
    return [registry.run(c, h, **o) for c, o in w.checkers({})]


@pytest.mark.parametrize("name", ALL)
def test_a_correct_store_is_valid(tmp_path, name):
    for res in _run(tmp_path, name):
        assert res.valid is True, res.summary


@pytest.mark.parametrize("name", ["register", "multi-register", "counter", "causal-register"])
def test_a_store_serving_stale_reads_is_caught(tmp_path, name):
    res = _run(tmp_path, name, stale=0.2, n=2000)
    assert any(r.valid is False for r in res), [r.summary for r in res]


def test_set_with_stale_reads_reports_stale_elements(tmp_path):
    (res,) = _run(tmp_path, "set", stale=0.3, n=2000)
    ev = res.evidence
    assert ev["stale"] or ev["lost"] or ev["recovered"]
