"""splitbrain's public API: what a plugin (a target, workload, checker or fault
of your own) imports.  Everything here is stable; anything imported from
``core``, ``harness``, ``targets`` … directly is internal and may move.

The built-in targets, workloads, checkers and faults are written against these
same names (and registered through the same entry points a plugin uses), so
this surface is exercised by every built-in run.

The contracts, each a few methods (their docstrings say what must be
idempotent, what may raise and what becomes ``info``):

* :class:`Target` — install / configure / start / healthy / client, plus the
  capabilities kill and pause (:class:`KillsDaemons`), ``primaries``
  (:class:`HasPrimaries`), clock faults (:class:`ClockSkewable`), disk faults
  (:class:`HasFiles`); options declared as ``OPTIONS = {name: Option(...)}``.
* :class:`Client` — ``invoke(f, key, value, timeout) -> (type, value, error)``
  and ``close``: ``OK``, ``FAIL`` only when the op certainly did not take effect
  (or raise :class:`DefiniteFailure`), ``INFO`` (or any other exception) when it
  may have.
* :class:`Workload` / :class:`BaseWorkload` — a generator of client ops (the
  DSL below), the checkers that judge them.
* :class:`Checker` — ``fn(history, **options) -> CheckResult``; never valid
  when it could not decide (:data:`UNKNOWN`).
* :class:`Fault` — ``apply`` / ``heal`` (heal idempotent), journaled first.

Names are registered through entry points in the groups ``splitbrain.targets``,
``.workloads``, ``.checkers``, ``.faults`` (``docs/plugins.md``), or at run time
with :func:`register`; a spec may also name ``module:Class`` directly.
"""

from __future__ import annotations

from checkers.history import History
from checkers.registry import Checker
from checkers.result import UNKNOWN, CheckResult
from core.capabilities import (ClockSkewable, HasFiles, HasPrimaries, Killable, Pausable,
                               PromisesModels)
from core.client import CAS_MISMATCH, FAIL, INFO, OK, Client, DefiniteFailure
from core.errors import OptionError
from core.generator import (Gen, each_process, final, limit, mix, once, phases, repeat, seq,
                            stagger, time_limit)
from core.nodes import Daemon, ExecResult, Node, NodeError
from core.options import (Option, a_bool, a_number, a_string, fraction, int_at_least,
                          non_negative_int, one_of, positive_int, probability)
from harness.registries import KINDS, register, registry
from nemesis.faults.base import Fault
from targets.base import KillsDaemons, LogPattern, Target, TargetError, sorted_elements
from workloads.base import BaseWorkload, Workload

__all__ = [
    "BaseWorkload", "CAS_MISMATCH", "CheckResult", "Checker", "Client", "ClockSkewable",
    "Daemon", "DefiniteFailure", "ExecResult", "FAIL", "Fault", "Gen", "HasFiles",
    "HasPrimaries", "History", "INFO", "KINDS", "Killable", "KillsDaemons", "LogPattern", "Node",
    "NodeError", "OK", "Option", "OptionError", "Pausable", "PromisesModels", "Target",
    "TargetError", "UNKNOWN", "Workload", "each_process", "final", "limit", "mix", "once",
    "phases", "register", "registry", "repeat", "seq", "stagger", "time_limit",
    # option checks for OPTIONS = {name: Option(default, check)}
    "a_bool", "a_number", "a_string", "fraction", "int_at_least", "non_negative_int", "one_of",
    "positive_int", "probability",
    "sorted_elements",
]
