"""Named textbook anomalies, one small history each, with the verdict Elle's
model lattice gives (jepsen-io/elle, src/elle/consistency_model.clj: which
model proscribes which anomaly, which anomaly implies which, which model
implies which).  ``not`` is the weakest models ruled out, ``also_not`` every
stronger one; both were derived by hand-walking that lattice and are written
out literally so a change to the lattice shows up here.

Every cycle in the evidence is re-derived step by step from the history
(reference_txn.verify_cycle).  Plus: determinism (same history → same
evidence), and the same case read from EDN and from a JSON array of op maps
(Elle's command-line format) through ``python -m harness check``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from checkers.history import History
from reference_txn import reference_allows, verify_cycle, verify_instance
from txn_histories import mutate, simulate, txn_events, txn_history

# also_not lists that recur: every model above read-uncommitted / read-committed
# in Elle's lattice (the strong-* and strong-session-* ones included).
ABOVE_RC = ["causal-cerone", "consistent-view", "cursor-stability", "forward-consistent-view",
            "monotonic-atomic-view", "monotonic-snapshot-read", "monotonic-view",
            "parallel-snapshot-isolation", "prefix", "read-atomic", "repeatable-read",
            "serializable", "snapshot-isolation", "strict-serializable", "strong-read-committed",
            "strong-session-read-committed", "strong-session-serializable",
            "strong-session-snapshot-isolation", "strong-snapshot-isolation", "update-atomic",
            "update-serializable"]
ABOVE_RU = sorted(ABOVE_RC + ["read-committed", "strong-read-uncommitted",
                              "strong-session-read-uncommitted"])


def ok(p, *mops):
    return (p, "ok", [list(m) for m in mops])


def fail(p, *mops):
    return (p, "fail", [list(m) for m in mops])


def a(k, v):
    return ("append", k, v)


def r(k, v):
    return ("r", k, v)


def w(k, v):
    return ("w", k, v)


@dataclass
class Case:
    name: str
    workload: str
    groups: tuple
    anomaly_types: list[str]
    not_: list[str]
    also_not: list[str]
    options: dict = field(default_factory=dict)
    order: list[int] | None = None     # an explicit interleaving (txn_events) of ``groups``
    xfail: str | None = None           # a known gap of the checker, strict: fixing it fails here

    def history(self) -> History:
        if self.order is not None:
            return txn_events(list(self.groups), self.order)
        return txn_history(*self.groups)


LA, RW = "list-append", "rw-register"
CASES = [
    # T1 and T2 append to x and y; the final read shows x in order T1,T2 and y in order T2,T1.
    Case("G0 write cycle", LA,
         ((ok(0, a("x", 1), a("y", 1)), ok(1, a("x", 2), a("y", 2))),
          (ok(2, r("x", [1, 2]), r("y", [2, 1])),)),
         ["G0"], ["read-uncommitted"], ABOVE_RU),
    # aborted read: T2 sees an append of a transaction that failed
    Case("G1a aborted read", LA,
         ((fail(0, a("x", 1)),), (ok(1, r("x", [1]), a("y", 1)),), (ok(2, r("y", [1])),)),
         ["G1a"], ["read-committed"], ABOVE_RC),
    # intermediate read: T2 sees T1's first append without its second.  Adya's dependency
    # graph is over installed (final) versions: [1] is no version T1 installed, so the read
    # makes no wr/rw edges and there is no cycle, only G1b.  The verdict is the same either
    # way (read-committed already rules G1b out).
    Case("G1b intermediate read", LA,
         ((ok(0, a("x", 1), a("x", 2)),), (ok(1, r("x", [1])),)),
         ["G1b"], ["read-committed"], ABOVE_RC),
    # circular information flow: T1 reads T2's y, T2 appends x after T1
    Case("G1c circular information flow", LA,
         ((ok(0, a("x", 1), r("y", [1])), ok(1, a("x", 2), a("y", 1))),
          (ok(2, r("x", [1, 2])),)),
         ["G1c"], ["read-committed"], ABOVE_RC),
    # read skew: T1 sees T2's y but not T2's x
    Case("read skew G-single", LA,
         ((ok(0, r("x", []), r("y", [1])), ok(1, a("x", 1), a("y", 1))),
          (ok(2, r("x", [1]), r("y", [1])),)),
         ["G-single-item"], ["consistent-view", "repeatable-read"],
         ["forward-consistent-view", "serializable", "snapshot-isolation", "strict-serializable",
          "strong-session-serializable", "strong-session-snapshot-isolation",
          "strong-snapshot-isolation", "update-serializable"]),
    # write skew: each reads the key the other appends to; allowed by snapshot isolation
    Case("write skew G2-item", LA,
         ((ok(0, r("x", []), a("y", 1)), ok(1, r("y", []), a("x", 1))),
          (ok(2, r("x", [1]), r("y", [1])),)),
         ["G2-item"], ["repeatable-read"],
         ["serializable", "strict-serializable", "strong-session-serializable"]),
    # lost update: both read [0] and append, neither saw the other: each must precede
    # the other (two rw steps: Elle calls the cycle G2-item)
    Case("lost update", LA,
         ((ok(0, a("x", 0)),), (ok(1, r("x", [0]), a("x", 1)), ok(2, r("x", [0]), a("x", 2)))),
         ["G2-item", "lost-update"], ["cursor-stability", "update-atomic"],
         ["consistent-view", "forward-consistent-view", "parallel-snapshot-isolation",
          "repeatable-read", "serializable", "snapshot-isolation", "strict-serializable",
          "strong-session-serializable", "strong-session-snapshot-isolation",
          "strong-snapshot-isolation", "update-serializable"]),
    # long fork: T3 sees x without y, T4 sees y without x
    Case("long fork G-nonadjacent", LA,
         ((ok(0, a("x", 1)), ok(1, a("y", 1)), ok(2, r("x", [1]), r("y", [])),
           ok(3, r("x", []), r("y", [1]))),
          (ok(4, r("x", [1]), r("y", [1])),)),
         ["G-nonadjacent-item"], ["repeatable-read", "snapshot-isolation"],
         ["serializable", "strict-serializable", "strong-session-serializable",
          "strong-session-snapshot-isolation", "strong-snapshot-isolation"]),
    # process 1 appends 2, then its own next read misses it
    Case("G-single-item-process (stale own write)", LA,
         ((ok(0, a("x", 1)),), (ok(1, a("x", 2)),), (ok(1, r("x", [1])),),
          (ok(2, r("x", [1, 2])),)),
         ["G-single-item-process"], ["strong-session-snapshot-isolation"],
         ["strict-serializable", "strong-session-serializable", "strong-snapshot-isolation"]),
    # the same with another process doing the stale read: only real time orders them
    Case("G-single-item-realtime (stale read)", LA,
         ((ok(0, a("x", 1)),), (ok(1, a("x", 2)),), (ok(2, r("x", [1])),),
          (ok(3, r("x", [1, 2])),)),
         ["G-single-item-realtime"], ["strong-snapshot-isolation"], ["strict-serializable"]),
    # T2 starts after T1 completed, yet both keys show T2's append first
    Case("G0-realtime", LA,
         ((ok(0, a("x", 1), a("y", 1)),), (ok(1, a("x", 2), a("y", 2)),),
          (ok(2, r("x", [2, 1]), r("y", [2, 1])),)),
         ["G0-realtime"], ["strong-read-uncommitted"],
         ["strict-serializable", "strong-read-committed", "strong-snapshot-isolation"]),
    Case("G0-process", LA,
         ((ok(0, a("x", 1), a("y", 1)),), (ok(0, a("x", 2), a("y", 2)),),
          (ok(2, r("x", [2, 1]), r("y", [2, 1])),)),
         ["G0-process"], ["strong-session-read-uncommitted"],
         ["strict-serializable", "strong-read-committed", "strong-read-uncommitted",
          "strong-session-read-committed", "strong-session-serializable",
          "strong-session-snapshot-isolation", "strong-snapshot-isolation"]),
    # process 0 reads y = [1], which its own *next* transaction appends
    Case("G1c-process", LA,
         ((ok(0, r("y", [1])),), (ok(0, a("y", 1)),)),
         ["G1c-process"], ["strong-session-read-committed"],
         ["strict-serializable", "strong-read-committed", "strong-session-serializable",
          "strong-session-snapshot-isolation", "strong-snapshot-isolation"]),
    Case("G1c-realtime", LA,
         ((ok(0, r("y", [1])),), (ok(1, a("y", 1)),)),
         ["G1c-realtime"], ["strong-read-committed"],
         ["strict-serializable", "strong-snapshot-isolation"]),
    # two adjacent rw edges closed by process order: not an SI violation, a serial one.
    # T3 overlaps both of p0's txns, so real time alone orders nothing in the cycle.
    Case("G2-item-process", LA,
         [ok(0, a("x", 1)), ok(0, r("y", [])), ok(1, r("x", []), a("y", 1)),
          ok(2, r("x", [1]), r("y", [1]))],
         ["G2-item-process"], ["strong-session-serializable"], ["strict-serializable"],
         order=[2, 0, 0, 1, 1, 2, 3, 3]),
    # the same shape closed by real time: T2 (another process) began after T1 completed
    Case("G2-item-realtime", LA,
         [ok(0, a("x", 1)), ok(4, r("y", [])), ok(1, r("x", []), a("y", 1)),
          ok(2, r("x", [1]), r("y", [1]))],
         ["G2-item-realtime"], ["strict-serializable"], [],
         order=[2, 0, 0, 1, 1, 2, 3, 3]),
    # a read after the txn's own append misses it
    Case("internal", LA,
         ((ok(0, a("x", 1), r("x", [])),), (ok(1, r("x", [1])),)),
         ["internal"], ["read-atomic"],
         ["causal-cerone", "parallel-snapshot-isolation", "prefix", "serializable",
          "snapshot-isolation", "strict-serializable", "strong-session-serializable",
          "strong-session-snapshot-isolation", "strong-snapshot-isolation", "update-atomic"]),
    # a read that already contains the append its own txn makes afterwards
    Case("future-read", LA,
         ((ok(0, r("x", [1]), a("x", 1)),), (ok(1, r("x", [1])),)),
         ["future-read"], ["read-committed"], ABOVE_RC),
    Case("duplicate-elements", LA,
         ((ok(0, a("x", 1)),), (ok(1, r("x", [1, 1])),)),
         ["duplicate-elements"], ["read-uncommitted"], ABOVE_RU),
    # two reads that cannot both be prefixes of one version order
    Case("incompatible-order", LA,
         ((ok(0, a("x", 1)), ok(1, a("x", 2))), (ok(2, r("x", [1, 2])), ok(3, r("x", [2, 1])))),
         ["incompatible-order"], ["read-committed"], ABOVE_RC),
    # a read of an element nobody appended
    Case("garbage-read (list-append)", LA,
         ((ok(0, a("x", 1)),), (ok(1, r("x", [1, 7])),)),
         ["garbage-read"], ["read-uncommitted"], ABOVE_RU),
    # a committed append lands after an aborted one (and a read shows the aborted one)
    Case("dirty-update", LA,
         ((fail(0, a("x", 1)),), (ok(1, a("x", 2)),), (ok(2, r("x", [1, 2])),)),
         ["G1a", "dirty-update"], ["read-committed"], ABOVE_RC),
    Case("rw-register write skew", RW,
         ((ok(0, r("x", None), w("y", 1)), ok(1, r("y", None), w("x", 1))),),
         ["G2-item"], ["repeatable-read"],
         ["serializable", "strict-serializable", "strong-session-serializable"]),
    # both read 0 and overwrote it; nothing orders 1 and 2 (no --wfr-keys), so no cycle
    Case("rw-register lost update", RW,
         ((ok(0, w("x", 0)),), (ok(1, r("x", 0), w("x", 1)), ok(2, r("x", 0), w("x", 2)))),
         ["lost-update"], ["cursor-stability", "update-atomic"],
         ["consistent-view", "forward-consistent-view", "parallel-snapshot-isolation",
          "repeatable-read", "serializable", "snapshot-isolation", "strict-serializable",
          "strong-session-serializable", "strong-session-snapshot-isolation",
          "strong-snapshot-isolation", "update-serializable"]),
    Case("rw-register G1a", RW,
         ((fail(0, w("x", 1)),), (ok(1, r("x", 1)),)),
         ["G1a"], ["read-committed"], ABOVE_RC),
    Case("rw-register G1b", RW,
         ((ok(0, w("x", 1), w("x", 2)),), (ok(1, r("x", 1)),)),
         ["G1b"], ["read-committed"], ABOVE_RC),
    Case("rw-register G1c", RW,
         ((ok(0, w("x", 1), r("y", 1)), ok(1, w("y", 1), r("x", 1))),),
         ["G1c"], ["read-committed"], ABOVE_RC),
    Case("rw-register garbage-read", RW,
         ((ok(0, w("x", 1)),), (ok(1, r("x", 7)),)),
         ["garbage-read"], ["read-uncommitted"], ABOVE_RU),
    # writes follow reads: T1 read 1 then wrote 2, T2 read 2 then wrote 1 — the version
    # order of x would be 1 < 2 < 1
    Case("rw-register cyclic-versions", RW,
         ((ok(0, r("x", 1), w("x", 2)), ok(1, r("x", 2), w("x", 1))),),
         ["G1c", "cyclic-versions"], ["read-uncommitted"], ABOVE_RU,
         options={"wfr_keys": True}),
]


def check(case: Case, h: History | None = None, **extra):
    import checkers.txn as txn
    fn = txn.check_list_append if case.workload == LA else txn.check_rw_register
    return fn(h if h is not None else case.history(),
              consistency_models=["strict-serializable"], **case.options, **extra)


def instances(ev: dict, name: str) -> list[dict]:
    got = (ev.get("anomalies") or {}).get(name) or []
    if isinstance(got, dict):
        got = got.get("instances") or got.get("examples") or []
    return [x for x in got if isinstance(x, dict)]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=[pytest.mark.xfail(
    strict=True, reason=c.xfail)] if c.xfail else []) for c in CASES])
def test_named_case(case: Case) -> None:
    h = case.history()
    res = check(case, h)
    ev = res.evidence
    assert res.valid is False, res.summary
    assert ev["anomaly_types"] == case.anomaly_types, ev["anomaly_types"]
    assert sorted(ev["not"]) == case.not_, ev["not"]
    assert sorted(ev["also_not"]) == sorted(case.also_not), ev["also_not"]
    for name in ev["anomaly_types"]:
        found = instances(ev, name)
        assert found, f"{name} listed without an instance"
        for inst in found:
            if "cycle" in inst:
                verify_cycle(h, case.workload, name, inst, wfr=bool(case.options.get("wfr_keys")))
                assert inst.get("explanation"), inst
            else:
                verify_instance(h, case.workload, name, inst,
                                wfr=bool(case.options.get("wfr_keys")))
    # the brute-force reference agrees the history is not strict-serializable
    assert not reference_allows(h, case.workload, "strict-serializable")


def test_write_skew_is_snapshot_isolated_but_not_serializable() -> None:
    case = next(c for c in CASES if c.name == "write skew G2-item")
    from checkers.txn import check_list_append
    h = case.history()
    assert check_list_append(h, consistency_models=["snapshot-isolation"]).valid is True
    assert check_list_append(h, consistency_models=["serializable"]).valid is False
    assert reference_allows(h, LA, "snapshot-isolation")
    assert not reference_allows(h, LA, "serializable")


def test_stale_read_is_serializable_but_not_strict() -> None:
    from checkers.txn import check_list_append
    case = next(c for c in CASES if c.name.startswith("G-single-item-realtime"))
    h = case.history()
    assert check_list_append(h, consistency_models=["serializable"]).valid is True
    assert check_list_append(h, consistency_models=["strict-serializable"]).valid is False


def test_valid_history_is_valid() -> None:
    from checkers.txn import check_list_append
    h = txn_history((ok(0, a("x", 1)), ok(1, r("x", []), a("y", 1))),
                    (ok(2, r("x", [1]), r("y", [1])),))
    res = check_list_append(h, consistency_models=["strict-serializable"])
    assert res.valid is True, res.summary
    assert res.evidence["anomaly_types"] == [] and res.evidence["not"] == []


def _stable(ev: dict) -> str:
    return json.dumps(ev, sort_keys=True, default=str)


@pytest.mark.parametrize("seed", range(6))
def test_deterministic(seed: int) -> None:
    """Same history, same anomalies, cycles and order — twice in one process and
    on a history loaded afresh."""
    from checkers.txn import check_list_append
    rnd = random.Random(seed)
    h = simulate(rnd, LA, "strict", max_txns=6)
    for _ in range(3):
        h = mutate(rnd, h, LA) or h
    first = check_list_append(h, consistency_models=["strict-serializable"]).evidence
    again = check_list_append(History.from_dicts([o.to_dict() for o in h.ops]),
                              consistency_models=["strict-serializable"]).evidence
    assert _stable(first) == _stable(again)


def test_deterministic_named_cases() -> None:
    for case in CASES:
        assert _stable(check(case).evidence) == _stable(check(case).evidence), case.name


# ---------------------------------------------------------------- the CLI, EDN and JSON array

def _edn_value(v) -> str:
    if v is None:
        return "nil"
    if isinstance(v, str):
        return ":" + v
    if isinstance(v, list):
        return "[" + " ".join(_edn_value(x) for x in v) + "]"
    return str(v)


def _edn(h: History) -> str:
    lines = []
    for o in h.ops:
        lines.append(f"{{:type :{o.type}, :f :txn, :value {_edn_value(o.value)}, "
                     f":process {o.process}, :time {o.time}, :index {o.index}}}")
    return "[" + "\n ".join(lines) + "]\n"


def _cli(path: Path, *args: str) -> tuple[int, dict]:
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "harness", "check", str(path), "--checker",
                           "list-append", "--json", *args], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.stdout.strip(), proc.stderr[-2000:]
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("fmt", ["edn", "json-array", "jsonl"])
def test_cli_reads_every_format(tmp_path: Path, fmt: str) -> None:
    case = next(c for c in CASES if c.name == "G1c circular information flow")
    h = case.history()
    if fmt == "edn":
        path = tmp_path / "h.edn"
        path.write_text(_edn(h))
    elif fmt == "json-array":
        path = tmp_path / "h.json"
        path.write_text(json.dumps([o.to_dict() for o in h.ops], indent=1))
    else:
        path = tmp_path / "h.jsonl"
        path.write_text("".join(json.dumps(o.to_dict()) + "\n" for o in h.ops))
    code, out = _cli(path)
    assert code == 1, out
    assert out["checker"] == "list-append" and out["valid"] is False
    assert out["evidence"]["anomaly_types"] == ["G1c"]
    assert out["evidence"]["not"] == ["read-committed"]
    assert isinstance(out["elapsed_s"], float) and out["file"].endswith(path.name)
    for inst in out["evidence"]["anomalies"]["G1c"]:
        verify_cycle(h, LA, "G1c", inst)
