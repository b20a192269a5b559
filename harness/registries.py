"""Every extension point's registry, by kind: what ``splitbrain list`` walks and
``splitbrain.register`` adds to."""

from __future__ import annotations

from typing import Any

KINDS = ("target", "workload", "checker", "fault", "provider")


def registry(kind: str) -> Any:
    """The :class:`core.registry.Registry` of ``kind`` (one of :data:`KINDS`)."""
    if kind == "target":
        import targets
        return targets.REGISTRY
    if kind == "workload":
        import workloads
        return workloads.REGISTRY
    if kind == "checker":
        from harness.checking import CHECKERS
        return CHECKERS
    if kind == "fault":
        from nemesis.faults import REGISTRY
        return REGISTRY
    if kind == "provider":
        from harness.nodes import PROVIDERS
        return PROVIDERS
    raise ValueError(f"{kind!r} is not a kind; expected one of {', '.join(KINDS)}")


def register(kind: str, name: str, ref: Any) -> None:
    """Add ``name`` for this process: ``ref`` is the object or ``"module:Attr"``."""
    if kind == "checker":
        from checkers.registry import as_checker, register as add_checker
        c = as_checker(name, ref if not isinstance(ref, str) else registry(kind).get(ref))
        add_checker(name, c.fn, c.description, c.judges_client_ops)
        return
    registry(kind).register(name, ref)
