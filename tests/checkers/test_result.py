"""How verdicts combine: invalid beats unknown beats valid, whatever the order."""

from __future__ import annotations

import itertools

import pytest

from checkers.history import History, Op
from checkers.linear import check_linearizable
from checkers.result import UNKNOWN, exit_code, merge_verdicts, verdict_word


@pytest.mark.parametrize("verdicts,want", [
    ([], True),
    ([True, True], True),
    ([True, UNKNOWN, True], UNKNOWN),
    ([UNKNOWN, False], False),            # an invalid after an unknown is not lost
    ([UNKNOWN, UNKNOWN, True, False], False),
    ([False, UNKNOWN], False),
    (["something else"], UNKNOWN),        # never folded into valid
    ([None], UNKNOWN),
])
def test_merge_verdicts(verdicts, want) -> None:
    got = merge_verdicts(iter(verdicts))
    assert got == want and type(got) is type(want)


def test_merge_verdicts_is_order_free() -> None:
    for combo in itertools.product([True, False, UNKNOWN], repeat=3):
        want = False if False in combo else (UNKNOWN if UNKNOWN in combo else True)
        for perm in itertools.permutations(combo):
            assert merge_verdicts(perm) == want, perm


def test_exit_codes_and_words() -> None:
    assert [exit_code(v) for v in (True, False, UNKNOWN, None)] == [0, 1, 2, 2]
    assert [verdict_word(v) for v in (True, False, UNKNOWN)] == ["valid", "invalid", "unknown"]


def test_linearizable_invalid_key_after_a_budget_hit_key_is_invalid() -> None:
    # key "a" needs a search far beyond a tiny memory budget (unknown); key "b",
    # checked after it, is plainly invalid: the whole history is invalid
    n = 14
    ops = [Op(index=i, time=i, process=i, type="invoke", f="write", key="a", value=i)
           for i in range(n)]
    ops += [Op(index=n + i, time=n + i, process=i, type="ok", f="write", key="a", value=i)
            for i in range(n)]
    tail = [(0, "invoke", "read", "a", None), (0, "ok", "read", "a", 99),
            (1, "invoke", "write", "b", 1), (1, "ok", "write", "b", 1),
            (2, "invoke", "read", "b", None), (2, "ok", "read", "b", 2)]
    ops += [Op(index=len(ops) + i, time=len(ops) + i, process=p, type=t, f=f, key=k, value=v)
            for i, (p, t, f, k, v) in enumerate(tail)]
    # the search, not the unique-values check (which would decide key "a" at once)
    r = check_linearizable(History(ops=ops), model="cas-register", memory_limit=0.01,
                           workers=1, algorithm="wgl")
    by_key = {k["key"]: k["valid"] for k in r.evidence["keys"]}
    assert by_key == {"a": UNKNOWN, "b": False}
    assert r.valid is False and "key \"b\"" in r.summary

