"""splitbrain's public API: what a plugin (a target, workload, checker or fault
of your own) imports.  Everything here is stable; anything imported from
``core``, ``harness``, ``targets`` … directly is internal and may move.

The built-in targets, workloads, checkers and faults are written against these
same names (and registered through the same entry points a plugin uses), so
this surface is exercised by every built-in run.
"""

from __future__ import annotations

from core.capabilities import (ClockSkewable, HasFiles, HasPrimaries, Killable, Pausable,
                               PromisesModels)
from core.client import FAIL, INFO, OK, Client, DefiniteFailure
from core.errors import OptionError
from core.nodes import Daemon, ExecResult, Node, NodeError
from core.options import Option
from nemesis.faults.base import Fault
from targets.base import KillsDaemons, LogPattern, Target, TargetError
from workloads.base import BaseWorkload, Workload

__all__ = [
    "BaseWorkload", "Client", "ClockSkewable", "Daemon", "DefiniteFailure", "ExecResult", "FAIL",
    "Fault", "HasFiles", "HasPrimaries", "INFO", "Killable", "KillsDaemons", "LogPattern", "Node",
    "NodeError", "OK", "Option", "OptionError", "Pausable", "PromisesModels", "Target",
    "TargetError", "Workload",
]
