"""A daemon that exits by itself (a Galera joiner whose state transfer failed) is not left down:
the kill fault's restart and the final heal start it again and say that it had exited.  On the
host itself with real processes (no root)."""

from __future__ import annotations

import time

from nemesis import Nemesis
from targets.base import KillsDaemons, Target

from nemesis_support import LocalNode

# Exits by itself (code 12, as rsync does when its peer goes away) while a flag file exists,
# else stays up: what a joiner does whose first state transfer fails and whose next one works.
SCRIPT = ('if [ -e "$1/exit-once" ]; then rm -f "$1/exit-once"; '
          'echo "rsync returned code 12, giving up"; exit 12; fi; exec sleep 120')


class Sleeper(KillsDaemons, Target):
    name = "sleeper"
    workloads = ()

    def install(self, node):
        pass

    def configure(self, node):
        pass

    def start(self, node):
        if self.daemons(node):
            return
        self.track(node, node.start_daemon("sleeper", ["sh", "-c", SCRIPT, "sh", node.data_dir]))

    def healthy(self, node, timeout=1.0):
        return (True, "") if self.daemons(node) else (False, "down")

    def client(self, node, workload_name, options):
        raise NotImplementedError("no workloads: this target only runs a process")


def _until_down(t, node, within=10.0):
    deadline = time.monotonic() + within
    while t.daemons(node) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not t.daemons(node)


def test_kill_restart_and_final_heal_bring_back_a_daemon_that_exited_by_itself(tmp_path):
    nodes = [LocalNode(f"n{i}", tmp_path / f"n{i}") for i in (1, 2, 3)]
    n1, n2, n3 = nodes
    t = Sleeper({})
    t.nodes = nodes
    nem = Nemesis(nodes, t, tmp_path / "journal.json", {"seed": 1})
    try:
        for n in nodes:
            t.start(n)
        assert all(t.daemons(n) for n in nodes) and not any(t.exited(n) for n in nodes)
        assert not nem.fault("kill").in_force()

        (tmp_path / "n2" / "exit-once").touch()
        t.kill(n2)
        t.start(n2)                 # splitbrain's own restart, whose server then gives up
        _until_down(t, n2)
        assert [d.name for d in t.exited(n2)] == ["sleeper"]

        killed = nem.apply("kill", "n1")
        assert killed["nodes"] == ["n1"]
        assert t.exited(n1) == []   # killed by splitbrain: not "exited by itself"
        res = nem.apply("start", None)
        assert res["nodes"] == ["n1", "n2"], res
        assert res["exited"] == {"n2": ["sleeper"]}, res
        assert all(t.daemons(n) for n in nodes) and not any(t.exited(n) for n in nodes)

        # With no fault in force at all, the final heal still starts a node that exited.
        (tmp_path / "n3" / "exit-once").touch()
        t.kill(n3)
        t.start(n3)
        _until_down(t, n3)
        assert nem.fault("kill").in_force()
        healed = nem.heal_all()
        assert healed == ["restarted: n3 (n3's sleeper had exited by itself)"], healed
        assert all(t.daemons(n) for n in nodes) and not any(t.exited(n) for n in nodes)
        assert nem.heal_all() == []
    finally:
        t.stop_all()
    assert not any(t.daemons(n) for n in nodes)


def test_no_restart_of_exited_daemons_when_restarts_are_off(tmp_path):
    node = LocalNode("n1", tmp_path / "n1")
    t = Sleeper({})
    t.nodes = [node]
    nem = Nemesis([node], t, tmp_path / "journal.json", {"seed": 1,
                                                          "restart_killed_on_heal": False})
    try:
        (tmp_path / "n1" / "exit-once").touch()
        t.start(node)
        _until_down(t, node)
        assert nem.heal_all() == []
        assert not t.daemons(node) and [d.name for d in t.exited(node)] == ["sleeper"]
    finally:
        t.stop_all()
