"""What a checker tells a progress display while it works (``reports.console.
CheckProgress`` is one; ``checkers/`` never imports it).  Checkers that take a
``progress`` option call these, from the checking thread only."""

from __future__ import annotations

from typing import Any, Protocol


class Progress(Protocol):
    def begin(self, total_keys: int) -> None:
        """The check has this many independent keys (1 for a whole history)."""

    def start_key(self, key: Any, total: int | None = None) -> None:
        """Work on ``key`` (``total`` ops) has begun, here or in a pool worker."""

    def finish_key(self, key: Any, verdict: Any = True) -> None:
        """``key`` has its verdict (True, False or "unknown")."""
