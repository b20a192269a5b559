"""The transactional checkers against the brute-force reference
(reference_txn.py) on small generated histories, valid by construction and
mutated.

What is asserted, and why only that:

* **Sound** (always asserted): when the reference finds an execution the
  model allows, the checker asked for that model says valid.  A checker that
  reports an anomaly there is wrong, whatever its inference.
* **Complete where inference can be** (asserted for list-append histories in
  which every value an ok transaction appended appears in some ok read —
  ``fully_observed``): then the longest read of each key is its whole version
  order, the inferred graph is Adya's dependency graph, and a history the
  reference rejects must not be judged valid.  Elsewhere Elle-style inference
  is sound but not complete — an append nobody read has an unknown place in
  the version order (a read that misses a completed, never-read append is
  caught by real-time order: the inference's rw edge and ``lost-append``,
  whose instances ``verify_instance`` re-derives), and rw-register
  has no version order beyond the initial nil unless told more — so there a
  "valid" from the checker for a history the reference rejects is counted
  (and, in the large run, written out for the lead), not failed.
* Every cycle the checker reports is re-derived step by step from the history
  by ``verify_cycle``, and its shape fits its name.

The CI run is a few hundred histories per workload; set
``TXN_REFERENCE_N=20000`` for the large run (counts printed per model;
``TXN_REFERENCE_OUT=file.json`` keeps the incompleteness counterexamples).
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkers.history import History
from reference_txn import (MODELS, CycleError, fully_observed, reference_allows, verify_cycle,
                           verify_instance)
from txn_histories import MODES, mutate, simulate, txn_history

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
WORKLOADS = ("list-append", "rw-register")
# The model each simulated database keeps by construction.
KEEPS = {"strict": "strict-serializable", "session": "strong-session-serializable",
         "serial": "serializable", "si": "strong-snapshot-isolation"}


def judge(h: History, workload: str, model: str, **options):
    import checkers.txn as txn
    fn = txn.check_list_append if workload == "list-append" else txn.check_rw_register
    return fn(h, consistency_models=[model], **options)


def instances(evidence: dict, name: str) -> list[dict]:
    got = (evidence.get("anomalies") or {}).get(name) or []
    if isinstance(got, dict):      # {"count": n, "instances": [...]} or similar
        got = got.get("instances") or got.get("examples") or []
    return [x for x in got if isinstance(x, dict)]


def _dump(h: History) -> str:
    return json.dumps([o.to_dict() for o in h.ops])


def cross_check(h: History, workload: str, model: str, tally: Counter | None = None,
                misses: list | None = None, **options) -> None:
    allowed = reference_allows(h, workload, model)
    res = judge(h, workload, model, **options)
    ev = res.evidence or {}
    # The verifier re-derives register version orders from nil and (with wfr) a
    # txn's read-then-write; the sequential/linearizable key orders it leaves alone.
    verify = not (options.get("sequential_keys") or options.get("linearizable_keys"))
    for name in ev.get("anomalies") or {}:
        for inst in instances(ev, name):
            if not verify:
                continue
            try:
                if "cycle" in inst:
                    verify_cycle(h, workload, name, inst, wfr=bool(options.get("wfr_keys")))
                else:
                    verify_instance(h, workload, name, inst, wfr=bool(options.get("wfr_keys")))
            except CycleError as e:
                raise CycleError(f"{workload}/{model} {name}: {e}\n{_dump(h)}") from None
    if allowed:
        assert res.valid is True, (f"{workload}/{model}: the reference finds an execution, "
                                   f"the checker says {res.valid}: {res.summary}\n{_dump(h)}")
        outcome = "agree-valid"
    elif res.valid is True:
        assert not (workload == "list-append" and fully_observed(h, workload)), (
            f"{workload}/{model}: fully observed and the reference finds no execution, "
            f"yet judged valid\n{_dump(h)}")
        outcome = "checker-valid-reference-not (inference incomplete)"
        if misses is not None and sum(m["workload"] == workload and m["model"] == model
                                      for m in misses) < 25:
            misses.append({"workload": workload, "model": model,
                           "history": [o.to_dict() for o in h.ops]})
    else:
        outcome = "agree-invalid" if res.valid is False else "unknown"
    if tally is not None:
        tally[(workload, model, outcome)] += 1


@pytest.mark.parametrize("workload", WORKLOADS)
def test_simulated_databases_keep_their_model(workload: str) -> None:
    @SETTINGS
    @given(st.sampled_from(MODES), st.randoms(use_true_random=False))
    def run(mode, rnd) -> None:
        h = simulate(rnd, workload, mode)
        assert reference_allows(h, workload, KEEPS[mode]), _dump(h)
        for model in MODELS:
            cross_check(h, workload, model)
    run()


@pytest.mark.parametrize("workload", WORKLOADS)
def test_mutated_histories(workload: str) -> None:
    @SETTINGS
    @given(st.sampled_from(MODES), st.randoms(use_true_random=False), st.integers(1, 2))
    def run(mode, rnd, n_mutations) -> None:
        h = simulate(rnd, workload, mode)
        for _ in range(n_mutations):
            h = mutate(rnd, h, workload) or h
        for model in MODELS:
            cross_check(h, workload, model)
    run()


# Extra version-order knowledge for rw-register, and the models under which it
# is sound (so the checker told it must still accept what the reference accepts):
# a txn's write follows what it read (any of our models); per-key process order
# (models that keep process order); per-key real time (strict serializability).
REGISTER_OPTIONS = [({"wfr_keys": True}, MODELS),
                    ({"sequential_keys": True},
                     ("strong-session-serializable", "strict-serializable")),
                    ({"linearizable_keys": True}, ("strict-serializable",))]


@pytest.mark.parametrize("options,models", REGISTER_OPTIONS,
                         ids=[next(iter(o)) for o, _ in REGISTER_OPTIONS])
def test_register_version_order_options(options: dict, models: tuple) -> None:
    @settings(SETTINGS, max_examples=40)
    @given(st.sampled_from(MODES), st.randoms(use_true_random=False), st.booleans())
    def run(mode, rnd, mutated) -> None:
        h = simulate(rnd, "rw-register", mode)
        if mutated:
            h = mutate(rnd, h, "rw-register") or h
        for model in models:
            cross_check(h, "rw-register", model, **options)
    run()


@pytest.mark.parametrize("workload", WORKLOADS)
def test_reference_respects_the_model_lattice(workload: str) -> None:
    """The reference keeps Elle's implications between the models it knows
    (strict ⇒ strong-session ⇒ serializable ⇒ SI, strict ⇒ strong SI ⇒
    strong-session SI ⇒ SI, strong-session serializable ⇒ strong-session SI)."""
    rnd = random.Random(5)
    for _ in range(300):
        h = simulate(rnd, workload, rnd.choice(MODES))
        h = mutate(rnd, h, workload) or h
        r = {m: reference_allows(h, workload, m) for m in MODELS}
        for a, b in [("strict-serializable", "strong-session-serializable"),
                     ("strong-session-serializable", "serializable"),
                     ("serializable", "snapshot-isolation"),
                     ("strict-serializable", "strong-snapshot-isolation"),
                     ("strong-snapshot-isolation", "strong-session-snapshot-isolation"),
                     ("strong-session-snapshot-isolation", "snapshot-isolation"),
                     ("strong-session-serializable", "strong-session-snapshot-isolation")]:
            assert not r[a] or r[b], (a, b, _dump(h))


def _txns(*txns) -> History:
    """(process, type, mops) one after another."""
    return txn_history(*[(t,) for t in txns])


def _concurrent(*txns) -> History:
    """(process, mops), all concurrent, all ok."""
    return txn_history(tuple((p, "ok", mops) for p, mops in txns))


def test_reference_on_textbook_histories() -> None:
    """The reference itself, on cases whose answer is known by hand."""
    la = "list-append"
    write_skew = _concurrent((0, [["r", "x", []], ["append", "y", 1]]),
                             (1, [["r", "y", []], ["append", "x", 2]]))
    assert reference_allows(write_skew, la, "snapshot-isolation")
    assert not reference_allows(write_skew, la, "serializable")
    lost_update = _concurrent((0, [["r", "x", []], ["append", "x", 1]]),
                              (1, [["r", "x", []], ["append", "x", 2]]))
    assert not reference_allows(lost_update, la, "snapshot-isolation")
    stale = _txns((0, "ok", [["append", "x", 1]]), (1, "ok", [["r", "x", []]]))
    assert reference_allows(stale, la, "serializable")
    assert not reference_allows(stale, la, "strict-serializable")
    assert not fully_observed(stale, la)
    own = _txns((0, "ok", [["append", "x", 1]]), (0, "ok", [["r", "x", []]]))
    assert not reference_allows(own, la, "strong-session-serializable")
    assert reference_allows(own, la, "serializable")
    aborted = _txns((0, "fail", [["append", "x", 1]]), (1, "ok", [["r", "x", [1]]]))
    assert not reference_allows(aborted, la, "snapshot-isolation")
    maybe = _txns((0, "info", [["append", "x", 1]]), (1, "ok", [["r", "x", [1]]]),
                  (2, "ok", [["r", "x", []]]))
    assert reference_allows(maybe, la, "serializable")
    assert not reference_allows(maybe, la, "strict-serializable")
    long_fork = _concurrent((0, [["append", "x", 1]]), (1, [["append", "y", 1]]),
                            (2, [["r", "x", [1]], ["r", "y", []]]),
                            (3, [["r", "x", []], ["r", "y", [1]]]))
    assert not reference_allows(long_fork, la, "snapshot-isolation")
    # a stale snapshot is fine for SI, not for strong SI
    assert reference_allows(stale, la, "snapshot-isolation")
    assert not reference_allows(stale, la, "strong-snapshot-isolation")
    assert reference_allows(stale, la, "strong-session-snapshot-isolation")
    assert not reference_allows(own, la, "strong-session-snapshot-isolation")
    internal = _txns((0, "ok", [["append", "x", 1], ["r", "x", []]]))
    assert not reference_allows(internal, la, "snapshot-isolation")
    reg = "rw-register"
    read_skew = _concurrent((0, [["r", "x", None], ["r", "y", 2]]),
                            (1, [["w", "x", 1], ["w", "y", 2]]))
    assert not reference_allows(read_skew, reg, "snapshot-isolation")
    assert reference_allows(_txns((0, "ok", [["w", "x", 1]]), (1, "ok", [["r", "x", 1]])),
                            reg, "strict-serializable")


@pytest.mark.skipif(not os.environ.get("TXN_REFERENCE_N"),
                    reason="the large cross-check: set TXN_REFERENCE_N (e.g. 20000)")
def test_large_cross_check() -> None:
    n = int(os.environ["TXN_REFERENCE_N"])
    tally: Counter = Counter()
    misses: list = []
    failures: list[str] = []
    for workload in WORKLOADS:
        for seed in range(n):
            rnd = random.Random(seed * 7919 + len(workload))
            h = simulate(rnd, workload, MODES[seed % len(MODES)])
            if seed % 2:
                for _ in range(rnd.randint(1, 2)):
                    h = mutate(rnd, h, workload) or h
            for model in MODELS:
                try:
                    cross_check(h, workload, model, tally, misses)
                except AssertionError as e:   # keep counting; fail at the end with all of them
                    tally[(workload, model, "DISAGREE")] += 1
                    failures.append(str(e))
    for k in sorted(tally):
        print("cross-checked", *k, tally[k])
    per_model = Counter()
    for (w, m, _), c in tally.items():
        per_model[(w, m)] += c
    for k in sorted(per_model):
        print("total", *k, per_model[k])
    if os.environ.get("TXN_REFERENCE_OUT"):
        with open(os.environ["TXN_REFERENCE_OUT"], "w") as f:
            json.dump({"counts": {" ".join(k): v for k, v in tally.items()},
                       "incomplete": misses, "failures": failures[:200]}, f, indent=1)
    assert not failures, f"{len(failures)} disagreements; the first:\n" + "\n".join(failures[:3])
