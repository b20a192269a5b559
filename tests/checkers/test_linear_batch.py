"""check_linearizable_many (checkers/linear/batch.py): many histories through one
compiled call must give, for every history, exactly what check_linearizable
gives it — verdict, summary, evidence (configurations included) — from the
bytes on disk on.  Only the timing fields may differ."""

from __future__ import annotations

import glob
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers import registry
from checkers.history import History, Op, load_history, save_history
from checkers.linear import check_linearizable, check_linearizable_many
from checkers.linear.simulate import simulate_register_history

KNOSSOS = str(Path(__file__).resolve().parents[1] / "data" / "knossos")
ROOT = str(Path(__file__).resolve().parents[2])


def _plain(r: Any) -> Any:
    """A result without its timing fields (or the error, as text)."""
    if isinstance(r, Exception):
        return ("error", type(r).__name__, str(r))
    ev = json.loads(json.dumps(r.evidence, default=str))
    ev.pop("batch", None)
    for k in ev.get("keys", []):
        k.pop("elapsed_s", None)
    return r.valid, r.summary, ev


def _single(h: History, **kw: Any) -> Any:
    try:
        return check_linearizable(h, **kw)
    except ValueError as e:
        return e


def _same_as_one_by_one(hs: list[History], **kw: Any) -> list[Any]:
    batch = check_linearizable_many(hs, errors="return", **kw)
    assert len(batch) == len(hs)
    for i, (h, got) in enumerate(zip(hs, batch)):
        assert _plain(got) == _plain(_single(h, **kw)), i
    return batch


def _copy(h: History, ops: list[Op]) -> History:
    return History(ops=ops, source=h.source)


def _mutate(h: History, rng: random.Random) -> History:
    """Wrong reads, nil reads, dropped completions, failed ops, a bad cas value or
    an op the model does not know — each now and then."""
    ops = [Op(index=o.index, time=o.time, process=o.process, type=o.type, f=o.f, key=o.key,
              value=o.value) for o in h.ops]
    comps = [i for i, o in enumerate(ops) if o.type != "invoke"]
    for _ in range(rng.randint(0, 3)):
        if not comps:
            break
        i = rng.choice(comps)
        o = ops[i]
        r = rng.random()
        if o.f == "read" and o.type == "ok" and r < 0.6:
            o.value = rng.choice([None, 0, 1, 2, 3, 4, 7])
        elif r < 0.75:
            o.type = rng.choice(["info", "fail"])
        elif r < 0.8 and o.f == "cas":
            o.value = 3  # not [from, to]
            for j in range(i - 1, -1, -1):
                if ops[j].process == o.process:
                    ops[j].value = 3
                    break
        elif r < 0.83:
            o.f = "frobnicate"
            for j in range(i - 1, -1, -1):
                if ops[j].process == o.process:
                    ops[j].f = "frobnicate"
                    break
    return _copy(h, ops)


def _no_cas(h: History) -> History:
    return _copy(h, [Op(index=o.index, time=o.time, process=o.process, type=o.type,
                        f="write" if o.f == "cas" else o.f, key=o.key,
                        value=o.value[1] if o.f == "cas" and isinstance(o.value, list)
                        else o.value) for o in h.ops])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), n=st.integers(2, 12),
       model=st.sampled_from(["cas-register", "register", "kv"]),
       init=st.sampled_from([None, None, 0, 3, "x"]))
def test_batch_equals_one_by_one_on_generated_histories(seed: int, n: int, model: str,
                                                        init: Any) -> None:
    rng = random.Random(seed)
    hs = []
    for i in range(n):
        keys = rng.choice([None, None, 2, 4]) if model != "register" else rng.choice([None, 3])
        h = simulate_register_history(seed + i, rng.randint(1, 60), processes=rng.randint(1, 6),
                                      keys=keys, info_rate=rng.choice([0.0, 0.05, 0.2]),
                                      values=rng.choice([2, 5, 1000]))
        if model == "register":
            h = _no_cas(h)
        if rng.random() < 0.6:
            h = _mutate(h, rng)
        hs.append(h)
    _same_as_one_by_one(hs, model=model, init=init)


def test_the_batch_answers_the_valid_histories_and_hands_on_the_rest() -> None:
    rng = random.Random(5)
    hs = [simulate_register_history(100 + i, 85, processes=5, info_rate=0.03) for i in range(30)]
    bad = [_wrong_read(h, rng) for h in hs[:10]]
    unique = [simulate_register_history(7, 40, processes=3, values=10**9)]
    got = _same_as_one_by_one(hs + bad + unique)
    batched = [("batch" in r.evidence) for r in got]
    # every valid history of repeated values was answered by the batch itself ...
    assert all(batched[i] for i in range(30))
    # ... and nothing it could not answer exactly: violations keep their counterexample,
    # unique values their own check (and staleness)
    for r, b in zip(got, batched):
        if r.valid is not True:
            assert not b and r.evidence["keys"][0].get("failure")
    assert got[-1].evidence["algorithm"] == "unique-values" and not batched[-1]
    assert all(r.valid is False for r in got[30:40])


def _wrong_read(h: History, rng: random.Random) -> History:
    ops = [Op(index=o.index, time=o.time, process=o.process, type=o.type, f=o.f, key=o.key,
              value=o.value) for o in h.ops]
    rng.choice([o for o in ops if o.f == "read" and o.type == "ok"]).value = 99  # never written
    return _copy(h, ops)


@pytest.mark.parametrize("kind", ["good", "bad"])
def test_knossos_histories_batch_equals_one_by_one(kind: str) -> None:
    hs = [load_history(p) for p in sorted(glob.glob(f"{KNOSSOS}/cas-register/{kind}/*.edn"))]
    assert len(hs) > 5
    got = _same_as_one_by_one(hs, init=0)
    assert all(r.valid is (kind == "good") for r in got), [r.summary for r in got]


def test_from_bytes_on_disk_and_through_the_cli(tmp_path: Path) -> None:
    paths = []
    for i in range(6):
        h = simulate_register_history(300 + i, 50, processes=4, info_rate=0.05, keys=i % 2 or None)
        if i == 4:
            h = _mutate(h, random.Random(1))
        p = tmp_path / f"h{i}.jsonl"
        save_history(h, str(p))
        paths.append(str(p))
    (tmp_path / "empty.jsonl").write_text("")
    paths.insert(2, str(tmp_path / "empty.jsonl"))
    one_by_one = []
    for p in paths:
        out = subprocess.run([sys.executable, "-m", "harness", "check", p, "--model", "kv",
                              "--json"], capture_output=True, text=True, cwd=ROOT)
        one_by_one.append(json.loads(out.stdout.strip().splitlines()[-1]))
    out = subprocess.run([sys.executable, "-m", "harness", "check", *paths, "--model", "kv",
                          "--json"], capture_output=True, text=True, cwd=ROOT)
    together = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [d["file"] for d in together] == paths
    for a, b in zip(together, one_by_one):
        for d in (a, b):
            d.pop("elapsed_s", None)
            ev = d.get("evidence") or {}
            ev.pop("batch", None)
            for k in ev.get("keys", []):
                k.pop("elapsed_s", None)
        assert a == b
    assert together[2]["valid"] == "unknown"  # nothing checked is never valid


def test_run_many_judges_an_empty_history_unknown() -> None:
    h = simulate_register_history(1, 30)
    empty = History(ops=[Op(index=0, time=0, process="nemesis", type="info", f="start")])
    got = registry.run_many("linearizable", [h, empty, h], model="cas-register")
    assert [r.valid for r in got] == [True, "unknown", True]
    assert got[1].evidence["unknown_reason"] == "empty"


def test_errors_are_raised_or_returned_in_place() -> None:
    h = simulate_register_history(1, 30)
    odd = _copy(h, [Op(index=o.index, time=o.time, process=o.process, type=o.type,
                       f="frobnicate" if o.f == "read" else o.f, value=o.value)
                    for o in h.ops])
    with pytest.raises(ValueError, match="frobnicate"):
        check_linearizable_many([h, odd])
    got = check_linearizable_many([h, odd, h], errors="return")
    assert got[0].valid is True and got[2].valid is True
    assert isinstance(got[1], ValueError) and "frobnicate" in str(got[1])


@pytest.mark.slow
def test_batch_equals_one_by_one_on_many_histories() -> None:
    # the large run of the generated comparison above: 4,000 histories
    rng = random.Random(17)
    seen = {True: 0, False: 0}
    for b in range(80):
        model = ("cas-register", "register", "kv")[b % 3]
        init = (None, 0, "x")[b % 3 if b % 2 else 0]
        hs = []
        for i in range(50):
            keys = rng.choice([None, 2, 4]) if model != "register" else None
            h = simulate_register_history(b * 1000 + i, rng.randint(1, 90),
                                          processes=rng.randint(1, 7), keys=keys,
                                          info_rate=rng.choice([0.0, 0.05, 0.2]),
                                          values=rng.choice([2, 5, 1000]))
            if model == "register":
                h = _no_cas(h)
            hs.append(_mutate(h, rng) if rng.random() < 0.5 else h)
        for r in _same_as_one_by_one(hs, model=model, init=init):
            if not isinstance(r, Exception) and r.valid in seen:
                seen[r.valid] += 1
    assert seen[True] > 1000 and seen[False] > 500, seen


def test_the_batch_stays_inside_the_checks_time_and_memory_limits() -> None:
    # the kernel reads no clock: under a limit it leaves anything that could
    # overrun it to the one-by-one check, which judges by the clock
    hs = [simulate_register_history(500 + i, 85, processes=5, info_rate=0.03) for i in range(6)]
    got = _same_as_one_by_one(hs, time_limit=0)
    assert not any("batch" in r.evidence for r in got)
    got = check_linearizable_many(hs, time_limit=5)
    assert all("batch" in r.evidence for r in got)
    # under a memory limit too, the batch answers only what one by one answers
    # (a key whose tables must grow past the limit is left to the one-by-one check)
    _same_as_one_by_one(hs + [simulate_register_history(12, 600, processes=6, info_rate=0.02)],
                        memory_limit=0.01)


def test_run_many_returns_a_history_error_in_place() -> None:
    from checkers.history import HistoryError

    class Broken(History):
        def columnar(self):  # type: ignore[override]
            raise HistoryError("line 3: not a history")

    h = simulate_register_history(1, 30)
    got = registry.run_many("linearizable", [h, Broken(ops=[]), h], model="cas-register")
    assert got[0].valid is True and got[2].valid is True
    assert isinstance(got[1], HistoryError) and "not a history" in str(got[1])


@pytest.mark.parametrize("kw", [{"time_limit": float("inf")}, {"memory_limit": float("inf")},
                                {"time_limit": np.float64(5)}, {"memory_limit": np.int64(64)},
                                {"time_limit": float("nan")}, {"time_limit": -1},
                                {"memory_limit": -0.5}, {"time_limit": "10s"},
                                {"time_limit": True}])
def test_limits_are_judged_alike_one_by_one_and_in_a_batch(kw) -> None:
    # inf is "no limit" (it used to overflow the batch's step bound); nonsense is refused
    # by name on both paths, never read as some limit
    hs = [simulate_register_history(700 + i, 60, processes=4) for i in range(3)]
    got = _same_as_one_by_one(hs, **kw)
    name = next(iter(kw))
    v = kw[name]
    if isinstance(v, bool) or isinstance(v, str) or not v >= 0:
        assert all(isinstance(r, ValueError) and f"{name} must be a number" in str(r)
                   for r in got), got
        with pytest.raises(ValueError, match=f"{name} must be a number"):
            check_linearizable_many(hs, **kw)
    else:
        assert all(r.valid is True and r.evidence["batch"] == 3 for r in got)


@pytest.mark.parametrize("flag, value, rc", [("--time-limit", "inf", 0),
                                             ("--memory-limit", "inf", 0),
                                             ("--time-limit", "nan", 2),
                                             ("--time-limit", "-1", 2)])
def test_cli_limits_with_several_files(tmp_path: Path, flag: str, value: str, rc: int) -> None:
    paths = []
    for i in range(2):
        p = tmp_path / f"h{i}.jsonl"
        save_history(simulate_register_history(800 + i, 40), str(p))
        paths.append(str(p))
    out = subprocess.run([sys.executable, "-m", "harness", "check", *paths, "--model",
                          "cas-register", f"{flag}={value}"], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == rc, out.stderr
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr, out.stderr
    if rc:
        name = flag.lstrip("-").replace("-", "_")
        assert out.stderr.count(f"error: {name} must be a number") == 2, out.stderr
    else:
        assert out.stdout.count("valid — linearizable") == 2, out.stdout
