"""What the report draws, derived once from a history: paired client ops as
numpy columns on one time axis, and the index → position map.

Histories without times (many of Knossos' EDN files) are drawn on a logical
axis — the op's position in the history — so every chart still works.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from checkers.history import T_FAIL, T_INFO, T_OK, History

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

    def __len__(self) -> int:
        return int(self.invoke_pos.shape[0])

    def counts(self) -> dict[str, int]:
        return {name: int(np.count_nonzero(self.status == code))
                for code, name in STATUS_NAMES.items()}


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
    return OpTable(axis=axis, invoke_pos=ops.invoke, complete_pos=ops.complete,
                   status=ops.status, process=ops.process, f=ops.f, f_names=list(col.f_names),
                   start=start, end=end, latency_ms=lat, span=(0.0, max(span_hi, 1e-9)))


def position_of_index(history: History) -> dict[int, int]:
    """Op ``index`` field → position in ``history.ops`` (indices may be sparse)."""
    return {op.index: pos for pos, op in enumerate(history.ops)}


def op_time(history: History, axis: Axis, pos: int) -> float:
    """Plotted time of the op at ``pos``."""
    if axis.timed:
        t = history.ops[pos].time
        return float(axis.at(float(t))) if t is not None else float("nan")
    return float(pos)

