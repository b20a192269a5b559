"""Faults for splitbrain: partitions, clock skew, process faults, packet loss, latency.

Use::

    nem = Nemesis(nodes, target, journal_path(store, test_id), {"seed": 1, "faults": [...]})
    target.env_hook = nem.daemon_env       # e.g. libfaketime when clock faults are in use
    with nem:                              # heals on normal end, exception and Ctrl-C
        value = nem.apply("start-partition", "majorities-ring")   # -> the completion's value

Each fault is one module in ``nemesis/faults/`` (a :class:`Fault`), registered
by name in ``nemesis/faults/__init__.py``; ``register_fault(name, "module:Class")``
or a ``splitbrain.faults`` entry point adds one.  ``nemesis.journal.heal_all(store_root)``
heals what a killed controller left (``splitbrain clean`` calls it), through the
fault that journaled each entry.  ``schedule.combined_ops`` yields the start/stop
ops a spec's ``nemesis: {faults: [...], interval: 10s}`` asks for.

Ops (``f``: invoke value -> returned value):

- ``start-partition``: a topology name (``isolate-one``, ``isolate-primary``,
  ``halves``, ``random-halves``, ``majorities-ring``, ``bridge``), or
  ``{"topology": ..., "one_way": bool}``, or ``{"grudge": {node: [nodes it drops]}}``
  -> ``{"topology", "one_way", "grudge", "sees"}``
- ``stop-partition``: None -> ``{"healed": topology, "nodes"}``
- ``start-clock``: ``"bump"|"strobe"|"reset"`` or ``{"mode": "bump", "nodes": sel,
  "offset_s": 90}`` / ``{"mode": "strobe", "nodes": sel, "offsets_s": [a, b],
  "period_ms": 10, "duration_s": 10}`` -> ``{"mode", "nodes", "offsets_s": {node:
  measured}}`` (strobe: ``"observed_s": {node: [samples]}``)
- ``stop-clock``: None -> ``{"mode": "reset", "nodes", "offsets_s", "strobe_flips"?}``
- ``kill`` / ``pause``: a selector (``one``, ``minority``, ``majority``,
  ``primaries``, ``all``, a node name or a list) -> ``{"nodes", "pids"[, "pgids"]}``
- ``start`` / ``resume``: selector or None (all killed / paused) -> ``{"nodes", "pids"}``
- ``start-loss``: probability or ``{"probability": p, "nodes": sel}`` -> ``{"probability",
  "nodes", "drops"}``; ``stop-loss``: None -> ``{"nodes"}``
- ``start-latency`` / ``stop-latency``: ``{"delay_ms", "jitter_ms", "nodes"}``; raises
  :class:`UnsupportedFault` ("not supported on this kernel") without tc netem.
"""

from __future__ import annotations

from .dispatch import FAULTS, KINDS, OPS, Nemesis
from .errors import NemesisError, UnsupportedFault
from .faketime import clock_env
from .faults import Fault, register as register_fault
from .grudge import TOPOLOGIES
from .journal import journal_path
from .schedule import combined_ops, validate_nemesis_spec
from .target import NemesisTarget

__all__ = ["FAULTS", "Fault", "KINDS", "OPS", "TOPOLOGIES", "Nemesis", "NemesisError",
           "NemesisTarget", "UnsupportedFault", "clock_env", "combined_ops", "journal_path",
           "register_fault", "validate_nemesis_spec"]
