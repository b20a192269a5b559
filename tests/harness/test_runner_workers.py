"""Worker threads + recorder, against the real in-memory store."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from checkers import registry
from checkers.history import HistoryWriter, load_history, validate
from core.generator import (any_of, bind, clients, each_process, fn, limit, nemesis, once,
                               phases, rate, repeat, time_limit)
from harness.workers import Runner
from workloads import DefiniteFailure, get
from workloads.memory import MemoryStore, NoopClient, memory_client_factory


class RecNemesis:
    def __init__(self, slow: float = 0.0):
        self.applied: list[tuple] = []
        self.slow = slow

    def apply(self, f, value):
        if self.slow:
            time.sleep(self.slow)
        self.applied.append((f, value))
        if f == "boom":
            raise RuntimeError("nemesis failed")
        return {"applied": f, "nodes": ["n1"]}

    def active(self):
        return [f for f, _ in self.applied[-1:]]


def _run(tmp_path, gen, factory, *, nem=None, conc=4, timeout=1.0, seed=1, stop=None, **kw):
    bind(gen, seed)
    path = tmp_path / "history.jsonl"
    w = HistoryWriter(path)
    r = Runner(gen, factory, nem, w, conc, timeout, **kw)
    s = r.run(stop)
    w.close()
    return r, s, load_history(str(path))


def _well_formed(h):
    breaches = validate(h)
    assert breaches == [], [b.message for b in breaches[:3]]


def test_register_run_is_well_formed_and_linearizable(tmp_path):
    store = MemoryStore()
    r, s, h = _run(tmp_path, clients(limit(2000, get("register").generator({}))),
                   memory_client_factory(store), conc=5)
    _well_formed(h)
    assert s.stopped_by == "exhausted" and s.invoked == 2000 and s.ok + s.fail == 2000
    assert len(h) == 4000
    times = [op.time for op in h]
    assert times == sorted(times) and times[0] >= 0
    assert all(op.node in ("n1", "n2", "n3") for op in h)
    assert registry.run("linearizable", h, model="cas-register").valid is True


def test_stale_reads_make_the_history_invalid(tmp_path):
    store = MemoryStore()
    r, s, h = _run(tmp_path, clients(limit(2000, get("register").generator({}))),
                   memory_client_factory(store, stale_probability=0.1), conc=5)
    assert registry.run("linearizable", h, model="cas-register").valid is False


def test_completion_recorded_before_the_next_invocation(tmp_path):
    r, s, h = _run(tmp_path, clients(limit(3000, repeat({"f": "write", "key": "k", "value": 1}))),
                   lambda p, w: NoopClient(), conc=8)
    open_by_process = {}
    for op in h:
        if op.type == "invoke":
            assert op.process not in open_by_process
            open_by_process[op.process] = op
        else:
            assert open_by_process.pop(op.process).f == op.f


class Scripted:
    """A client whose outcomes follow a script: ok, raise, DefiniteFailure, info."""

    opened: list = []

    def __init__(self, process, worker):
        self.process = process
        self.node = f"n{worker}"
        self.closed = False
        Scripted.opened.append(process)

    def invoke(self, f, key, value, timeout):
        if f == "crash":
            raise ConnectionResetError("peer reset")
        if f == "refused":
            raise DefiniteFailure("connection refused")
        if f == "unknown":
            return "info", None, "timed out"
        return "ok", value, None

    def close(self):
        self.closed = True


def test_info_moves_the_worker_to_a_fresh_process_and_fail_does_not(tmp_path):
    Scripted.opened = []
    g = clients(each_process(limit(4, repeat_cycle(["ok", "crash", "refused", "unknown"]))))
    r, s, h = _run(tmp_path, g, Scripted, conc=2)
    _well_formed(h)
    by = [(op.process, op.type, op.f, op.error) for op in h if op.type != "invoke"]
    # worker 0: ok (p0), crash -> info (p0), refused -> fail (p2), unknown -> info (p2)
    w0 = [b for b in by if b[0] in (0, 2, 4)]
    assert [(p, t) for p, t, _, _ in w0] == [(0, "ok"), (0, "info"), (2, "fail"), (2, "info")]
    assert "ConnectionResetError: peer reset" in w0[1][3]
    assert "connection refused" in w0[2][3]
    assert s.processes == [4, 5]
    # a fresh client is opened for each fresh process
    assert sorted(Scripted.opened) == [0, 1, 2, 3]
    ex = registry.run("exceptions", h)
    assert ex.valid is True and {g["count"] for g in ex.evidence["groups"]} == {2}


def repeat_cycle(fs):
    i = [0]

    def make(rng):
        f = fs[i[0] % len(fs)]
        i[0] += 1
        return {"f": f, "value": i[0]}
    return fn(make)


def test_client_open_failure_is_a_fail(tmp_path):
    store = MemoryStore()
    store.down.add("n1")
    r, s, h = _run(tmp_path, clients(limit(20, repeat({"f": "write", "key": "k", "value": 1}))),
                   memory_client_factory(store, ["n1"]), conc=2)
    _well_formed(h)
    comps = [op for op in h if op.type != "invoke"]
    assert comps and all(op.type == "fail" and "could not open a client" in op.error
                         for op in comps)


def test_nemesis_ops_are_recorded_with_their_detail(tmp_path):
    nem = RecNemesis()
    g = any_of(clients(limit(50, repeat({"f": "read", "key": "r"}))),
               nemesis(phases(once({"f": "start-partition", "value": "halves"}),
                              once({"f": "boom"}), once({"f": "stop-partition"}))))
    r, s, h = _run(tmp_path, g, memory_client_factory(MemoryStore()), nem=nem, conc=2)
    _well_formed(h)
    nops = h.nemesis_ops()
    assert [(o.type, o.f) for o in nops] == [
        ("invoke", "start-partition"), ("info", "start-partition"),
        ("invoke", "boom"), ("info", "boom"), ("invoke", "stop-partition"),
        ("info", "stop-partition")]
    assert nops[1].value == {"applied": "start-partition", "nodes": ["n1"]}
    assert nops[3].error == "RuntimeError: nemesis failed"
    assert s.nemesis_ops == 3 and r.stats()["active_faults"] == ["stop-partition"]


class Hang:
    node = "n1"

    def __init__(self, release):
        self.release = release

    def invoke(self, f, key, value, timeout):
        if f == "hang":
            self.release.wait(30)
        return "ok", value, None

    def close(self):
        pass


def test_a_call_ignoring_its_timeout_is_abandoned_and_the_worker_replaced(tmp_path):
    release = threading.Event()
    g = clients(phases(once({"f": "hang"}), limit(10, repeat({"f": "write", "value": 3}))))
    t0 = time.monotonic()
    r, s, h = _run(tmp_path, g, lambda p, w: Hang(release), conc=1, timeout=0.2)
    release.set()
    assert time.monotonic() - t0 < 10
    _well_formed(h)
    first = [op for op in h if op.f == "hang"]
    assert first[1].type == "info" and "abandoned" in first[1].error
    assert s.abandoned == 1
    assert {op.process for op in h if op.f == "write"} == {1}  # fresh process
    assert r.join(5) == []


def test_stop_event_stops_promptly_and_outstanding_ops_complete_as_info(tmp_path):
    release = threading.Event()
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    g = clients(time_limit(60, repeat({"f": "hang"})))
    t0 = time.monotonic()
    r, s, h = _run(tmp_path, g, lambda p, w: Hang(release), conc=3, timeout=30, stop=stop)
    release.set()
    assert time.monotonic() - t0 < 5
    assert s.stopped_by == "stop" and s.interrupted
    _well_formed(h)
    comps = [op for op in h if op.type != "invoke"]
    assert len(comps) == 3 and all(op.type == "info" and "interrupted" in op.error
                                   for op in comps)


def test_ctrl_c_stops_cleanly_and_reraises(tmp_path):
    release = threading.Event()
    main = threading.main_thread().ident
    threading.Timer(0.5, lambda: signal.pthread_kill(main, signal.SIGINT)).start()
    g = clients(time_limit(60, rate(1000, repeat({"f": "hang"}))))
    bind(g, 1)
    path = tmp_path / "h.jsonl"
    w = HistoryWriter(path)
    r = Runner(g, lambda p, w_: Hang(release), None, w, 2, 30)
    with pytest.raises(KeyboardInterrupt):
        r.run()
    release.set()
    w.close()
    assert r.last_summary.stopped_by == "interrupt"
    h = load_history(str(path))
    _well_formed(h)
    assert h.ops and h.ops[-1].type == "info"


def test_second_run_continues_the_history(tmp_path):
    store = MemoryStore()
    path = tmp_path / "h.jsonl"
    w = HistoryWriter(path)
    sw = get("set")
    g = clients(limit(300, sw.generator({})))
    bind(g, 1)
    r = Runner(g, memory_client_factory(store), None, w, 3, 1.0)
    r.run()
    fg = sw.final_generator({})
    bind(fg, 2)
    s2 = r.run(generator=fg)
    r.close()
    w.close()
    h = load_history(str(path))
    _well_formed(h)
    assert [op.index for op in h] == list(range(len(h)))
    assert s2.invoked == 3 and {op.f for op in h.ops[-6:]} == {"read"}
    assert registry.run("set", h).valid is True


def test_rate_limited_run_paces_and_stats_report(tmp_path):
    g = clients(time_limit(1.0, rate(200, repeat({"f": "write", "value": 1}))))
    r, s, h = _run(tmp_path, g, lambda p, w: NoopClient(), conc=4)
    assert 120 <= s.invoked <= 300
    st = r.stats()
    assert set(st) >= {"elapsed_s", "ops_per_s", "ok", "fail", "info", "active_faults"}
    assert st["ok"] == s.ok


def test_generated_sequence_is_the_same_for_the_same_seed(tmp_path):
    """Real threads: which worker gets which op varies, the generated stream does not."""
    def once_run(seed, sub):
        d = tmp_path / sub
        d.mkdir()
        g = any_of(clients(limit(500, get("register").generator({}))),
                   nemesis(limit(5, get("counter").generator({}))))
        r, s, h = _run(d, g, memory_client_factory(MemoryStore()), nem=RecNemesis(), conc=4,
                       seed=seed, record_generated=True)
        cl = [x[1:] for x in r.generated if x[0] != "nemesis"]
        ne = [x[1:] for x in r.generated if x[0] == "nemesis"]
        return cl, ne
    a, b, c = once_run(7, "a"), once_run(7, "b"), once_run(8, "c")
    assert a == b and len(a[0]) == 500 and len(a[1]) == 5
    assert a[0] != c[0]


def test_every_completed_op_reaches_the_file_within_milliseconds(tmp_path):
    path = tmp_path / "h.jsonl"
    w = HistoryWriter(path)
    release = threading.Event()
    g = clients(phases(limit(5, repeat({"f": "write", "value": 1})), once({"f": "hang"})))
    bind(g, 1)
    r = Runner(g, lambda p, w_: Hang(release), None, w, 1, 30)
    t = threading.Thread(target=r.run, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            data = path.read_bytes()
            if data.count(b"\n") >= 11:  # 5 writes (10 lines) + the hang invoke
                break
            time.sleep(0.01)
        # while the last op hangs, everything before it is on disk
        assert data.count(b"\n") == 11 and data.endswith(b"\n")
    finally:
        release.set()
        t.join(5)
        w.close()
    assert os.path.getsize(path) > len(data)


KILL_SCRIPT = r"""
import sys
from checkers.history import HistoryWriter
from core.generator import bind, clients, rate, time_limit
from harness.workers import Runner
from workloads import get
from workloads.memory import MemoryStore, memory_client_factory
g = clients(time_limit(30, rate(3000, get("register").generator({}))))
bind(g, 1)
w = HistoryWriter(sys.argv[1])
print("started", flush=True)
Runner(g, memory_client_factory(MemoryStore()), None, w, 8, 1.0).run()
"""


def test_sigkilled_controller_leaves_a_loadable_history(tmp_path):
    import subprocess
    import sys
    path = tmp_path / "h.jsonl"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(path)], cwd=root,
                         stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": root})
    try:
        assert p.stdout.readline().strip() == b"started"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not path.exists() or path.stat().st_size < 50_000):
            time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    h = load_history(str(path))  # skips (with a warning) at most a torn last line
    assert len(h) > 200
    _well_formed(h)
    assert len(h.warnings) <= 1


def test_a_generator_bug_stops_the_run_and_is_raised(tmp_path):
    calls = [0]

    def buggy(rng):
        calls[0] += 1
        if calls[0] == 50:
            raise ZeroDivisionError("bug in a generator")
        return {"f": "write", "value": calls[0]}
    g = clients(time_limit(30, fn(buggy)))
    bind(g, 1)
    path = tmp_path / "h.jsonl"
    w = HistoryWriter(path)
    r = Runner(g, lambda p, w_: NoopClient(), None, w, 3, 1.0)
    t0 = time.monotonic()
    with pytest.raises(ZeroDivisionError):
        r.run()
    w.close()
    assert time.monotonic() - t0 < 10
    assert r.last_summary.stopped_by == "error"
    h = load_history(str(path))
    _well_formed(h)
    assert 49 <= len([op for op in h if op.type == "invoke"]) <= 52
