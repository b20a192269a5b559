"""What a fault is (Jepsen's nemesis package: the fault, its schedule, its final
heal and how to shade it): one small object per kind.

A fault module defines one :class:`Fault` subclass and is registered by name in
``nemesis/faults/__init__.py`` (or by a plugin's ``splitbrain.faults`` entry
point).  The :class:`~nemesis.dispatch.Nemesis` makes one instance per run and
routes each nemesis op to it; the journal calls :meth:`Fault.heal_entry` to undo
what a killed controller left.
"""

from __future__ import annotations

import abc
import random
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from core.nodes import Node
from core.options import Option

if TYPE_CHECKING:  # the Nemesis passes itself in; no import at run time
    from nemesis.dispatch import Nemesis


class Fault(abc.ABC):
    """One kind of fault on a set of nodes.  Subclasses set the class attributes
    and implement :meth:`apply` and :meth:`heal`; the rest has working defaults."""

    name: str = ""                        # the kind; also what a spec lists
    spec_names: tuple[str, ...] = ()      # other names a spec may list for this kind
    ops: Mapping[str, str] = {}           # nemesis op f -> method name ("apply" / "heal")
    OPTIONS: Mapping[str, Option] = {}    # the nemesis options it reads, with defaults
    journal_kinds: tuple[str, ...] = ()   # journal entry kinds it records, in crash-heal order
    heal_rank: int = 5                    # order of healing among faults (lower first)
    window: tuple[str, str] = ("", "")    # report shading: the ops opening and closing it
    healed_as: str = "healed"             # heal_all's line for it
    # Its journal entries stand from prepare() to teardown() (a mount under the target):
    # heal_all leaves them, teardown() undoes them, `splitbrain clean` heals them after a crash.
    standing: bool = False
    # What a container node needs for it (the docker provider's image and options): Debian
    # packages in the image, and /dev/fuse with the right to mount it (lazyfs).
    node_packages: tuple[str, ...] = ()
    needs_fuse: bool = False
    # The option (a node selector) its scheduled start op hits, if it has one.
    nodes_option: str = ""

    def __init__(self, nem: "Nemesis") -> None:
        self.nem = nem

    # -- the run -------------------------------------------------------------------------
    @abc.abstractmethod
    def apply(self, value: Any) -> Any:
        """Start the fault; returns what was applied (the op's recorded value).

        Record what will be undone in ``self.nem.journal`` (fsynced) *before* acting,
        so ``splitbrain clean`` can heal it after a crash.  May raise: the op is then
        recorded as ``info`` with the error and the run goes on (a ValueError or
        NodeError becomes a one-line NemesisError first)."""

    @abc.abstractmethod
    def heal(self, value: Any = None) -> Any:
        """End it (``None``: everywhere).  Idempotent: healing what is not in force
        does nothing, because the run heals everything again on exit and Ctrl-C."""

    @classmethod
    def spec_problems(cls, spec: Mapping[str, Any], target: Any) -> list[tuple[str, str]]:
        """(option, why) for options that only this target can judge (asked at spec
        validation, once the target supports the fault): a file class it lacks …"""
        return []

    def in_force(self) -> bool:
        """Whether anything of this fault is applied now (heal_all heals it then)."""
        return False

    def describe(self) -> list[str]:
        """Short lines for the live console, one per thing in force."""
        return []

    def reapply(self, node: Node) -> list[str]:
        """Re-install this fault's share on a restarted node (its rules may be gone)."""
        return []

    def daemon_env(self, node: Node) -> dict[str, str]:
        """Environment every daemon on ``node`` must start with for this fault to work."""
        return {}

    # -- around the target's life (only for faults the run uses) -------------------------
    def prepare(self) -> list[str]:
        """Before the target is set up (e.g. mount a filesystem under its data directory)."""
        return []

    def settled(self) -> list[str]:
        """After the target is set up and healthy, before the main phase."""
        return []

    def teardown(self) -> list[str]:
        """After the target's daemons are stopped: undo what ``prepare`` did."""
        return []

    # -- before the run ------------------------------------------------------------------
    @classmethod
    def schedule(cls, spec_name: str, node_names: Sequence[str], rng: random.Random,
                 options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The (start, stop) op pair a combined schedule uses for ``spec_name``."""
        start, stop = cls.window
        nodes = options.get(cls.nodes_option, cls.OPTIONS[cls.nodes_option].default) \
            if cls.nodes_option else None
        return {"f": start, "value": nodes}, {"f": stop, "value": None}


class ProcessFault(Fault):
    """A fault on the target's daemons of some nodes (kill, pause): its schedule
    picks which nodes from ``nemesis.targets``."""

    @classmethod
    def schedule(cls, spec_name: str, node_names: Sequence[str], rng: random.Random,
                 options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        if cls.nodes_option:
            return super().schedule(spec_name, node_names, rng, options)
        from ..schedule import PROCESS_TARGETS
        start, stop = cls.window
        targets = list(options.get("targets") or PROCESS_TARGETS)
        return {"f": start, "value": rng.choice(targets)}, {"f": stop, "value": None}

    # -- after a crash -------------------------------------------------------------------
    @classmethod
    def heal_entry(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> str:
        """Undo one journal entry on the node ``ref`` names; returns what was done."""
        raise RuntimeError(f"{cls.name}: cannot heal journal entry kind {entry.get('kind')!r}")

    @classmethod
    def heal_unreachable(cls, ref: Mapping[str, Any], entry: Mapping[str, Any]) -> None:
        """What can still be undone from the host when the node itself is gone."""
