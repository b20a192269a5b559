"""A user-defined linearizability model, written in plain Python.

A *max-register*: ``write v`` raises the register to ``max(current, v)``;
``read`` returns the current maximum.  Check a history against it with

    splitbrain check history.jsonl --model examples/custom_model.py:MaxRegister

or from Python::

    from checkers.linear import check_linearizable
    check_linearizable(history, model=MaxRegister())

See docs/models.md for the contract.
"""

from __future__ import annotations

from typing import Any

from checkers.linear import OpView, PyModel


class MaxRegister(PyModel):
    name = "max-register"
    partitioned = True  # ops with keys are independent max-registers, checked per key

    def init(self, init: Any) -> int:
        # states must be hashable; None (the CLI default) means "starts at 0"
        return 0 if init is None else int(init)

    def step(self, state: int, op: OpView) -> tuple[bool, int]:
        if op.f == "write":
            return True, max(state, op.value)
        if op.f == "read":
            # op.result is None for a crashed read: it observed nothing
            return op.result is None or op.result == state, state
        return False, state  # an operation this model does not know is never legal

    def drop(self, op: OpView) -> bool:
        # failed ops never happened; crashed reads change nothing, so skip them too
        return op.type == "fail" or (op.f == "read" and op.type != "ok")

    def describe(self, state: int) -> str:
        return f"max={state}"
