"""The process target on real netns nodes, judged end to end through
``splitbrain.testing.run`` (the lifecycle ``splitbrain run`` uses): a tiny TCP
register server (tests/data/tcp_register_server.py) is started from a command
template, killed, paused and partitioned like any target."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from splitbrain.testing import missing, run

pytestmark = [pytest.mark.netns, pytest.mark.db, pytest.mark.slow]

DATA = Path(__file__).resolve().parents[1] / "data"

if missing("netns"):
    pytest.skip(missing("netns"), allow_module_level=True)


@pytest.fixture(autouse=True)
def _client_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(DATA))


def target(**more):
    return {"name": more.pop("name", "process"),
            "command": [sys.executable, str(DATA / "tcp_register_server.py"), "{port}",
                        "{data_dir}"],
            "port": 7311, "client": "tcp_register_client:RegisterClient", **more}


def test_three_unreplicated_copies_are_found_not_linearizable(tmp_path):
    # Each node keeps its own register: a read on one node misses a write
    # acknowledged by another, which only the checker can say.  The target is
    # named by import path, as a class outside any registry would be.
    marker = tmp_path / "init-ran"
    init = [sys.executable, "-c", "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + ';')",
            str(marker), "{node}"]
    r = run(target=target(name="targets.process.target:ProcessTarget", init_command=init),
            workload={"name": "register", "read_fraction": 0.5},
            nodes=3, time_limit="4s", concurrency=6, rate=200, seed=3, store=tmp_path)
    assert r.verdict == "invalid", r
    lin = next(c for c in r.results if c.checker == "linearizable")
    assert lin.valid is False
    assert r.history_path.stat().st_size > 0 and r.report_path.exists()
    assert marker.read_text() == "n1;"     # once, on the first node, before the workload


def test_one_durable_node_survives_kill_and_pause(tmp_path):
    # One copy that fsyncs before acknowledging: kill -9 and SIGSTOP must not
    # cost an acknowledged write, and the run stays linearizable.
    r = run(target=target(), workload={"name": "register"}, nodes=1, time_limit="8s",
            concurrency=3, rate=100, seed=5, store=tmp_path,
            nemesis={"faults": ["kill", "pause"], "interval": "1s"},
            health_timeout="10s")
    assert r.valid, r
    nemesis = [json.loads(l) for l in r.history_path.read_text().splitlines()
               if '"nemesis"' in l]
    done = [(op["f"], op["value"]) for op in nemesis if op["type"] == "info"]
    # each kill hit the running process; the restart after it is a new process
    restarts = [(killed["pids"]["n1"], started["pids"]["n1"])
                for (f, killed), (g, started) in zip(done, done[1:])
                if f == "kill" and g == "start"]
    assert restarts and all(k and s and k != s for k, s in restarts)
    assert any(f == "pause" and v["nodes"] == ["n1"] for f, v in done)
