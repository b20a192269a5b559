"""A target is a small required core; kill, pause and primaries are capabilities a
fault checks for, refusing a target without them with a reason."""

from __future__ import annotations

import pytest


def test_a_target_is_a_small_core_and_kill_is_a_capability(tmp_path):
    from core.capabilities import HasPrimaries, Killable
    from nemesis import Nemesis, UnsupportedFault
    from targets.base import Target

    from nemesis_support import LocalNode

    class Minimal(Target):
        """Only the required core: no kill, no pause, no primaries."""
        name = "minimal"

        def install(self, node): pass
        def configure(self, node): pass
        def start(self, node): pass
        def healthy(self, node, timeout=1.0): return True, ""
        def client(self, node, workload_name, options): raise NotImplementedError

    t = Minimal({})
    assert not isinstance(t, Killable) and not isinstance(t, HasPrimaries)
    ok, why = t.supports("kill")
    assert not ok and "Killable" in why
    assert t.supports("partition") == (True, "")
    nem = Nemesis([LocalNode("n1", tmp_path / "n1")], t, tmp_path / "j.json", {"seed": 1})
    with pytest.raises(UnsupportedFault, match="kill"):
        nem.apply("kill", "one")
    assert nem.primaries() == [] and nem.heal_all() == []
