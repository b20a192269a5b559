"""A history writer killed with SIGKILL mid-stream leaves a loadable file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from checkers.history import load_history, validate

pytestmark = pytest.mark.usefixtures("jsonl_loader")  # both JSON Lines loaders

WRITER = textwrap.dedent("""
    import sys, time
    from checkers.history import HistoryWriter, Op
    w = HistoryWriter(sys.argv[1])
    big = "x" * 20000   # long lines make a torn write likely
    i = 0
    p = 0
    while i < 2_000_000:
        w.write(Op(i, time.monotonic_ns(), p, "invoke", "write", key="k", value=big))
        w.write(Op(i + 1, time.monotonic_ns(), p, "ok", "write", key="k", value=big))
        if i == 0:
            print("started", flush=True)
        i += 2
        p = (p + 1) % 10
""")


def test_sigkill_mid_stream_leaves_a_loadable_history(tmp_path):
    path = tmp_path / "history.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        deadline = time.monotonic() + 30
        while path.stat().st_size < 2_000_000 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    size = path.stat().st_size
    h = load_history(path)
    data = path.read_bytes()
    complete_lines = data.count(b"\n")
    # at most the torn last line is missing; every complete line loaded
    assert len(h) == complete_lines
    assert len(h) >= 50
    if not data.endswith(b"\n"):
        assert h.warnings and "torn last line" in h.warnings[0]
    # the prefix is a well-formed history (a trailing invoke just counts as info)
    assert validate(h) == []
    assert size > 0


def test_torn_line_in_the_middle_is_an_error(tmp_path):
    from checkers.history import HistoryError
    import pytest
    p = tmp_path / "h.jsonl"
    p.write_text('{"index":0,"process":0,"type":"invoke","f":"read"}\n{"index":1,"proc\n'
                 '{"index":2,"process":0,"type":"ok","f":"read"}\n')
    with pytest.raises(HistoryError) as e:
        load_history(p)
    assert ":2:" in str(e.value)
