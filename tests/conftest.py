"""Every test gets its own machine-wide state directory (core.machine_state).

Node state files and nemesis journals are kept in one place per machine so
that ``clean`` finds them from any directory; a test suite must not read or
reclaim the real machine's records (nor another test's), so the session and
then each test point ``SPLITBRAIN_STATE_DIR`` at a directory of their own.
Subprocesses the tests start inherit it.
"""

from __future__ import annotations

import os
import tempfile

import pytest

from core.machine_state import STATE_ENV

_SESSION_DIR: tempfile.TemporaryDirectory | None = None


def pytest_configure(config: pytest.Config) -> None:
    # Session- and module-scoped fixtures (shared clusters) start before any
    # function-scoped fixture can set the variable.
    global _SESSION_DIR
    if STATE_ENV not in os.environ:
        _SESSION_DIR = tempfile.TemporaryDirectory(prefix="splitbrain-state-")
        os.environ[STATE_ENV] = _SESSION_DIR.name


@pytest.fixture(autouse=True)
def _own_machine_state(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STATE_ENV, str(tmp_path_factory.mktemp("machine-state")))
