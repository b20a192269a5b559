"""What the report draws, derived once from a history: paired client ops as
numpy columns on one time axis, and the index → position map.

Histories without times (many of Knossos' EDN files) are drawn on a logical
axis — the op's position in the history — so every chart still works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
import numpy as np

from checkers.history import T_FAIL, T_INFO, T_OK, History

from .outcomes import FAIL_ERROR, FAIL_EXPECTED, INFO, OK, expected_fail_mask

STATUS_NAMES = {T_OK: "ok", T_FAIL: "fail", T_INFO: "info"}


@dataclass
class Axis:
    """Maps raw history time (ns, or position when untimed) to plotted units."""

    timed: bool
    origin: float

    @property
    def unit(self) -> str:
        return "s" if self.timed else "op #"

    def at(self, raw: np.ndarray | float) -> np.ndarray | float:
        if self.timed:
            return (raw - self.origin) / 1e9
        return raw


@dataclass
class OpTable:
    """One row per logical client operation (invoke paired with completion)."""

    axis: Axis
    invoke_pos: np.ndarray
    complete_pos: np.ndarray
    status: np.ndarray
    process: np.ndarray
    f: np.ndarray
    f_names: list[str]
    start: np.ndarray       # plotted units
    end: np.ndarray         # plotted units; NaN when it never completed
    latency_ms: np.ndarray  # NaN when untimed or never completed
    span: tuple[float, float]
    expected_fail: np.ndarray  # fail ops the op's semantics explain (reports.outcomes)

    def __len__(self) -> int:
        return int(self.invoke_pos.shape[0])

    def counts(self) -> dict[str, int]:
        out = {name: int(np.count_nonzero(self.status == code))
               for code, name in STATUS_NAMES.items()}
        out["fail_expected"] = int(np.count_nonzero(self.expected_fail))
        out["fail_error"] = out["fail"] - out["fail_expected"]
        return out

    def outcome(self) -> np.ndarray:
        """Per row, the outcome class the charts colour (reports.outcomes)."""
        out = np.full(len(self), OK, dtype=object)
        out[self.status == T_FAIL] = FAIL_ERROR
        out[self.expected_fail] = FAIL_EXPECTED
        out[self.status == T_INFO] = INFO
        return out


def op_table(history: History) -> OpTable:
    col = history.columnar()
    ops = col.operations()
    client = col.process >= 0
    # Timed only when every client op carries a time: a partly timed history
    # would put untimed ops at t=0 and draw nonsense.
    timed = bool(np.any(client)) and bool(np.all(col.time[client] >= 0)) and \
        bool(np.any(col.time > 0))
    if timed:
        origin = float(col.time[col.time >= 0].min())
        axis = Axis(True, origin)
        start = np.asarray(axis.at(ops.invoke_time.astype(np.float64)))
        done = ops.complete >= 0
        end = np.where(done, axis.at(ops.complete_time.astype(np.float64)), np.nan)
        lat = np.where(done, (ops.complete_time - ops.invoke_time) / 1e6, np.nan)
        span_hi = float(axis.at(float(col.time.max()))) if len(col) else 1.0
    else:
        axis = Axis(False, 0.0)
        start = ops.invoke.astype(np.float64)
        end = np.where(ops.complete >= 0, ops.complete.astype(np.float64), np.nan)
        lat = np.full(len(ops), np.nan)
        span_hi = float(max(len(col) - 1, 1))
    expected = expected_fail_mask(history, ops.status, ops.complete, ops.f, col.f_names)
    return OpTable(axis=axis, invoke_pos=ops.invoke, complete_pos=ops.complete,
                   status=ops.status, process=ops.process, f=ops.f, f_names=list(col.f_names),
                   start=start, end=end, latency_ms=lat, span=(0.0, max(span_hi, 1e-9)),
                   expected_fail=expected)


TYPE_NAMES = ("invoke", "ok", "fail", "info")


@dataclass(slots=True)
class OpLite:
    """One history op read back from the columnar view.

    The report never touches ``history.ops``: a loaded history builds its Op
    objects lazily, and building 200,000 of them costs seconds.
    """

    index: int
    time: int | None
    process: Any
    type: str
    f: str
    key: Any
    value: Any


def op_at(history: History, pos: int) -> OpLite:
    col = history.columnar()
    p = int(col.process[pos])
    k = int(col.key[pos])
    t = int(col.time[pos])
    return OpLite(int(col.index[pos]), t if t >= 0 else None,
                  p if p >= 0 else col.process_names.get(p, str(p)),
                  TYPE_NAMES[int(col.type[pos])], col.f_names[int(col.f[pos])],
                  col.keys[k] if k >= 0 else None, col.values[int(col.value[pos])])


def nemesis_positions(history: History) -> np.ndarray:
    col = history.columnar()
    code = next((c for c, name in col.process_names.items() if name == "nemesis"), None)
    if code is None:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(col.process == code)


def position_of_index(history: History) -> dict[int, int]:
    """Op ``index`` field → position in the history (indices may be sparse)."""
    col = history.columnar()
    return dict(zip(col.index.tolist(), range(len(col))))


def op_time(history: History, axis: Axis, pos: int) -> float:
    """Plotted time of the op at ``pos``."""
    if axis.timed:
        t = int(history.columnar().time[pos])
        return float(axis.at(float(t))) if t >= 0 else float("nan")
    return float(pos)

