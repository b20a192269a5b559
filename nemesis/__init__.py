"""Faults for splitbrain: partitions, clock skew, process faults, packet loss, latency.

``Nemesis(nodes, target, journal_path, options).apply(f, value)`` performs one
nemesis op and returns what was applied; ``heal_all()`` undoes everything;
``nemesis.journal.heal_all(store_root)`` heals what a killed controller left.
"""

from __future__ import annotations

from .clock import clock_env
from .core import FAULTS, KINDS, OPS, Nemesis
from .errors import NemesisError, UnsupportedFault
from .grudge import TOPOLOGIES
from .schedule import combined_ops, validate_nemesis_spec
from .target import NemesisTarget

__all__ = ["FAULTS", "KINDS", "OPS", "TOPOLOGIES", "Nemesis", "NemesisError", "NemesisTarget",
           "UnsupportedFault", "clock_env", "combined_ops", "validate_nemesis_spec"]
