"""What a completed op's outcome means to a reader, beyond ok / fail / info.

A ``fail`` says the op certainly did not take effect.  Some fails are the
operation's own semantics — a compare-and-set whose compare did not match
is a normal, expected outcome — and others are errors (the node refused,
the request was malformed).  Drawing both in one red hides real errors
under thousands of CAS mismatches, so the report tells them apart by the
completion's ``error`` tag.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from checkers.history import T_FAIL, History

# The tag clients write on a fail that is the operation's semantics, not an
# error.  Older histories spell the CAS case in words; they are read the same.
EXPECTED_FAIL_TAGS = frozenset({"cas-mismatch"})
_EXPECTED_FAIL_PREFIXES = ("cas mismatch", "cas on an absent key")

# Outcome classes the charts colour (CSS classes), in drawing order.
OK, FAIL_EXPECTED, FAIL_ERROR, INFO = "ok", "fail-expected", "fail", "info"
OUTCOME_LABELS = {
    OK: "ok",
    FAIL_EXPECTED: "fail: did not happen, as its semantics allow (e.g. CAS mismatch)",
    FAIL_ERROR: "fail: error",
    INFO: "info: outcome unknown",
}


def op_field(history: History, pos: int, name: str) -> Any:
    """A field of the op at ``pos`` (e.g. ``node``, ``error``) without building every Op.

    A loaded history keeps its decoded records until something asks for
    ``history.ops``; building 200,000 Op objects to read one field of a few
    hundred of them would cost seconds.
    """
    records = getattr(history, "_records", None)
    if getattr(history, "_ops", None) is None and records is not None:
        rec = records[pos]
        return rec.get(name) if isinstance(rec, dict) else None
    op = history.ops[pos]
    return getattr(op, name, None) if name in ("node", "error") else op.extra.get(name)


def is_expected_fail(error: Any, f: str | None = None) -> bool:
    """True for a fail the op's semantics explain (a CAS whose compare did not match).

    A fail with no error given at all on a ``cas`` is the same outcome
    (in-memory and simulated clients write none).
    """
    if isinstance(error, str):
        return error in EXPECTED_FAIL_TAGS or error.startswith(_EXPECTED_FAIL_PREFIXES)
    return error is None and f == "cas"


def expected_fail_mask(history: History, status: np.ndarray, complete_pos: np.ndarray,
                       f_codes: np.ndarray, f_names: list[str]) -> np.ndarray:
    """Per op row: True where the op failed as its semantics allow."""
    out = np.zeros(len(status), dtype=bool)
    for row in np.flatnonzero(status == T_FAIL).tolist():
        pos = int(complete_pos[row])
        if pos >= 0:
            out[row] = is_expected_fail(op_field(history, pos, "error"),
                                        f_names[int(f_codes[row])])
    return out
