"""Errors the nemesis raises; each message names the fault and what was wrong."""

from __future__ import annotations


class NemesisError(RuntimeError):
    """A fault could not be applied or healed."""


class UnsupportedFault(NemesisError):
    """The fault cannot work here (kernel, target or node lacks it)."""
