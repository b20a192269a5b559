"""Histories and results the report tests draw: real op sequences built the
way the recorder writes them (invoke then completion, ns times, nemesis ops
with their applied detail), and CheckResults in docs/evidence.md's shapes."""

from __future__ import annotations

import random
from typing import Any

from checkers.history import History
from checkers.result import CheckResult

XSS = "<script>alert(1)</script>"
MS = 1_000_000


class Builder:
    def __init__(self, seed: int = 7):
        self.ops: list[dict[str, Any]] = []
        self.t = 0
        self.rnd = random.Random(seed)

    def add(self, process: Any, type_: str, f: str, value: Any = None, key: Any = None,
            dt: int = MS, **extra: Any) -> int:
        self.t += dt
        d = {"index": len(self.ops), "time": self.t, "process": process, "type": type_, "f": f,
             "value": value, **extra}
        if key is not None:
            d["key"] = key
        self.ops.append(d)
        return d["index"]

    def nemesis(self, f: str, value: Any) -> None:
        self.add("nemesis", "invoke", f, None)
        self.add("nemesis", "info", f, value)

    def history(self) -> History:
        return History.from_dicts(self.ops)


def bad_register(with_xss: bool = True) -> History:
    """A register history on keys x and y: y is fine, x has a stale read.

    p0 writes 1, then (after it completed) p1 writes 2 and it completes; later
    p2 reads 1 — no linearization allows that.  A partition window is open
    around the stale read; a kill window stays open to the end.
    """
    b = Builder()
    b.add(0, "invoke", "write", 0, key="y"); b.add(0, "ok", "write", 0, key="y")
    b.nemesis("start-partition", {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]})
    b.add(0, "invoke", "write", 1, key="x"); b.add(0, "ok", "write", 1, key="x", dt=3 * MS)
    b.add(1, "invoke", "write", 2, key="x"); b.add(1, "ok", "write", 2, key="x", dt=2 * MS)
    b.add(3, "invoke", "read", None, key="y"); b.add(3, "ok", "read", 0, key="y")
    b.add(2, "invoke", "read", None, key="x"); b.add(2, "ok", "read", 1, key="x", dt=4 * MS)
    b.nemesis("stop-partition", "healed")
    val = XSS if with_xss else 5
    b.add(4, "invoke", "write", val, key="y"); b.add(4, "ok", "write", val, key="y")
    b.add(3, "invoke", "read", None, key="y"); b.add(3, "ok", "read", val, key="y")
    b.nemesis("kill", ["n2"])
    b.add(0, "invoke", "read", None, key="x"); b.add(0, "info", "read", None, key="x",
                                                       error="timeout")
    b.add(1, "invoke", "write", 9, key="y"); b.add(1, "fail", "write", 9, key="y",
                                                    error=XSS)
    return b.history()


def random_register(n_ops: int, seed: int = 1, keys: int = 1) -> History:
    """A long, valid-looking history for size/speed tests: n_ops client ops
    (invoke+completion pairs) over 8 processes with periodic partitions."""
    b = Builder(seed)
    rnd = b.rnd
    value = 0
    for i in range(n_ops):
        if i % 5000 == 1000:
            b.nemesis("start-partition", {"n1": ["n2", "n3"]})
        if i % 5000 == 3000:
            b.nemesis("stop-partition", "healed")
        p = i % 8
        k = f"k{i % keys}" if keys > 1 else None
        if rnd.random() < 0.5:
            value += 1
            b.add(p, "invoke", "write", value, key=k, dt=rnd.randint(10_000, 200_000))
            b.add(p, rnd.choice(("ok", "ok", "ok", "fail")), "write", value, key=k,
                  dt=rnd.randint(10_000, 2 * MS))
        else:
            b.add(p, "invoke", "read", None, key=k, dt=rnd.randint(10_000, 200_000))
            b.add(p, "ok", "read", value, key=k, dt=rnd.randint(10_000, 2 * MS))
    return b.history()


def opref(h: History, inv: int) -> dict[str, Any]:
    """docs/evidence.md's opref for the op invoked at position ``inv``."""
    a = h.ops[inv]
    comp = next((o for o in h.ops[inv + 1:] if o.process == a.process), None)
    return {"index": a.index, "complete_index": comp.index if comp else None,
            "process": a.process, "f": a.f, "key": a.key, "value": a.value,
            "result": comp.value if comp else None, "type": comp.type if comp else "info",
            "invoke_time": a.time, "complete_time": comp.time if comp else None}


def hand_linear_result(h: History) -> CheckResult:
    """What the linearizability checker says about bad_register(), built by hand."""
    inv = {(o.process, o.f, o.key, o.value): i for i, o in enumerate(h.ops) if o.type == "invoke"}
    w1 = opref(h, inv[(0, "write", "x", 1)])
    w2 = opref(h, inv[(1, "write", "x", 2)])
    r1 = opref(h, inv[(2, "read", "x", None)])
    return CheckResult("linearizable", False, "key x: op 10 (p2 read → 1) cannot be linearized",
                       0.01, {
                           "model": "cas-register", "init": None, "keys_checked": 2,
                           "keys": [
                               {"key": "x", "valid": False, "ops": 4, "elapsed_s": 0.001,
                                "explored": {"configurations": 6, "budget_hit": None},
                                "failure": {"op": r1, "prefix": [w1, w2], "states_before": ["2"],
                                            "expected": "read 2", "concurrent": []}},
                               {"key": "y", "valid": True, "ops": 5, "elapsed_s": 0.001,
                                "explored": {"configurations": 9, "budget_hit": None}}]})


def causal_bad() -> History:
    """Session 0 writes x=1 then y=1; session 1 reads y=1 then x=nil — x=1
    causally precedes the y=1 it read, so reading the initial x breaks CC."""
    b = Builder()
    b.add(0, "invoke", "write", 1, key="x"); b.add(0, "ok", "write", 1, key="x")
    b.nemesis("start-partition", {"n1": ["n2"], "n2": ["n1"]})
    b.add(0, "invoke", "write", 1, key="y"); b.add(0, "ok", "write", 1, key="y")
    b.add(1, "invoke", "read", None, key="y"); b.add(1, "ok", "read", 1, key="y")
    b.add(1, "invoke", "read", None, key="x"); b.add(1, "ok", "read", None, key="x")
    b.nemesis("stop-partition", "healed")
    b.add(2, "invoke", "write", XSS, key="z"); b.add(2, "ok", "write", XSS, key="z")
    b.add(2, "invoke", "read", None, key="z"); b.add(2, "ok", "read", XSS, key="z")
    return b.history()


def hand_causal_result(h: History) -> CheckResult:
    wx, wy, ry, rx = (opref(h, i) for i in (0, 4, 6, 8))
    return CheckResult("causal", False, "CC violated: WriteCORead (p1 read x=nil after y=1)",
                       0.02, {
                           "level": "CC", "satisfies": {"CC": False, "CM": False, "CCv": False},
                           "patterns": [{
                               "name": "WriteCORead", "levels": ["CC", "CM", "CCv"],
                               "explanation": "p1 read the initial x although the write x=1 "
                                              "causally precedes the y=1 it had read",
                               "ops": [wx, wy, ry, rx],
                               "chain": [{"from": wx["index"], "to": wy["index"], "rel": "so"},
                                         {"from": wy["index"], "to": ry["index"], "rel": "wr"},
                                         {"from": ry["index"], "to": rx["index"], "rel": "so"},
                                         {"from": rx["index"], "to": wx["index"], "rel": "rb"}]}],
                           "sessions": {"read-your-writes": {"valid": True, "violations": []},
                                        "monotonic-reads": {"valid": True, "violations": []},
                                        "monotonic-writes": {"valid": True, "violations": []},
                                        "writes-follow-reads": {
                                            "valid": False, "violations": [
                                                {"ops": [ry, rx], "explanation": "read x=nil "
                                                 "after reading y=1, which followed x=1"}]}}})


def set_result() -> CheckResult:
    lost_op = {"index": 3, "complete_index": 4, "process": 1, "f": "add", "value": XSS,
               "result": XSS, "type": "ok", "invoke_time": 3 * MS, "complete_time": 4 * MS}
    return CheckResult("set-full", False, "1 acknowledged element lost", 0.0, {
        "attempted": 10, "acknowledged": 9, "lost": [XSS], "unexpected": [], "stale": [5],
        "never_read": [], "recovered": [8], "lost_ops": [lost_op],
        "stable_latency_ms": {"p50": 2.1, "p99": 40.0}})


def counter_result() -> CheckResult:
    bad = {"index": 7, "complete_index": 8, "process": 2, "f": "read", "value": None,
           "result": 9, "type": "ok", "invoke_time": 7 * MS, "complete_time": 8 * MS}
    bounds = [[i * MS, i, i + 2, (i + 1 if i != 8 else 9 - 5)] for i in range(20)]
    return CheckResult("counter", False, "1 read out of bounds", 0.0, {
        "reads": 20, "errors": [{"op": bad, "lower": 10, "upper": 14, "read": 9}],
        "bounds": bounds})


def stats_results() -> list[CheckResult]:
    ex = {"index": 1, "complete_index": 2, "process": 0, "f": "read", "value": None,
          "result": None, "type": "info", "invoke_time": MS, "complete_time": 2 * MS}
    return [
        CheckResult("stats", True, "every f succeeded at least once", 0.0,
                    {"by_f": {"read": {"ok": 10, "fail": 0, "info": 1}}, "never_succeeded": []}),
        CheckResult("exceptions", True, "1 kind of error", 0.0,
                    {"groups": [{"error": XSS, "count": 12, "example": ex}]}),
        CheckResult("log-patterns", False, "1 panic in node logs", 0.0,
                    {"matches": [{"node": "n1", "file": "etcd.log", "line": 120,
                                  "pattern": "panic:", "text": "panic: " + XSS},
                                 {"node": "../..", "file": "x", "line": 1, "pattern": "p",
                                  "text": "t"}]}),
    ]


def set_history() -> History:
    """adds 1..6 acknowledged; the final reads miss 3 (lost) and show 99 (never added)."""
    b = Builder()
    for v in range(1, 7):
        b.add(v % 3, "invoke", "add", v, key="s"); b.add(v % 3, "ok", "add", v, key="s")
    b.nemesis("start-partition", {"n1": ["n2"], "n2": ["n1"]})
    b.add(0, "invoke", "read", None, key="s"); b.add(0, "ok", "read", [1, 2, 3, 4, 5, 6], key="s")
    b.nemesis("stop-partition", "healed")
    for p in range(3):
        b.add(p, "invoke", "read", None, key="s")
        b.add(p, "ok", "read", [1, 2, 4, 5, 6, 99], key="s")
    return b.history()


def counter_history() -> History:
    """Five acknowledged +1s, then a read of 9 — above any possible value."""
    b = Builder()
    for i in range(5):
        b.add(i % 2, "invoke", "add", 1, key="c"); b.add(i % 2, "ok", "add", 1, key="c")
    b.add(2, "invoke", "read", None, key="c"); b.add(2, "ok", "read", 5, key="c")
    b.add(2, "invoke", "read", None, key="c"); b.add(2, "ok", "read", 9, key="c")
    return b.history()


# -- whole synthetic runs for the chart tests ------------------------------------------------
# Shaped like the recorder's output of a real run: clients on nodes n1..n3, a nemesis
# whose completions carry what it applied, a final "heal" at the very end.

LONG_GRUDGE = {"n1": ["n3", "n4", "n5"], "n2": ["n3", "n4", "n5"], "n3": ["n1", "n2"],
               "n4": ["n1", "n2"], "n5": ["n1", "n2"]}


class RunBuilder(Builder):
    """Ops at absolute times (ns), so a test knows when each one happened."""

    def at(self, t: int, process: Any, type_: str, f: str, value: Any = None, **extra: Any) -> int:
        self.t = max(self.t, t)
        node = extra.pop("node", None)
        if node is None and isinstance(process, int):
            node = f"n{process % 3 + 1}"
        if node is not None:
            extra["node"] = node
        return self.add(process, type_, f, value, dt=0, **extra)

    def fault(self, t: int, f: str, value: Any) -> None:
        self.at(t, "nemesis", "invoke", f, None)
        self.at(t + MS, "nemesis", "info", f, value)


S = 1_000_000_000


def set_run(n_lost: int = 150) -> tuple[History, dict[str, Any]]:
    """30 s of adds on n1..n3; a halves partition 10–20 s and a kill 15–25 s overlap.
    Adds by p0 acknowledged inside the partition are lost (``n_lost`` of them), one
    element is stale (missed by a read, back by the end), and a read shows 999999,
    which nobody added.  Returns the history and each element's add time (s)."""
    b = RunBuilder()
    events: list[tuple[int, int, str, Any, dict]] = []
    adds: dict[int, int] = {}
    lost: list[int] = []
    v = 0
    for k in range(1200):
        t = 100 * MS + k * 24 * MS
        p = k % 4
        v += 1
        adds[v] = t
        in_partition = 10 * S < t < 20 * S
        if in_partition and p == 0 and len(lost) < n_lost:
            lost.append(v)
        events.append((t, p, "add", v, {}))
    stale = next(e for e in adds if adds[e] > 5 * S and e not in lost)
    timeline: list[tuple[int, Any, str, str, Any]] = []
    for t, p, f, val, _ in events:
        timeline.append((t, p, "invoke", f, val))
        timeline.append((t + 3 * MS, p, "ok", f, val))
    # A read every second by p4; after `stale` is added one read misses it.
    for sec in range(1, 30):
        t = sec * S + 7 * MS
        present = [e for e, ta in adds.items() if ta + 3 * MS < t and e not in lost]
        if adds[stale] + 3 * MS < t < adds[stale] + 1.5 * S:
            present = [e for e in present if e != stale]
        if sec == 12:
            present.append(999999)
        timeline.append((t, 4, "invoke", "read", None))
        timeline.append((t + 4 * MS, 4, "ok", "read", sorted(present)))
    final = sorted(e for e in adds if e not in lost) + [999999]
    for p in range(5):
        timeline.append((30 * S + p * 10 * MS, p, "invoke", "read", None))
        timeline.append((30 * S + p * 10 * MS + 5 * MS, p, "ok", "read", final))
    faults = [(10 * S, "start-partition", {"topology": "random-halves", "grudge": LONG_GRUDGE}),
              (15 * S, "kill", {"nodes": ["n3"]}),
              (20 * S, "stop-partition", {"healed": True}),
              (25 * S, "start", {"nodes": ["n3"]}),
              (30 * S + 60 * MS, "heal", {"healed": ["partition healed", "restarted: n3"]})]
    merged = sorted([(t, 0, x) for t, *x in [(a, *r) for a, *r in timeline]] +
                    [(t, 1, (f, val)) for t, f, val in faults], key=lambda r: (r[0], r[1]))
    for t, kind, x in merged:
        if kind == 1:
            b.fault(t, *x)
        else:
            p, typ, f, val = x
            b.at(t, p, typ, f, val, key="s")
    return b.history(), {e: t / S for e, t in adds.items()}


def register_run() -> tuple[History, float]:
    """20 s of writes and reads of one register by 4 processes; at 12.5 s, inside a
    partition, p3 reads a value overwritten a second earlier.  Returns the history and
    the stale read's invoke time (s)."""
    b = RunBuilder()
    value = 0
    ops: list[tuple[int, Any, str, str, Any]] = []
    bad_t = 0
    for k in range(400):
        t = 50 * MS + k * 50 * MS
        p = k % 4
        if p == 3:
            if 12_400 * MS <= t < 12_500 * MS + 50 * MS and not bad_t:
                bad_t = t
                ops += [(t, p, "invoke", "read", None), (t + 2 * MS, p, "ok", "read", value - 20)]
            else:
                ops += [(t, p, "invoke", "read", None), (t + 2 * MS, p, "ok", "read", value)]
        else:
            value += 1
            ops += [(t, p, "invoke", "write", value), (t + 2 * MS, p, "ok", "write", value)]
    faults = [(8 * S, "start-partition", {"topology": "halves", "grudge": LONG_GRUDGE}),
              (14 * S, "stop-partition", {"healed": True}),
              (20 * S + 60 * MS, "heal", {"healed": []})]
    rows = sorted([(o[0], 0, o[1:]) for o in ops] + [(t, 1, (f, v)) for t, f, v in faults],
                  key=lambda r: (r[0], r[1]))
    for t, kind, x in rows:
        if kind:
            b.fault(t, *x)
        else:
            p, typ, f, val = x
            b.at(t, p, typ, f, val)
    return b.history(), bad_t / S


def cas_run() -> History:
    """A valid 20 s cas-register run: 5 processes cas from a guessed value, most guesses
    wrong (fail, error "cas-mismatch"), a few timeouts (info) that never took effect; clock
    faults (a strobe, a bump) and many short partitions whose labels must not collide."""
    b = RunBuilder(seed=3)
    rnd = b.rnd
    value = 0
    rows: list[tuple[int, int, tuple]] = [(10 * MS, 0, (0, "invoke", "write", 0, {})),
                                          (11 * MS, 0, (0, "ok", "write", 0, {}))]
    for k in range(1500):
        t = 40 * MS + k * 13 * MS
        p = k % 5
        if k % 6 == 0:
            rows += [(t, 0, (p, "invoke", "read", None, {})),
                     (t + MS, 0, (p, "ok", "read", value, {}))]
            continue
        guess = value if rnd.random() < 0.1 else rnd.randint(0, 9)
        new = rnd.randint(0, 9)
        if k % 97 == 0:  # a timeout that did not take effect
            rows += [(t, 0, (p, "invoke", "cas", [guess, new], {})),
                     (t + 2 * MS, 0, (p, "info", "cas", [guess, new], {"error": "timeout"}))]
            continue
        rows.append((t, 0, (p, "invoke", "cas", [guess, new], {})))
        if guess == value:
            value = new
            rows.append((t + MS, 0, (p, "ok", "cas", [guess, new], {})))
        else:
            rows.append((t + MS, 0, (p, "fail", "cas", [guess, new], {"error": "cas-mismatch"})))
    faults: list[tuple[int, str, Any]] = [
        (2 * S, "start-clock", {"mode": "strobe", "nodes": ["n1"], "offsets_s": [0.0, 90.0],
                                "period_ms": 10, "duration_s": 3,
                                "observed_s": {"n1": [0.0, 90.0, 0.0, 90.0]}}),
        (5 * S, "stop-clock", {"mode": "reset", "nodes": ["n1"], "offsets_s": {"n1": 0.0}}),
        (6 * S, "start-clock", {"mode": "bump", "nodes": ["n2"], "requested_s": {"n2": -60.0},
                                "offsets_s": {"n2": -59.999}})]
    for i in range(8):  # short, dense partitions with long grudges
        faults.append((int((9 + i * 1.1) * S), "start-partition",
                       {"topology": "random-halves", "grudge": LONG_GRUDGE}))
        faults.append((int((9.6 + i * 1.1) * S), "stop-partition", {"healed": True}))
    faults.append((int(19.6 * S), "heal",
                   {"healed": ["clock reset: n2 (measured n2 +0.001s)"]}))
    merged = sorted(rows + [(t, 1, (f, v)) for t, f, v in faults], key=lambda r: (r[0], r[1]))
    for t, kind, x in merged:
        if kind:
            b.fault(t, *x)
        else:
            p, typ, f, val, extra = x
            b.at(t, p, typ, f, val, **extra)
    return b.history()
