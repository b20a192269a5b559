"""Named textbook cases, Knossos' histories with known verdicts, budgets,
evidence shape, user models and per-key partitioning."""

from __future__ import annotations

from pathlib import Path
import glob
import json
import os
import time
from typing import Any

import pytest

from checkers import registry
from checkers.history import History, Op, load_history
from checkers.linear import PyModel, check_linearizable, simulate_register_history
from checkers.linear.models import ModelError

KNOSSOS = str(Path(__file__).resolve().parents[1] / "data" / "knossos")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def hist(*events: tuple) -> History:
    """Events as (process, type, f, value[, key])."""
    ops = []
    for i, e in enumerate(events):
        p, t, f, v = e[:4]
        ops.append(Op(index=i, time=i * 100, process=p, type=t, f=f, value=v,
                      key=e[4] if len(e) > 4 else None))
    return History(ops=ops)


def check(h: History, model: str = "cas-register", **kw: Any):
    return check_linearizable(h, model=model, **kw)


# ------------------------------------------------------------------ textbook cases

def test_stale_read_after_write_completed() -> None:
    h = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
             (1, "invoke", "read", None), (1, "ok", "read", 0))
    r = check(h, init=0)
    assert r.valid is False
    f = r.evidence["keys"][0]["failure"]
    assert f["op"]["f"] == "read" and f["op"]["result"] == 0
    assert f["states_before"] == ["1"]
    assert [o["f"] for o in f["prefix"]] == ["write"]
    # with the default nil initial value a nil read after the write is stale too
    h2 = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
              (1, "invoke", "read", None), (1, "ok", "read", None))
    assert check(h2).valid is False
    # the same read concurrent with the write may see either value
    h3 = hist((0, "invoke", "write", 1), (1, "invoke", "read", None),
              (0, "ok", "write", 1), (1, "ok", "read", 0))
    assert check(h3, init=0).valid is True


def test_lost_write() -> None:
    h = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
             (1, "invoke", "write", 2), (1, "ok", "write", 2),
             (2, "invoke", "read", None), (2, "ok", "read", 1))
    r = check(h)
    assert r.valid is False
    assert r.evidence["keys"][0]["failure"]["op"]["index"] == 4


def test_double_cas_success() -> None:
    h = hist((0, "invoke", "cas", [0, 1]), (1, "invoke", "cas", [0, 2]),
             (0, "ok", "cas", [0, 1]), (1, "ok", "cas", [0, 2]))
    r = check(h, init=0)
    assert r.valid is False
    assert "cas" in r.evidence["keys"][0]["failure"]["expected"]
    # one of them failing is fine
    h2 = hist((0, "invoke", "cas", [0, 1]), (1, "invoke", "cas", [0, 2]),
              (0, "ok", "cas", [0, 1]), (1, "fail", "cas", [0, 2]))
    assert check(h2, init=0).valid is True


def test_read_of_value_never_written() -> None:
    h = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
             (1, "invoke", "read", None), (1, "ok", "read", 7))
    r = check(h)
    assert r.valid is False
    assert r.evidence["keys"][0]["failure"]["expected"] == "read 1"


def test_info_write_may_appear_later() -> None:
    h = hist((0, "invoke", "write", 1), (0, "info", "write", 1),
             (1, "invoke", "read", None), (1, "ok", "read", None),
             (2, "invoke", "read", None), (2, "ok", "read", 1),
             (1, "invoke", "read", None), (1, "ok", "read", 1))
    assert check(h).valid is True
    # ... but not before it was invoked
    h2 = hist((1, "invoke", "read", None), (1, "ok", "read", 1),
              (0, "invoke", "write", 1), (0, "info", "write", 1))
    assert check(h2).valid is False
    # ... and once it appeared it cannot disappear
    h3 = hist((0, "invoke", "write", 1), (0, "info", "write", 1),
              (2, "invoke", "read", None), (2, "ok", "read", 1),
              (1, "invoke", "read", None), (1, "ok", "read", None))
    assert check(h3).valid is False


def test_invoke_without_completion_is_info() -> None:
    h = hist((0, "invoke", "write", 3), (1, "invoke", "read", None), (1, "ok", "read", 3))
    assert check(h).valid is True


def test_failed_write_must_not_appear() -> None:
    h = hist((0, "invoke", "write", 1), (0, "fail", "write", 1),
             (1, "invoke", "read", None), (1, "ok", "read", 1))
    assert check(h).valid is False


def test_cas_fail_two_interpretations() -> None:
    # the register holds 0 throughout; a failed cas [0 1] is only inconsistent if
    # the failure is taken as an observation that the value was not 0
    h = hist((0, "invoke", "write", 0), (0, "ok", "write", 0),
             (1, "invoke", "cas", [0, 1]), (1, "fail", "cas", [0, 1]),
             (0, "invoke", "read", None), (0, "ok", "read", 0))
    assert check(h).valid is True
    r = check(h, cas_fail_observes=True)
    assert r.valid is False
    assert r.evidence["keys"][0]["failure"]["op"]["type"] == "fail"
    # a failed cas concurrent with a write of another value is consistent either way
    h2 = hist((0, "invoke", "write", 0), (0, "ok", "write", 0),
              (1, "invoke", "cas", [0, 1]), (2, "invoke", "write", 5),
              (2, "ok", "write", 5), (1, "fail", "cas", [0, 1]))
    assert check(h2, cas_fail_observes=True).valid is True


# ------------------------------------------------------------------ other models, named

def test_mutex_double_acquire() -> None:
    h = hist((0, "invoke", "acquire", None), (0, "ok", "acquire", None),
             (1, "invoke", "acquire", None), (1, "ok", "acquire", None))
    assert check(h, "mutex").valid is False
    h2 = hist((0, "invoke", "acquire", None), (0, "ok", "acquire", None),
              (0, "invoke", "release", None), (1, "invoke", "acquire", None),
              (1, "ok", "acquire", None), (0, "ok", "release", None))
    assert check(h2, "mutex").valid is True


def test_queue_order() -> None:
    h = hist((0, "invoke", "enqueue", 1), (0, "ok", "enqueue", 1),
             (0, "invoke", "enqueue", 2), (0, "ok", "enqueue", 2),
             (1, "invoke", "dequeue", None), (1, "ok", "dequeue", 2))
    r = check(h, "fifo-queue")
    assert r.valid is False
    assert r.evidence["keys"][0]["failure"]["states_before"] == ["[1, 2]"]


def test_append_kv_and_counter_and_set() -> None:
    h = hist((0, "invoke", "append", "x", "k"), (0, "ok", "append", "x", "k"),
             (0, "invoke", "append", "y", "k"), (0, "ok", "append", "y", "k"),
             (1, "invoke", "get", None, "k"), (1, "ok", "get", "xy", "k"),
             (1, "invoke", "get", None, "j"), (1, "ok", "get", "", "j"))
    assert check(h, "append-kv").valid is True
    h.ops[5] = Op(index=5, time=500, process=1, type="ok", f="get", value="yx", key="k")
    h._columnar = None
    r = check(h, "append-kv")
    assert r.valid is False and r.evidence["keys"][0]["key"] == "k"
    c = hist((0, "invoke", "add", 2), (0, "ok", "add", 2),
             (1, "invoke", "read", None), (1, "ok", "read", 1))
    assert check(c, "counter").valid is False
    s = hist((0, "invoke", "add", 1), (0, "ok", "add", 1), (0, "invoke", "add", 1),
             (0, "ok", "add", 1), (1, "invoke", "read", None), (1, "ok", "read", [1]))
    assert check(s, "set").valid is True


def test_unknown_operation_is_a_clear_error() -> None:
    h = hist((0, "invoke", "frobnicate", 1), (0, "ok", "frobnicate", 1))
    with pytest.raises(ModelError, match="no operation 'frobnicate'.*op index 0"):
        check(h)
    with pytest.raises(ModelError, match="unknown model 'nope'"):
        check(h, "nope")


# ------------------------------------------------------------------ Knossos' histories

def _knossos(kind: str) -> list[str]:
    return sorted(glob.glob(f"{KNOSSOS}/{kind}/*.edn"))




@pytest.mark.parametrize("path", _knossos("cas-register/good"), ids=os.path.basename)
def test_knossos_cas_register_good(path: str) -> None:
    r = check(load_history(path), init=0)
    assert r.valid is True, r.summary


@pytest.mark.parametrize("path", _knossos("cas-register/bad"), ids=os.path.basename)
def test_knossos_cas_register_bad(path: str) -> None:
    r = check(load_history(path), init=0)
    assert r.valid is False, r.summary


@pytest.mark.parametrize("name,init,process,result,index", [
    ("cas-failure", 0, 70, 0, 491),
    ("immediate-failure", 0, 1, 3, 3),
    ("rethink-fail-minimal", 0, 1, 3, 4),
    ("rethink-fail-minimal", None, 1, 3, 4),
])
def test_knossos_failing_op(name: str, init: Any, process: int, result: int, index: int) -> None:
    r = check(load_history(f"{KNOSSOS}/cas-register/bad/{name}.edn"), init=init)
    assert r.valid is False
    op = r.evidence["keys"][0]["failure"]["op"]
    assert (op["process"], op["f"], op["type"], op["result"], op["complete_index"]) == (
        process, "read", "ok", result, index)


def test_knossos_multi_register_and_mutex() -> None:
    r = check(load_history(f"{KNOSSOS}/multi-register/good/multi-register.edn"),
              "multi-register", init={"x": 0, "y": 0})
    assert r.valid is True
    assert r.evidence["final_state"] in ('{"x" 2, "y" 2}', '{"x" 2, "y" 0}')
    assert check(load_history(f"{KNOSSOS}/multi-register/good/multi-register.edn"),
                 "multi-register", init={"x": 0, "y": 1}).valid is False
    r = check(load_history(f"{KNOSSOS}/mutex/bad/etcd.edn"), "mutex")
    assert r.valid is False
    assert r.evidence["keys"][0]["failure"]["op"]["f"] == "acquire"


# ------------------------------------------------------------------ budgets: unknown, never valid

def _hard_history(n_writes: int = 40) -> History:
    """Many crashed writes pending together, then reads: every subset/order of the
    writes is a candidate, and a read of a value nobody wrote makes it invalid, so
    the search must exhaust an exponential space to say so."""
    ev: list[tuple] = []
    for i in range(n_writes):
        ev.append((i, "invoke", "write", i))
    for i in range(n_writes):
        ev.append((i, "info", "write", i))
    p = 1000
    for j in range(n_writes):
        ev += [(p, "invoke", "read", None), (p, "ok", "read", j)]
    ev += [(p, "invoke", "read", None), (p, "ok", "read", 999)]
    return hist(*ev)


def test_time_budget_gives_unknown() -> None:
    r = check(_hard_history(), time_limit=0.2)
    assert r.valid == "unknown", r.summary
    k = r.evidence["keys"][0]
    assert k["explored"]["budget_hit"] == "time"
    assert k["explored"]["configurations"] > 0
    assert r.summary.startswith("unknown")


def test_memory_budget_gives_unknown() -> None:
    r = check(_hard_history(), memory_limit=1, time_limit=60)
    assert r.valid == "unknown", r.summary
    assert r.evidence["keys"][0]["explored"]["budget_hit"] == "memory"


def test_budget_does_not_block_easy_verdicts() -> None:
    h = simulate_register_history(5, 300, processes=5, info_rate=0.02)
    assert check(h, time_limit=0.0).valid is True
    assert check(_hard_history(8), time_limit=30).valid is False


# ------------------------------------------------------------------ evidence shape & keys

def test_evidence_shape_per_key_failing_first() -> None:
    ev = [(0, "invoke", "write", 1, "a"), (0, "ok", "write", 1, "a"),
          (1, "invoke", "write", 2, "b"), (1, "ok", "write", 2, "b"),
          (2, "invoke", "read", None, "b"), (2, "ok", "read", 9, "b"),
          (3, "invoke", "read", None, "c"), (3, "ok", "read", None, "c")]
    r = check(hist(*ev), "kv")
    assert r.valid is False
    e = r.evidence
    json.dumps(e)
    assert e["model"] == "kv" and e["keys_checked"] == 3
    assert [k["key"] for k in e["keys"]] == ["b", "a", "c"]
    k = e["keys"][0]
    assert set(k) >= {"key", "valid", "ops", "elapsed_s", "explored", "failure"}
    f = k["failure"]
    assert set(f) >= {"op", "prefix", "states_before", "expected", "concurrent"}
    assert set(f["op"]) == {"index", "complete_index", "process", "f", "key", "value",
                            "result", "type", "invoke_time", "complete_time"}
    assert f["op"] == {"index": 4, "complete_index": 5, "process": 2, "f": "read", "key": "b",
                       "value": None, "result": 9, "type": "ok", "invoke_time": 400,
                       "complete_time": 500}
    assert "key \"b\"" in r.summary


class _Recorder:
    """A checkers.progress.Progress that remembers what it was told."""

    def __init__(self) -> None:
        self.total, self.started, self.finished = None, [], {}

    def begin(self, total_keys: int) -> None:
        self.total = total_keys

    def start_key(self, key, total=None) -> None:
        self.started.append(key)

    def finish_key(self, key, verdict=True) -> None:
        assert key not in self.finished
        self.finished[key] = verdict


@pytest.mark.parametrize("parent_works", [False, True])
def test_pool_gives_same_result_in_same_order(monkeypatch, parent_works: bool) -> None:
    from checkers.linear import partition
    monkeypatch.setattr(partition, "POOL_AFTER_S", 0.0)
    monkeypatch.setattr(partition, "POOL_MIN_REMAINING_S", 0.0)
    monkeypatch.setattr(partition, "POOL_PARENT_WORKS", parent_works)
    h = simulate_register_history(11, 30_000, processes=10, keys=50, info_rate=0.01)
    # make three keys invalid: reads of a value never written
    todo = {3, 17, 40}
    for i, o in enumerate(h.ops):
        if o.type == "ok" and o.f == "read" and o.key in todo:
            h.ops[i] = Op(index=o.index, time=o.time, process=o.process, type="ok", f="read",
                          key=o.key, value=12345)
            todo.discard(o.key)
    h._columnar = None
    r1 = check(h, "kv", workers=1)
    if parent_works:
        # slow this process down (not the workers, which import search directly), so a
        # worker is ready while keys are left and the two really share them
        slow_run = partition.run_partition

        def run_partition(*a, **kw):
            time.sleep(0.2)
            return slow_run(*a, **kw)
        monkeypatch.setattr(partition, "run_partition", run_partition)
    rec = _Recorder()
    r2 = check(h, "kv", workers=2, progress=rec)
    assert r1.valid is False and r2.valid is False
    # every key started (here or in a worker) and finished once, with its verdict
    assert rec.total == 50 and sorted(rec.started) == sorted(rec.finished)
    assert len(rec.finished) == 50 and list(rec.finished.values()).count(False) == 3
    strip = lambda ks: [{k: v for k, v in d.items() if k != "elapsed_s"} for d in ks]  # noqa
    assert strip(r1.evidence["keys"]) == strip(r2.evidence["keys"])
    # workers=2: two workers, or one beside this process
    assert len(partition.last_pool_peaks_mib) == (1 if parent_works else 2)
    assert any(p > 0 for p in partition.last_pool_peaks_mib)  # workers did the checking
    assert [k["valid"] for k in r1.evidence["keys"][:3]] == [False] * 3


def test_registered_as_linearizable() -> None:
    assert "linearizable" in registry.names()
    h = hist((0, "invoke", "write", 1), (0, "ok", "write", 1))
    assert registry.run("linearizable", h, model="register", level="CC").valid is True


# ------------------------------------------------------------------ user-defined Python models

class Stack(PyModel):
    name = "stack"

    def init(self, init: Any) -> tuple:
        return tuple(init or ())

    def step(self, state: tuple, op) -> tuple[bool, tuple]:
        if op.f == "push":
            return True, state + (op.value,)
        if op.type != "ok":
            return True, state[:-1]
        if not state:
            return op.result is None, state
        return state[-1] == op.result, state[:-1]


def test_user_python_model() -> None:
    h = hist((0, "invoke", "push", 1), (0, "ok", "push", 1),
             (0, "invoke", "push", 2), (0, "ok", "push", 2),
             (1, "invoke", "pop", None), (1, "ok", "pop", 2))
    assert check_linearizable(h, model=Stack()).valid is True
    h.ops[5] = Op(index=5, time=500, process=1, type="ok", f="pop", value=1)
    h._columnar = None
    r = check_linearizable(h, model=Stack)
    assert r.valid is False
    assert r.evidence["keys"][0]["failure"]["states_before"] == ["(1, 2)"]


def test_example_custom_model_file() -> None:
    path = os.path.join(ROOT, "examples", "custom_model.py")
    from checkers.linear.pymodel import load_user_model
    m = load_user_model(path + ":MaxRegister")
    h = hist((0, "invoke", "write", 3), (0, "ok", "write", 3),
             (0, "invoke", "write", 1), (0, "ok", "write", 1),
             (1, "invoke", "read", None), (1, "ok", "read", 3))
    assert check_linearizable(h, model=m).valid is True
    h.ops[5] = Op(index=5, time=500, process=1, type="ok", f="read", value=1)
    h._columnar = None
    assert check_linearizable(h, model=path + ":MaxRegister").valid is False
