"""Running splitbrain from Python tests: one judged run, and what a machine can do.

:func:`run` takes a spec file, a spec mapping (the parsed YAML) or keyword
arguments naming the parts (``target=MyTarget`` may be the class itself), and
runs it through the same lifecycle ``splitbrain run`` uses
(``harness.lifecycle.execute``): nodes are provisioned, faults applied and
healed, nodes torn down — also when the run fails or is interrupted — and the
history is judged.  It returns a :class:`Run`; ``assert run.valid`` shows the
one-line summary and the report path when it fails (the run's ``repr``).

:func:`missing` says why a machine cannot run a test (not root, no Docker …);
the pytest plugin's ``splitbrain_needs`` marker skips with that reason.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from checkers.result import CheckResult, verdict_word
from core.errors import UserError
from core.store import RunDir

__all__ = ["Run", "RunError", "missing", "run", "spec_dict"]


class RunError(UserError):
    """The spec is wrong or the run could not start (nothing was judged)."""


@dataclass
class Run:
    """A judged run.  ``valid`` is True only when every checker said valid;
    ``verdict`` is ``"valid"``, ``"invalid"`` or ``"unknown"``."""

    verdict: str
    summary: str
    run_dir: Path
    results: list[CheckResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    interrupted: str | None = None   # where Ctrl-C stopped it (then it is unknown)

    @property
    def valid(self) -> bool:
        return self.verdict == "valid"

    @property
    def report_path(self) -> Path:
        return RunDir(self.run_dir).report

    @property
    def history_path(self) -> Path:
        return RunDir(self.run_dir).history

    def __repr__(self) -> str:
        # pytest prints this under a failed ``assert run.valid``: say what and where.
        return f"<splitbrain run {self.summary}; report: {self.report_path}>"

    __str__ = __repr__


def summarize(verdict: Any, results: list[CheckResult]) -> str:
    """One line: the verdict, then the first checker that is not valid (the reason)."""
    word = verdict_word(verdict)
    judged = [r for r in results if r.valid is not True]
    if not judged:
        return f"{word.upper()}: {len(results)} checkers valid"
    first = judged[0]
    more = f" (+{len(judged) - 1} more not valid)" if len(judged) > 1 else ""
    return f"{word.upper()}: {first.checker}: {first.summary}{more}"


def _name_for(kind: str, obj: Any) -> Any:
    """A class given in place of a name is registered under its import path, so
    the spec (and the run's spec.yaml) still names it as text."""
    if isinstance(obj, str) or obj is None:
        return obj
    path = f"{obj.__module__}:{obj.__qualname__}"
    if kind == "target":
        import targets
        targets.register(path, obj)
    elif kind == "workload":
        import workloads
        workloads.REGISTRY.register(path, obj)
    return path


def _named(kind: str, value: Any) -> Any:
    if isinstance(value, Mapping):
        out = dict(value)
        out["name"] = _name_for(kind, out.get("name"))
        return out
    return _name_for(kind, value)


def spec_dict(*, target: Any, workload: Any, nodes: int = 3, provider: str = "netns",
              nemesis: Any = None, time_limit: Any = "20s", **more: Any) -> dict[str, Any]:
    """A spec mapping from keyword arguments.  ``target``/``workload`` are a name, a
    ``module:Class`` path, the class itself, or a mapping with ``name`` and options;
    every other keyword is a top-level spec field (``concurrency``, ``seed`` …)."""
    d: dict[str, Any] = {
        "name": more.pop("name", "pytest"),
        "target": _named("target", target),
        "workload": _named("workload", workload),
        "nodes": {"provider": provider, "count": nodes},
        "time_limit": time_limit,
    }
    if nemesis is not None:
        d["nemesis"] = nemesis
    d.update(more)
    return d


def run(spec: str | os.PathLike | Mapping[str, Any] | None = None, *,
        store: str | os.PathLike | None = None, live: bool = False,
        stop: threading.Event | None = None, **parts: Any) -> Run:
    """Run ``spec`` (a YAML file, a mapping, or ``spec_dict(**parts)``) and judge it.

    Raises :class:`RunError` (one line) when the spec is wrong or the run cannot
    start; every run-time trouble instead ends in an ``unknown`` verdict.
    """
    from core.store import store_root
    from harness import spec as spec_mod
    from harness.lifecycle import RunAbort, execute
    from harness.plan import plan_from_spec

    if spec is None:
        spec = spec_dict(**parts)
    elif parts:
        raise TypeError("give a spec or keyword parts, not both")
    try:
        if isinstance(spec, Mapping):
            s = spec_mod.spec_from_dict(dict(spec), source="spec")
        else:
            s = spec_mod.load_spec(spec)
        plan = plan_from_spec(s)
        out = execute(plan, store_root(store or plan.store), live=live, stop=stop)
    except RunAbort as e:
        raise RunError(str(e)) from None
    except UserError as e:
        raise RunError(str(e)) from None
    word = verdict_word(out.verdict)
    return Run(word, summarize(out.verdict, out.results), out.run_dir.path,
               list(out.results), [out.error] if out.error else [],
               out.meta.get("interrupted"))


# ------------------------------------------------------------------ what a machine can do

def _docker_reason() -> str | None:
    try:
        import docker
        docker.from_env(timeout=5).ping()
    except Exception as e:  # noqa: BLE001 - any failure means "no usable engine"
        return f"needs a running Docker engine ({type(e).__name__})"
    return None


def _root_reason() -> str | None:
    return None if os.geteuid() == 0 else "needs root"


def _netns_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    lacking = [b for b in ("ip", "iptables") if shutil.which(b) is None]
    return f"needs {' and '.join(lacking)} for network namespaces" if lacking else None


def _ssh_reason() -> str | None:
    return None if shutil.which("sshd") or Path("/usr/sbin/sshd").exists() else \
        "needs openssh-server (sshd)"


def _fuse_reason() -> str | None:
    if os.geteuid() != 0 or not Path("/dev/fuse").exists():
        return "needs root and /dev/fuse"
    return None


_CHECKS = {"root": _root_reason, "netns": _netns_reason, "docker": _docker_reason,
           "ssh": _ssh_reason, "fuse": _fuse_reason}


def missing(*needs: str) -> str | None:
    """Why this machine cannot run a test needing ``needs``, or None.

    Known needs: ``root``, ``netns``, ``docker``, ``ssh``, ``fuse``; any other word
    is a program that must be on PATH (``"etcd"``, ``"nats-server"``)."""
    for need in needs:
        check = _CHECKS.get(need)
        if check is not None:
            reason = check()
        else:
            reason = None if shutil.which(need) else f"needs {need} on PATH"
        if reason:
            return reason
    return None
