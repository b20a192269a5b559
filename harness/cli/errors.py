"""The CLI's error: the one ``UserError`` (``core.errors``), printed as one line, exit 2."""

from core.errors import SpecError, UserError

__all__ = ["SpecError", "UserError"]
