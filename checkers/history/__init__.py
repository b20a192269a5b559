"""The history model shared by the harness (which writes it) and the checkers
(which read it).  It lives under ``checkers`` so that ``checkers`` never has
to import ``harness``; see ARCHITECTURE.md."""

from .columnar import T_FAIL, T_INFO, T_INVOKE, T_OK, Columnar, Interner, Operations, build_columnar
from .formats import detect_format, dumps_history, load_history, loads_history, save_history
from .history import History, op_from_mapping
from .jsonl import HistoryWriter
from .op import FAIL, INFO, INVOKE, NEMESIS, OK, HistoryError, Op
from .validate import Breach, validate

__all__ = [
    "Breach", "Columnar", "FAIL", "History", "HistoryError", "HistoryWriter", "INFO", "INVOKE",
    "Interner", "NEMESIS", "OK", "Op", "Operations", "T_FAIL", "T_INFO", "T_INVOKE", "T_OK",
    "build_columnar", "detect_format", "dumps_history", "load_history", "loads_history",
    "op_from_mapping", "save_history", "validate",
]
