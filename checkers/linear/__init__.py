"""Linearizability checking: the numba Wing–Gong–Lowe search, per-key
partitioning, models, counterexamples.  Registered as ``linearizable``."""

from __future__ import annotations

from ..registry import Checker
from .batch import check_linearizable_many
from .checker import check_linearizable, opref, resolve_model
from .models import BUILTIN, ModelError
from .pymodel import OpView, PyModel
from .simulate import simulate_register_history

MODELS = tuple(BUILTIN)

LINEARIZABLE = Checker("linearizable", check_linearizable,
                       "linearizability (Wing–Gong–Lowe search, per-key): --model "
                       + "|".join(BUILTIN), many=check_linearizable_many)

__all__ = ["BUILTIN", "MODELS", "ModelError", "OpView", "PyModel", "check_linearizable",
           "check_linearizable_many", "opref", "resolve_model", "simulate_register_history"]
