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


def test_keys_of_workers_that_die_are_checked_here(monkeypatch, tmp_path) -> None:
    # pool workers that take a batch and die (as an OOM-killed one would): their keys
    # are checked by this process, none is lost and the verdict does not change
    import os
    import sys
    import time

    from checkers.linear import partition, simulate_register_history
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    worker = tmp_path / "dying_worker"
    ipc = os.path.join(root, "checkers", "linear", "ipc.py")
    # loads ipc.py alone (not the numba package), so it is ready at once
    worker.write_text(f"#!{sys.executable}\nimport importlib.util, sys\n"
                      f"s = importlib.util.spec_from_file_location('ipc', {ipc!r})\n"
                      "ipc = importlib.util.module_from_spec(s)\ns.loader.exec_module(ipc)\n"
                      "ipc.send(sys.stdout.buffer, 'ready')\nipc.recv(sys.stdin.buffer)\n"
                      "sys.exit(1)\n")
    worker.chmod(0o755)
    h = simulate_register_history(5, 4000, processes=6, keys=20, info_rate=0.01)
    want = check_linearizable(h, model="kv", workers=1)
    monkeypatch.setattr(partition, "POOL_AFTER_S", 0.0)
    monkeypatch.setattr(partition, "POOL_MIN_REMAINING_S", 0.0)
    monkeypatch.setattr(sys, "executable", str(worker))
    slow_run, taken = partition.run_partition, []

    def run_partition(*a, **kw):  # slow this process down, so the workers get batches
        time.sleep(0.1)
        return slow_run(*a, **kw)
    monkeypatch.setattr(partition, "run_partition", run_partition)
    real_send = partition.send

    def send(stream, msg):
        taken.append(msg)
        real_send(stream, msg)
    monkeypatch.setattr(partition, "send", send)
    got = check_linearizable(h, model="kv", workers=3)
    assert taken, "no worker took a batch: nothing was tested"
    assert got.valid is want.valid is True
    assert got.evidence["keys_checked"] == 20 and got.evidence["ops"] == want.evidence["ops"]
