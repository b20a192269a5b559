"""cpu-starve on a real docker node: the container's busy daemon is found on the host by its pid
namespace, capped in splitbrain's cgroup, the CPU share it really got is measured and close to
the cap, healing puts it back in the container's own cgroup, and a vanished controller's journal
alone does the same."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nemesis.dispatch import Nemesis
from nemesis.faults.cpu_starve import cgroup_kind, host_pids
from nemesis.journal import heal_journal, journal_path
from nemesis.reach import node_ref

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SPINNER = "n = 0\nwhile True:\n    n += 1\n"


class Spinner:
    name = "spinner"
    env_hook = None

    def __init__(self) -> None:
        self.d = {}

    def supports(self, fault):
        return True, ""

    def start(self, node):
        self.d[node.name] = node.start_daemon("spin", ["python3", "-c", SPINNER])

    def daemons(self, node):
        d = self.d.get(node.name)
        return [d] if d is not None and node.is_running(d) else []

    def fault_daemons(self, node):
        return self.daemons(node)


@pytest.fixture
def node(request, tmp_path):
    from nemesis_support import make_provider
    if cgroup_kind()[0] is None:
        pytest.skip(cgroup_kind()[1])
    prov = make_provider("docker", tmp_path / "store", request)
    try:
        yield prov.create(1)[0], tmp_path
    finally:
        prov.destroy()


def _cgroup(pid: int) -> str:
    return Path(f"/proc/{pid}/cgroup").read_text()


def test_cpu_starve_caps_a_container_daemon_measures_and_heals(node):
    n, tmp = node
    t = Spinner()
    t.start(n)
    d = t.daemons(n)[0]
    [host_pid] = host_pids(node_ref(n), [d.pgid], [d.pid])
    before = _cgroup(host_pid)
    assert "docker" in before
    nem = Nemesis([n], t, journal_path(tmp / "store", "csd1"),
                  {"seed": 1, "faults": ["cpu-starve"], "cpu_starve_share": 0.1})
    res = nem.apply("start-cpu-starve", "all")
    assert res["moved"]["n1"]["pids"] == [host_pid]
    assert "splitbrain-" in _cgroup(host_pid)
    time.sleep(2.0)
    out = nem.apply("stop-cpu-starve", None)
    share = out["measured"]["n1"]["cpu_share"]
    assert 0.03 <= share <= 0.16, out       # a busy loop capped at 10 % of a CPU
    assert _cgroup(host_pid) == before
    path = journal_path(tmp / "store", "csd2")
    nem2 = Nemesis([n], t, path, {"seed": 1, "faults": ["cpu-starve"]})
    cg2 = nem2.apply("start-cpu-starve", "all")["moved"]["n1"]["cgroup"]
    del nem2
    assert any("removed" in line for line in heal_journal(path, force=True))
    assert not Path(cg2).exists() and _cgroup(host_pid) == before
