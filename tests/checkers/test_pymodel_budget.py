"""The Python-model search has the compiled search's memory budget: hitting it
ends the search ``unknown`` with the reason, never valid."""

from __future__ import annotations

from typing import Any

from checkers.history import History, Op
from checkers.linear import OpView, PyModel, check_linearizable


class PyRegister(PyModel):
    name = "py-register"

    def step(self, state: Any, op: OpView) -> tuple[bool, Any]:
        if op.f == "read":
            return op.type != "ok" or op.result == state, state
        return True, op.value


def exploding(n: int, read: Any) -> History:
    """``n`` concurrent writes of distinct values, then a read: when the read's
    value was never written, every order of the writes is tried."""
    ops = [Op(index=i, time=i, process=i, type="invoke", f="write", value=i) for i in range(n)]
    ops += [Op(index=n + i, time=n + i, process=i, type="ok", f="write", value=i)
            for i in range(n)]
    ops += [Op(index=2 * n, time=2 * n, process=0, type="invoke", f="read"),
            Op(index=2 * n + 1, time=2 * n + 1, process=0, type="ok", f="read", value=read)]
    return History(ops=ops)


def test_python_search_memory_budget_gives_unknown() -> None:
    h = exploding(12, read=99)
    r = check_linearizable(h, model=PyRegister(), memory_limit=1)
    assert r.valid == "unknown"
    assert r.evidence["keys"][0]["explored"]["budget_hit"] == "memory"
    assert "memory budget hit" in r.summary
    # the same search with room enough decides (here: invalid, nobody wrote 99)
    r = check_linearizable(h, model=PyRegister(), memory_limit=512)
    assert r.valid is False and r.evidence["configurations"] > 12 * 2 ** 10


def test_python_search_within_budget_is_unaffected() -> None:
    r = check_linearizable(exploding(6, read=3), model=PyRegister(), memory_limit=1)
    assert r.valid is True
