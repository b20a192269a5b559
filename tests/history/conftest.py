"""Run a module's loading tests through both JSON Lines loaders: the
per-record one (small files) and the compiled scanner (large files)."""

from __future__ import annotations

import pytest

from checkers.history import jsonl


@pytest.fixture(params=["per-record", "scanner"])
def jsonl_loader(request, monkeypatch):
    if request.param == "scanner":
        monkeypatch.setattr(jsonl, "SCAN_MIN_BYTES", 0)
        monkeypatch.setenv("SPLITBRAIN_JSONL_SCAN_MIN_BYTES", "0")  # for `python -m harness`
    return request.param
