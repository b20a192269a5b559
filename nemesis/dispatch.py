"""The Nemesis: routes each nemesis op to its fault, one at a time, and heals everything.

``apply(f, value)`` is called by the harness' nemesis process for each
nemesis op of the history; the fault that owns ``f`` (``nemesis.faults``)
journals and applies it, and what it returns is exactly what was applied
(the grudge, measured offsets, pids) — the completion's value.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from core.capabilities import HasPrimaries
from core.nodes import Node, NodeError

from . import faults as _faults
from .errors import NemesisError, UnsupportedFault
from .faketime import measured_offsets
from .faults import DEFAULTS, FAULTS, KINDS, OPS
from .faults.base import Fault
from .faults.chains import Chains
from .faults.kill import exited_note
from .journal import Journal, heal_journal
from .select import select_nodes
from .target import NemesisTarget

__all__ = ["DEFAULTS", "FAULTS", "KINDS", "OPS", "Nemesis"]


class Nemesis:
    """Faults on ``nodes`` of ``target``, journaled at ``journal_path``.

    ``options``: ``seed`` (random choices: victims, shuffles), ``faults`` (the
    spec names in use; ``daemon_env`` is empty for faults not among them), and
    each fault's options (:data:`DEFAULTS`).
    """

    def __init__(self, nodes: Sequence[Node], target: NemesisTarget | None,
                 journal_path: Path | str, options: Mapping[str, Any] | None = None):
        opts = dict(options or {})
        defaults = _faults.defaults()
        self.options = {**defaults, **{k: v for k, v in opts.items() if k in defaults}}
        self.nodes = list(nodes)
        self.by_name = {n.name: n for n in self.nodes}
        if len(self.by_name) != len(self.nodes):
            raise NemesisError("node names must be unique")
        self.target = target
        self.rng = opts.get("rng") or random.Random(opts.get("seed"))
        self.faults = list(opts.get("faults") or [])
        # No list given (a bare Nemesis, as tests make): every fault may be used.  A run always
        # gives its list, possibly empty: then no fault's environment (libfaketime breaks
        # redis-sentinel outright) reaches its daemons.
        self.all_faults = opts.get("faults") is None
        self.journal = Journal(Path(journal_path), self.nodes, test_id=opts.get("test_id"))
        self.chains = Chains(self.journal, self.by_name)
        self._lock = threading.RLock()
        self.kinds: dict[str, Fault] = {k.name: k(self) for k in _faults.kinds()}
        self._ops: dict[str, Callable[[Any], Any]] = {
            f: getattr(fault, method) for fault in self.kinds.values()
            for f, method in fault.ops.items()}

    # -- public ------------------------------------------------------------------------------

    def apply(self, f: str, value: Any = None) -> Any:
        """Perform one nemesis op; returns what was applied (the completion's value)."""
        handler = self._ops.get(f)
        if handler is None:
            raise NemesisError(f"unknown nemesis op {f!r}; expected one of "
                               f"{', '.join(self._ops)}")
        with self._lock:
            try:
                return handler(value)
            except NemesisError:
                raise
            except (ValueError, NodeError) as e:
                raise NemesisError(f"{f}: {e}") from None

    def fault(self, name: str) -> Fault | None:
        return self.kinds.get(name)

    def daemon_env(self, node: Node) -> dict[str, str]:
        """The environment daemons on ``node`` start with (libfaketime for clock faults).

        Only the faults in use contribute (all, when no fault list was given at all),
        because libfaketime breaks some servers outright.
        """
        in_use = {k.name for k in map(_faults.kind_of, self.faults) if k is not None}
        env: dict[str, str] = {}
        for fault in self.kinds.values():
            if self.all_faults or fault.name in in_use:
                env.update(fault.daemon_env(node))
        return env

    clock_env = daemon_env   # what targets' env_hook was first set to

    def _in_use(self) -> list[Fault]:
        in_use = {k.name for k in map(_faults.kind_of, self.faults) if k is not None}
        return [f for f in self.kinds.values() if f.name in in_use]

    def prepare(self) -> list[str]:
        """Before the target's setup: each fault in use readies the nodes (lazyfs mounts)."""
        with self._lock:
            return [line for f in self._in_use() for line in f.prepare()]

    def settled(self) -> list[str]:
        """The target is set up and healthy: what it wrote so far is its installed state."""
        with self._lock:
            return [line for f in self._in_use() for line in f.settled()]

    def teardown(self) -> list[str]:
        """After the target stopped: undo ``prepare``; each failure reported, the rest done."""
        with self._lock:
            done = []
            for f in self._in_use():
                try:
                    done += f.teardown()
                except Exception as e:  # noqa: BLE001 - tear down the rest, report this one
                    done.append(f"{f.name} teardown FAILED: {e}")
            self.journal.close()
            return done

    def active(self) -> list[str]:
        """Faults in force now, one short line each (for the live console).

        Lock-free on purpose: the console polls it while ``apply`` may be in
        the middle of a slow op; each fault reads its own state once.
        """
        return [line for fault in self.kinds.values() for line in fault.describe()]

    def heal_all(self) -> list[str]:
        """Undo every fault; each failure is reported and the rest still healed."""
        return self.heal_all_measured()[0]

    def heal_all_measured(self) -> tuple[list[str], dict[str, Any]]:
        """heal_all, and what each healed fault measured of its last window (fault name ->
        its heal's ``measured``): a window the main phase's end cut short is measured too."""
        with self._lock:
            done: list[str] = []
            measured: dict[str, Any] = {}
            for fault in sorted(self.kinds.values(), key=lambda f: f.heal_rank):
                if not fault.in_force():
                    continue
                try:
                    res = fault.heal(None)
                    if isinstance(res, dict) and res.get("measured"):
                        measured[fault.name] = res["measured"]
                    nodes = res.get("nodes") if isinstance(res, dict) else None
                    done.append(fault.healed_as + (f": {', '.join(nodes)}" if nodes else "")
                                + measured_offsets(res) + exited_note(res))
                except Exception as e:  # noqa: BLE001 - heal the rest, report this one
                    done.append(f"{fault.healed_as} FAILED: {e}")
            standing = {k for f in self.kinds.values() if f.standing for k in f.journal_kinds}
            if not self.journal.close(keep=standing):
                # Anything the live state lost track of is healed from the journal.
                done.extend(heal_journal(self.journal.path, force=True, skip=standing))
            return done, measured

    def close(self) -> list[str]:
        return self.heal_all()

    def __enter__(self) -> "Nemesis":
        return self

    def __exit__(self, *exc: object) -> None:
        # Normal end, exception or Ctrl-C (KeyboardInterrupt): heal all the same.
        self.heal_all()

    def reapply(self, node: Node | str) -> list[str]:
        """Re-install this node's share of every fault in force (after a restart).

        A container restart recreates the network namespace and loses its
        rules; call this before the restarted node serves traffic.
        """
        n = self.by_name[node if isinstance(node, str) else node.name]
        with self._lock:
            return [what for fault in self.kinds.values() for what in fault.reapply(n)]

    # -- what faults use ---------------------------------------------------------------------

    def names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def primaries(self) -> list[str]:
        if not isinstance(self.target, HasPrimaries):
            return []
        return [p.name for p in self.target.primaries(self.nodes)]

    def select(self, spec: Any) -> list[str]:
        return select_nodes(spec, self.names(), self.rng, self.primaries)

    def require(self, fault: str) -> None:
        if self.target is None:
            return
        ok, why = self.target.supports(fault)
        if not ok:
            raise UnsupportedFault(f"{fault}: not supported by this target: {why}")

    def need_target(self, what: str, capability: Any = None) -> Any:
        """The target, which must have ``capability`` (a ``core.capabilities`` protocol)."""
        if self.target is None:
            raise NemesisError(f"{what}: no target to act on")
        if capability is not None and not isinstance(self.target, capability):
            raise UnsupportedFault(f"{what}: target {type(self.target).__name__} does not "
                                   f"implement {capability.__name__}")
        return self.target

    def parallel(self, fn: Callable[[Node], Any], nodes: Sequence[Node]) -> dict[str, Any]:
        """Run fn on each node at once so a partition lands everywhere within one round trip."""
        if not nodes:
            return {}
        with ThreadPoolExecutor(max_workers=min(16, len(nodes))) as ex:
            futs = {n.name: ex.submit(fn, n) for n in nodes}
        errors = {}
        out = {}
        for name, fut in futs.items():
            try:
                out[name] = fut.result()
            except Exception as e:  # noqa: BLE001 - collected and raised together below
                errors[name] = e
        if len(errors) == 1:
            raise next(iter(errors.values()))
        if errors:
            kinds = {type(e) for e in errors.values()}
            cls = kinds.pop() if len(kinds) == 1 and issubclass(next(iter(kinds)), NemesisError) \
                else NemesisError
            raise cls("; ".join(f"{k}: {v}" for k, v in sorted(errors.items())))
        return out
