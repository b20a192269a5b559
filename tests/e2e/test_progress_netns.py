"""A real `--no-live` run prints where it is: a line per phase, per fault applied and
healed, and the op counts every 10 s — all before the verdict table (issue 20)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from .conftest import REPO, assert_nothing_left, need_netns_etcd, state_for

pytestmark = [pytest.mark.netns, pytest.mark.db]


def test_no_live_run_prints_phase_fault_and_progress_lines(tmp_path):
    need_netns_etcd()
    store = tmp_path / "store"
    env = dict(os.environ, SPLITBRAIN_STORE=str(store), PYTHONPATH=str(REPO),
               SPLITBRAIN_STATE_DIR=str(state_for(store)))
    p = subprocess.run([sys.executable, "-m", "harness", "run", "--target", "etcd", "--nodes", "3",
                        "--workload", "set", "--nemesis", "partition,kill",
                        "--nemesis-interval", "8s", "--time-limit", "25", "--rate", "50",
                        "--seed", "3", "--no-live"],
                       cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=300)
    out = p.stdout
    assert p.returncode in (0, 1, 2), out[-3000:]
    lines = out.splitlines()

    def first(pattern: str) -> int:
        for i, line in enumerate(lines):
            if re.search(pattern, line):
                return i
        raise AssertionError(f"no line matching {pattern!r} in:\n{out[-4000:]}")

    verdicts = first(r"Verdicts")
    order = [first(r"\] starting nodes$"), first(r"\] nodes up; "),
             first(r"\] target healthy; main phase"), first(r"\] main phase over; healing"),
             first(r"\] recovery: "), first(r"\] final phase"), first(r"\] checking the history")]
    assert order == sorted(order) and order[-1] < verdicts, order
    # both kinds requested were tried (round robin) and healed
    assert first(r"fault applied: start-partition ") < verdicts
    assert first(r"fault applied: kill ") < verdicts
    assert first(r"healed: (stop-partition|start|everything)") < verdicts
    ticks = [l for l in lines if re.search(r"\] main: ops: [\d,]+ done \(", l)]
    assert len(ticks) >= 2, out[-3000:]
    assert_nothing_left(store)
