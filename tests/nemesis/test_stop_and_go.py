"""Stop-and-go on a real netns node and a real docker node: the daemon really is stopped and
continued in the duty cycle asked for (its CPU progress drops to about the going share), healing
leaves it running and records the timing that happened, and a vanished controller's journal
continues it.  cpu-starve here runs on netns (its docker case: test_cpu_starve_docker.py)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from nemesis_support import PROVIDERS, make_provider, py_for

from harness.nodes import get_provider
from nemesis.dispatch import Nemesis
from nemesis.journal import heal_journal, journal_path

if os.geteuid() != 0:
    pytest.skip("needs root for a netns node", allow_module_level=True)

# A busy process that counts its own progress into a file.
# It replaces the file whole: a reader racing a truncating write saw 0 and a negative rate.
SPINNER = r"""
import os, sys, time
n = 0; t = time.monotonic()
while True:
    n += 1
    if n % 20000 == 0:
        open(sys.argv[1] + ".new", "w").write(str(n))
        os.replace(sys.argv[1] + ".new", sys.argv[1])
"""


class Spinner:
    name = "spinner"
    env_hook = None

    def __init__(self) -> None:
        self.d = {}

    def supports(self, fault):
        return True, ""

    def start(self, node):
        self.d[node.name] = node.start_daemon("spin", [py_for(node), "-c", SPINNER,
                                                      f"{node.data_dir}/count"])

    def daemons(self, node):
        d = self.d.get(node.name)
        return [d] if d is not None and node.is_running(d) else []

    def fault_daemons(self, node):
        return self.daemons(node)


def _count(node) -> int:
    r = node.exec(["cat", f"{node.data_dir}/count"])
    return int(r.stdout or 0) if r.ok else 0


def _rate(node, secs: float) -> float:
    a = _count(node)
    time.sleep(secs)
    return (_count(node) - a) / secs


def _state(node, pid: int) -> str:
    """The process's state letter as the node sees it (a container's pids are its own)."""
    stat = node.check(["cat", f"/proc/{pid}/stat"]).stdout
    return stat[stat.rindex(b")") + 2:][:1].decode()


@pytest.fixture
def node(tmp_path):
    prov = get_provider("netns", tmp_path / "store")
    try:
        yield prov.create(1)[0], tmp_path
    finally:
        prov.destroy()


@pytest.fixture(params=PROVIDERS)
def any_node(request, tmp_path):
    prov = make_provider(request.param, tmp_path / "store", request)
    try:
        yield prov.create(1)[0], tmp_path
    finally:
        prov.destroy()


def test_duty_cycle_slows_the_daemon_and_heal_restores_it(any_node):
    n, tmp = any_node
    t = Spinner()
    t.start(n)
    time.sleep(0.5)
    free = _rate(n, 1.5)
    nem = Nemesis([n], t, journal_path(tmp / "store", "sg1"),
                  {"seed": 1, "faults": ["stop-and-go"], "stop_go_stopped_ms": 300,
                   "stop_go_period_ms": 400})
    res = nem.apply("start-stop-and-go", "all")
    assert res["nodes"] == ["n1"] and res["stopped_ms"] == 300
    slowed = _rate(n, 2.0)
    out = nem.apply("stop-stop-and-go", None)
    m = out["measured"]
    assert m["cycles"] >= 4, m
    assert 280 <= m["stopped_ms_mean"] <= 450, m
    d = t.daemons(n)[0]
    time.sleep(0.2)
    assert _state(n, d.pid) != "T"
    # running a quarter of the time: well under half its free rate (a shared machine's noise)
    assert slowed < 0.5 * free, (slowed, free)
    assert nem.heal_all() == []
    n.signal(d, signal.SIGKILL, group=True)


def test_a_vanished_controller_leaves_nothing_stopped(any_node):
    n, tmp = any_node
    t = Spinner()
    t.start(n)
    path = journal_path(tmp / "store", "sg2")
    nem = Nemesis([n], t, path, {"seed": 1, "faults": ["stop-and-go"],
                                 "stop_go_stopped_ms": 900, "stop_go_period_ms": 1000})
    nem.apply("start-stop-and-go", "all")
    d = t.daemons(n)[0]
    time.sleep(0.3)
    assert _state(n, d.pid) == "T"
    nem.fault("stop-and-go")._stop.set()      # the controller dies mid-stop: nobody continues
    nem.fault("stop-and-go")._thread.join(2)
    n.signal(d, signal.SIGSTOP, group=True)
    del nem
    out = heal_journal(path, force=True)
    assert any("resumed" in line for line in out), out
    time.sleep(0.2)
    assert _state(n, d.pid) != "T"
    n.signal(d, signal.SIGKILL, group=True)


@pytest.mark.netns
def test_cpu_starve_caps_the_share_it_measures_and_heal_moves_back(node):
    from nemesis.faults.cpu_starve import cgroup_kind
    kind, why = cgroup_kind()
    if kind is None:
        pytest.skip(why)
    n, tmp = node
    t = Spinner()
    t.start(n)
    pid = t.daemons(n)[0].pid
    before = open(f"/proc/{pid}/cgroup").read()
    nem = Nemesis([n], t, journal_path(tmp / "store", "cs1"),
                  {"seed": 1, "faults": ["cpu-starve"], "cpu_starve_share": 0.1})
    res = nem.apply("start-cpu-starve", "all")
    cg = res["moved"]["n1"]["cgroup"]
    assert pid in res["moved"]["n1"]["pids"] and os.path.isdir(cg)
    time.sleep(2.0)
    out = nem.apply("stop-cpu-starve", None)
    share = out["measured"]["n1"]["cpu_share"]
    assert 0.03 <= share <= 0.16, out       # a busy loop capped at 10 % of a CPU
    assert not os.path.exists(cg)
    assert open(f"/proc/{pid}/cgroup").read() == before
    # and after a vanished controller, the journal alone puts things back
    path = journal_path(tmp / "store", "cs2")
    nem2 = Nemesis([n], t, path, {"seed": 1, "faults": ["cpu-starve"]})
    cg2 = nem2.apply("start-cpu-starve", "all")["moved"]["n1"]["cgroup"]
    del nem2
    assert any("removed" in line for line in heal_journal(path, force=True))
    assert not os.path.exists(cg2) and open(f"/proc/{pid}/cgroup").read() == before
    os.kill(pid, signal.SIGKILL)


@pytest.mark.netns
def test_the_final_heal_measures_a_window_the_run_cut_short(node):
    # The main phase often ends inside a window; its heal_all must still record what the
    # fault measured (the run writes it into the history's heal op).
    from nemesis.faults.cpu_starve import cgroup_kind
    n, tmp = node
    t = Spinner()
    t.start(n)
    faults = ["stop-and-go"] + (["cpu-starve"] if cgroup_kind()[0] else [])
    nem = Nemesis([n], t, journal_path(tmp / "store", "fh1"),
                  {"seed": 1, "faults": faults, "stop_go_stopped_ms": 100,
                   "stop_go_period_ms": 200, "cpu_starve_share": 0.2})
    for f in faults:
        nem.apply(f"start-{f}", "all")
    time.sleep(1.2)
    lines, measured = nem.heal_all_measured()
    assert len(lines) == len(faults) and sorted(measured) == sorted(faults), (lines, measured)
    assert measured["stop-and-go"]["cycles"] >= 3, measured
    if "cpu-starve" in measured:
        assert 0 < measured["cpu-starve"]["n1"]["cpu_share"] <= 0.4, measured
    os.kill(t.daemons(n)[0].pid, signal.SIGKILL)
