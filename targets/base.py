"""The target interface: what the run, the nemesis and the report need from a
database under test — a small required core (install, configure, start,
healthy, client) and optional capabilities (``core.capabilities``: Killable,
Pausable, HasPrimaries, ClockSkewable, HasFiles), as Jepsen's DB protocols are.

A target is constructed with its options (from the spec), then bound to the
test's nodes by :meth:`Target.setup`.  Everything node-specific goes through
the node contract (``core.nodes``), so a target is written once for
the netns, docker and ssh providers.  The interface stays small on purpose:
the next targets (redis, zookeeper) implement the same dozen methods.
"""

from __future__ import annotations

import abc
import re
import signal
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from core import capabilities
from core.client import Client
from core.errors import OptionError
from core.options import Option, validate_options
from core.nodes import Daemon, Node, NodeError


class TargetError(RuntimeError):
    """The target could not be installed, configured or started; one clear line."""


@dataclass(frozen=True)
class LogPattern:
    """A line in a node log that makes a run invalid (e.g. a Go ``panic:``), or, with
    ``invalid=False``, an event worth counting that is no failure (a leader election)."""

    name: str
    regex: str
    description: str
    invalid: bool = True

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.regex)


# Options every target takes: install the Debian packages on nodes that lack them.
BASE_OPTIONS: Mapping[str, Option] = {"install": Option(False)}


def sorted_elements(elems: list) -> list:
    """A set read's result as the set checker and reports expect: sorted, or by
    repr when the elements do not compare (mixed types)."""
    try:
        return sorted(elems)
    except TypeError:
        return sorted(elems, key=repr)


class Target(abc.ABC):
    """One database under test on a set of nodes: the required core.

    A subclass implements ``install``, ``configure``, ``start``, ``healthy`` and
    ``client``; the rest has working defaults.  Kill and pause come with
    :class:`KillsDaemons`, primaries with a ``primaries`` method.

    The contract: the constructor validates options (``OPTIONS``; OptionError
    naming the option — it runs at spec validation, before any node exists).
    ``install``/``configure``/``start`` may raise (TargetError, NodeError: one
    line, the run aborts as ``unknown`` and still tears down); ``start`` is
    idempotent and is how a killed node comes back.  ``healthy`` never raises: it
    answers (False, why).  Every daemon is started with ``node.start_daemon`` and
    tracked (``track``) with ``self.daemon_env(node)`` in its environment, which is what
    makes kill, pause and clock faults work.  ``client`` is called once per client
    process and must not block on the network for long (connect lazily).
    """

    name: str = ""
    description: str = ""
    # Debian packages a node image needs (the docker provider builds one per target).
    packages: tuple[str, ...] = ()
    # Workloads this target has clients for.
    workloads: tuple[str, ...] = ()
    # fault kind (a nemesis.faults name) -> why it is refused; anything else is supported.
    refused_faults: Mapping[str, str] = {}
    log_patterns: tuple[LogPattern, ...] = ()
    # name -> Option(default, check): the one way options are declared (core.options)
    OPTIONS: Mapping[str, Option] = {}

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options = self.validate_options(dict(options or {}))
        self.nodes: list[Node] = []
        self._daemons: dict[str, list[Daemon]] = {}
        # Set by the run to the nemesis' per-node environment (libfaketime for
        # clock faults); every daemon start goes through it.
        self.env_hook: Callable[[Node], Mapping[str, str]] | None = None
        self._initialized = False

    # -- options ---------------------------------------------------------------
    def validate_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Fill defaults and reject unknown or bad options (OptionError)."""
        return validate_options(f"target {self.name}", {**BASE_OPTIONS, **self.OPTIONS}, options)

    # -- faults ----------------------------------------------------------------
    def supports(self, fault: str) -> tuple[bool, str]:
        """Whether a fault (``clock``, ``clock-bump``, ``partition`` …) works here, and why not."""
        # A fault is its kind (nemesis.faults) or a mode of it: clock-bump is clock.
        family = fault.split("-")[0]
        for refused, reason in self.refused_faults.items():
            if fault == refused or family == refused or fault.startswith(refused + "-"):
                return False, reason
        why = capabilities.missing(self, family)
        return (False, why) if why else (True, "")

    # -- lifecycle ---------------------------------------------------------------
    def setup(self, nodes: Sequence[Node], *, health_timeout: float = 30.0) -> None:
        """Install, configure and start on every node; does not wait for health."""
        self.install_and_configure(nodes)
        for n in self.nodes:
            self.start(n)

    def install_and_configure(self, nodes: Sequence[Node]) -> None:
        """Take the nodes, install on all, then configure all (a target that starts its
        cluster in a particular order — a bootstrap node first — calls this, then starts)."""
        self.nodes = list(nodes)
        for n in self.nodes:
            self.install(n)
        for n in self.nodes:
            self.configure(n)

    @abc.abstractmethod
    def install(self, node: Node) -> None:
        """Make sure the binaries are on the node (TargetError naming the package if not)."""

    def ensure_installed(self, node: Node, probe: str, missing: str, *,
                         pre_install: Sequence[str] | None = None,
                         timeout: float = 600.0) -> None:
        """The install step every target shares: ``probe`` (a shell test built
        with shlex.quote) passing means installed; otherwise ``apt-get install``
        the target's Debian ``packages`` when the ``install`` option is on, or
        fail with one line saying what is missing and how to get it."""
        if node.exec(["sh", "-c", probe], timeout=10).ok:
            return
        if self.options.get("install"):
            if pre_install:
                node.check(list(pre_install), timeout=10)
            node.check(["apt-get", "install", "-y", "--no-install-recommends", *self.packages],
                       timeout=timeout, env={"DEBIAN_FRONTEND": "noninteractive"})
            return
        pkgs = " ".join(self.packages)
        raise TargetError(f"{node.name}: {missing} — install Debian's "
                          f"{' and '.join(self.packages)} (apt-get install {pkgs})"
                          " or set target.options.install: true")

    @abc.abstractmethod
    def configure(self, node: Node) -> None:
        """Write configuration and data directories."""

    @abc.abstractmethod
    def start(self, node: Node) -> None:
        """Start the daemon(s) on the node (again, after a kill); idempotent when running."""

    def _kill_daemons(self, node: Node, daemons: list[Daemon]) -> None:
        for d in daemons:
            try:
                node.signal(d, signal.SIGKILL, group=True)
            except NodeError:
                pass
        deadline = time.monotonic() + 10
        for d in daemons:
            while node.is_running(d) and time.monotonic() < deadline:
                time.sleep(0.02)
        self._daemons[node.name] = [d for d in self._daemons.get(node.name, [])
                                    if node.is_running(d)]

    def stop_all(self) -> None:
        """Kill every daemon on every node (teardown); resumes paused ones first."""
        for n in self.nodes:
            try:
                for d in self.daemons(n):
                    n.signal(d, signal.SIGCONT, group=True)
            except NodeError:
                pass
            try:
                self._kill_daemons(n, list(self._daemons.get(n.name, [])))
            except NodeError:
                pass

    def daemons(self, node: Node) -> list[Daemon]:
        return [d for d in self._daemons.get(node.name, []) if node.is_running(d)]

    @staticmethod
    def data_path(node: Node, name: str) -> str:
        """``name`` under the node's data directory (where logs are collected from)."""
        return f"{node.data_dir.rstrip('/')}/{name}"

    def track(self, node: Node, daemon: Daemon) -> None:
        """Record a daemon this target started: only tracked daemons are killed, paused,
        starved and torn down (splitbrain never signals what it did not start)."""
        # A restart replaces the entry of its predecessor that exited by itself, so that
        # ``exited`` reports only daemons that are still down.
        kept = [d for d in self._daemons.get(node.name, [])
                if d.name != daemon.name or node.is_running(d)]
        self._daemons[node.name] = kept + [daemon]

    def exited(self, node: Node) -> list[Daemon]:
        """Daemons started on the node that are gone although splitbrain did not kill them
        (kills and ``stop_all`` forget what they killed): they exited by themselves."""
        return [d for d in self._daemons.get(node.name, []) if not node.is_running(d)]

    def daemon_env(self, node: Node) -> dict[str, str]:
        """The environment every daemon must be started with: the nemesis puts
        libfaketime here for clock faults.  Add to it, never replace it."""
        return dict(self.env_hook(node)) if self.env_hook is not None else {}

    # -- health ----------------------------------------------------------------
    @abc.abstractmethod
    def healthy(self, node: Node, timeout: float = 1.0) -> tuple[bool, str]:
        """Whether the node serves requests now, and a short reason when not."""

    def cluster_healthy(self, timeout: float = 1.0) -> tuple[bool, str]:
        for n in self.nodes:
            ok, why = self.healthy(n, timeout)
            if not ok:
                return False, f"{n.name}: {why}"
        return True, ""

    def initialize(self, timeout: float) -> tuple[bool, str]:
        """Create what the workloads need (a schema, a bucket, a user) once the cluster is
        first healthy; ``(False, why)`` to be asked again at the next health poll.

        Must be idempotent: it is retried after a partial success.  Called until it
        succeeds once per run, never after a restart; health is checked again after it,
        so ``cluster_healthy`` may require what it made."""
        return True, ""

    def wait_healthy(self, within: float, stop: Callable[[], bool] | None = None) -> tuple[bool, str]:
        """Poll until every node is healthy (and the cluster initialized) or ``within``
        seconds pass."""
        deadline = time.monotonic() + within
        why = "not checked"
        while True:
            budget = min(1.0, max(0.1, deadline - time.monotonic()))
            ok, why = self.cluster_healthy(timeout=budget)
            if ok and not self._initialized:
                # Its own budget (creating things can take seconds), bounded by what is left.
                ok, why = self.initialize(timeout=max(budget, min(30.0, deadline - time.monotonic())))
                self._initialized = ok
                if ok:
                    continue
            if ok:
                return True, ""
            if time.monotonic() >= deadline or (stop is not None and stop()):
                return False, why
            time.sleep(0.2)

    # -- logs ------------------------------------------------------------------
    def log_files(self, node: Node) -> list[str]:
        paths = [d.log_path for d in self._daemons.get(node.name, [])]
        try:
            paths += node.log_files()
        except NodeError:
            pass
        return sorted(set(p for p in paths if p))

    # -- clients ---------------------------------------------------------------
    @abc.abstractmethod
    def client(self, node: Node, workload_name: str, options: Mapping[str, Any]) -> Client:
        """A fresh client bound to ``node`` for the given workload."""

    def check_workload(self, workload_name: str) -> None:
        if workload_name not in self.workloads:
            raise OptionError(f"target {self.name} has no client for workload {workload_name!r} "
                              f"(supported: {', '.join(self.workloads)})", allowed=self.workloads)


class KillsDaemons:
    """The Killable and Pausable capabilities for a target whose daemons it
    started itself (through ``Target.track``)."""

    def fault_daemons(self, node: Node) -> list[Daemon]:
        """The running daemons that kill and pause hit: the database itself.  All
        of them unless a target runs a helper beside it that is not the thing
        under test (redis' sentinels are the failure detector, not the store)."""
        return self.daemons(node)  # type: ignore[attr-defined]

    def kill(self, node: Node) -> None:
        """SIGKILL the target's faultable daemons on the node and wait until gone."""
        self._kill_daemons(node, self.fault_daemons(node))  # type: ignore[attr-defined]

    def pause(self, node: Node) -> None:
        """SIGSTOP the faultable daemons' process groups (the nemesis' pause also journals)."""
        for d in self.fault_daemons(node):
            node.signal(d, signal.SIGSTOP, group=True)

    def resume(self, node: Node) -> None:
        for d in self.daemons(node):  # type: ignore[attr-defined]
            node.signal(d, signal.SIGCONT, group=True)
