"""The unique-values check against the search: the same verdict on every
generated unique-value history (valid by construction, then mutated) and on
every Knossos history whose values are unique; each path forced on the same
histories.

CI checks UNIQUE_CROSSCHECK histories (default 5,000, ~15 s);
the issue's full count: SPLITBRAIN_UNIQUE_CROSSCHECK=100000."""

from __future__ import annotations

import glob
import os
import random
from pathlib import Path

import pytest

from checkers.history import History, Op, load_history
from checkers.linear import check_linearizable, unique
from checkers.linear.models import ModelError
from checkers.linear.simulate import simulate_unique_register_history

KNOSSOS = Path(__file__).resolve().parents[1] / "data" / "knossos"
UNIQUE_CROSSCHECK = int(os.environ.get("SPLITBRAIN_UNIQUE_CROSSCHECK", "5000"))


def hist(*events: tuple) -> History:
    """Events as (process, type, f, value[, key])."""
    return History(ops=[Op(index=i, time=i * 100, process=e[0], type=e[1], f=e[2], value=e[3],
                           key=e[4] if len(e) > 4 else None) for i, e in enumerate(events)])


def verdicts(h: History, model: str, **kw) -> tuple[dict, dict]:
    """Per key verdicts of each path, forced."""
    fast = check_linearizable(h, model=model, algorithm="unique-values", **kw)
    slow = check_linearizable(h, model=model, algorithm="wgl", **kw)
    assert fast.evidence["algorithm"] == "unique-values"
    assert slow.evidence["algorithm"] == "wgl"
    return ({k["key"]: k["valid"] for k in fast.evidence["keys"]},
            {k["key"]: k["valid"] for k in slow.evidence["keys"]})


def mutate(h: History, rng: random.Random) -> History:
    """1-3 edits that keep written values unique but may break linearizability:
    a read returning another value, an op's interval shortened from either
    end, a crash turned into an acknowledgement or back, a cas flipped."""
    ops = list(h.ops)
    written = sorted({o.value if o.f == "write" else o.value[1] for o in ops
                      if o.type == "invoke" and o.f in ("write", "cas")})
    for _ in range(rng.randint(1, 3)):
        comp = [i for i, o in enumerate(ops) if o.type != "invoke"]
        if not comp:
            break
        i = rng.choice(comp)
        o = ops[i]
        inv = max(j for j in range(i) if ops[j].process == o.process and ops[j].type == "invoke")
        what = rng.randrange(5)
        if what == 0 and o.f == "read" and o.type == "ok":
            v = rng.choice(written + [None, 10 ** 6]) if written else None
            ops[i] = Op(index=0, time=o.time, process=o.process, type="ok", f="read",
                        key=o.key, value=v)
        elif what == 1 and i - inv > 1:
            ops.insert(inv + 1 + rng.randrange(i - inv - 1), ops.pop(i))   # completes earlier
        elif what == 2 and i - inv > 1:
            ops.insert(inv + rng.randrange(1, i - inv), ops.pop(inv))      # invoked later
        elif what == 3 and o.f != "read":
            t = {"ok": "info", "info": "ok"}.get(o.type, o.type)
            ops[i] = Op(index=0, time=o.time, process=o.process, type=t, f=o.f, key=o.key,
                        value=o.value)
        elif what == 4 and o.f == "cas":
            t = {"ok": "fail", "fail": "ok"}.get(o.type, o.type)
            ops[i] = Op(index=0, time=o.time, process=o.process, type=t, f="cas", key=o.key,
                        value=o.value)
    out = []
    for j, o in enumerate(ops):
        out.append(Op(index=j, time=j, process=o.process, type=o.type, f=o.f, key=o.key,
                      value=o.value))
    return History(ops=out)


def test_generated_unique_histories_agree_with_the_search() -> None:
    rng = random.Random(17)
    counts = {True: 0, False: 0}
    for seed in range(UNIQUE_CROSSCHECK):
        n = rng.randint(2, 24)
        h = simulate_unique_register_history(
            seed, n, processes=rng.randint(2, 5), keys=rng.choice([None, 1, 2, 3]),
            info_rate=rng.choice([0.0, 0.1, 0.3]), cas=rng.random() < 0.7,
            read_frac=rng.choice([0.3, 0.5, 0.7]))
        if seed % 4:
            h = mutate(h, rng)
        model = "cas-register" if h.ops and h.ops[0].key is None else "kv"
        fast, slow = verdicts(h, model)
        assert fast == slow, (seed, [(o.process, o.type, o.f, o.key, o.value) for o in h.ops])
        for v in fast.values():
            counts[v] += 1
    # the mutations must produce both verdicts in quantity, or the check proves little
    assert counts[False] > UNIQUE_CROSSCHECK // 10 and counts[True] > UNIQUE_CROSSCHECK // 10
    print(f"unique-values vs search: {UNIQUE_CROSSCHECK} histories, per-key verdicts {counts}")


def test_larger_generated_histories_agree() -> None:
    for seed in range(40):
        h = simulate_unique_register_history(seed, 400, processes=6, keys=2, info_rate=0.05)
        h = mutate(h, random.Random(seed)) if seed % 2 else h
        fast, slow = verdicts(h, "kv")
        assert fast == slow, seed


def _knossos_files() -> list[str]:
    return sorted(glob.glob(str(KNOSSOS / "cas-register" / "*" / "*.edn")))


@pytest.mark.skipif(not KNOSSOS.is_dir(), reason="tests/data/knossos absent")
def test_every_unique_knossos_history_agrees() -> None:
    checked = 0
    for path in _knossos_files():
        h = load_history(path)
        for init in (0, None):
            for cfo in (False, True):
                r = check_linearizable(h, model="cas-register", init=init, cas_fail_observes=cfo)
                if r.evidence["algorithm"] != "unique-values":
                    with pytest.raises(ModelError, match="unique-values algorithm cannot"):
                        check_linearizable(h, model="cas-register", init=init,
                                           cas_fail_observes=cfo, algorithm="unique-values")
                    continue
                fast, slow = verdicts(h, "cas-register", init=init, cas_fail_observes=cfo)
                assert fast == slow, (path, init, cfo)
                assert r.valid == ("/good/" in path), path
                checked += 1
    assert checked >= 10   # 13 (file, init) pairs had unique values when this was written


def test_auto_takes_the_fast_path_only_where_it_applies() -> None:
    uniq = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
                (1, "invoke", "read", None), (1, "ok", "read", 1))
    assert check_linearizable(uniq, model="register").evidence["algorithm"] == "unique-values"
    dup = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
               (0, "invoke", "write", 1), (0, "ok", "write", 1))
    assert check_linearizable(dup, model="register").evidence["algorithm"] == "wgl"
    # a write of the initial value is not unique either
    assert check_linearizable(uniq, model="register", init=1).evidence["algorithm"] == "wgl"
    casfail = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
                   (1, "invoke", "cas", [2, 3]), (1, "fail", "cas", [2, 3]))
    assert check_linearizable(casfail).evidence["algorithm"] == "unique-values"
    # a failed cas with no compare mismatch recorded observed nothing (plain fail) ...
    r = check_linearizable(casfail, cas_fail_observes=True)
    assert r.evidence["algorithm"] == "unique-values" and r.valid is True
    # ... one whose compare failed is an observation, which the fast path does not take
    casfail.ops[-1].error = "cas-mismatch"
    r = check_linearizable(casfail, cas_fail_observes=True)
    assert r.evidence["algorithm"] == "wgl" and r.valid is True
    add = hist((0, "invoke", "add", 1), (0, "ok", "add", 1))
    assert check_linearizable(add, model="counter").evidence["algorithm"] == "wgl"
    mixed = hist((0, "invoke", "write", 1, "a"), (0, "ok", "write", 1, "a"),
                 (0, "invoke", "write", 1, "b"), (0, "ok", "write", 1, "b"),
                 (0, "invoke", "write", 1, "b"), (0, "ok", "write", 1, "b"))
    ev = check_linearizable(mixed, model="kv").evidence
    assert ev["algorithm"] == "mixed"
    assert {k["key"]: k["algorithm"] for k in ev["keys"]} == {"a": "unique-values", "b": "wgl"}
    with pytest.raises(ModelError, match="algorithm must be one of"):
        check_linearizable(uniq, model="register", algorithm="fast")


def test_cas_chains() -> None:
    # w1, cas 1->2, read 2: fine; a second successful cas from 1 is not
    ok = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
              (1, "invoke", "cas", [1, 2]), (1, "ok", "cas", [1, 2]),
              (2, "invoke", "read", None), (2, "ok", "read", 2))
    assert check_linearizable(ok, algorithm="unique-values").valid is True
    two = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
               (1, "invoke", "cas", [1, 2]), (2, "invoke", "cas", [1, 3]),
               (1, "ok", "cas", [1, 2]), (2, "ok", "cas", [1, 3]))
    assert check_linearizable(two, algorithm="unique-values").valid is False
    # a write and its reads strictly inside a cas's interval cannot sit between the
    # cas's read of 1 and its write of 2: the case that makes a cas one op, not two
    inside = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
                  (1, "invoke", "cas", [1, 2]),
                  (2, "invoke", "write", 9), (2, "ok", "write", 9),
                  (3, "invoke", "read", None), (3, "ok", "read", 9),
                  (1, "ok", "cas", [1, 2]),
                  (3, "invoke", "read", None), (3, "ok", "read", 2))
    fast, slow = verdicts(inside, "cas-register")
    assert fast == slow == {None: False}
    # a crashed cas took effect when its value was read, and not otherwise
    crashed = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
                   (1, "invoke", "cas", [1, 2]), (1, "info", "cas", [1, 2]),
                   (2, "invoke", "read", None), (2, "ok", "read", 2),
                   (2, "invoke", "read", None), (2, "ok", "read", 2))
    assert check_linearizable(crashed, algorithm="unique-values").valid is True
    back = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
                (1, "invoke", "cas", [1, 2]), (1, "info", "cas", [1, 2]),
                (2, "invoke", "read", None), (2, "ok", "read", 2),
                (2, "invoke", "read", None), (2, "ok", "read", 1))
    fast, slow = verdicts(back, "cas-register")
    assert fast == slow == {None: False}


def test_fast_counterexample_when_the_search_cannot_give_one(monkeypatch) -> None:
    monkeypatch.setattr(unique, "COUNTEREXAMPLE_SEARCH_S", 0.0)
    h = hist((0, "invoke", "write", 1), (0, "ok", "write", 1),
             (0, "invoke", "write", 2), (0, "ok", "write", 2),
             (1, "invoke", "read", None), (1, "ok", "read", 1))
    r = check_linearizable(h, model="register")
    assert r.valid is False
    f = r.evidence["keys"][0]["failure"]
    assert f["op"]["result"] == 1 and f["op"]["index"] == 4
    assert f["states_before"] == ["2"] and f["expected"] == "read 2"
    assert "before this op began" in f["why"]
    assert [w["value"] for w in f["witnesses"]] == [1, 2]
    # with the search's help (the default) the counterexample is today's
    monkeypatch.setattr(unique, "COUNTEREXAMPLE_SEARCH_S", 5.0)
    f = check_linearizable(h, model="register").evidence["keys"][0]["failure"]
    assert [o["value"] for o in f["prefix"]] == [1, 2] and "why" not in f


def test_big_crashed_history_is_decided_without_a_budget() -> None:
    # 40 crashed writes pending together: exponential for the search, instant here
    ev: list[tuple] = [(i, "invoke", "write", i) for i in range(40)]
    ev += [(i, "info", "write", i) for i in range(40)]
    for j in range(40):
        ev += [(1000, "invoke", "read", None), (1000, "ok", "read", j)]
    assert check_linearizable(hist(*ev), model="register", time_limit=5).valid is True
    ev += [(1000, "invoke", "read", None), (1000, "ok", "read", 999)]
    r = check_linearizable(hist(*ev), model="register", time_limit=5)
    assert r.valid is False and r.evidence["keys"][0]["failure"]["op"]["result"] == 999
