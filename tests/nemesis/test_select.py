"""Node selectors that ask the target who leads: primaries, a follower, the followers."""

import random

import pytest

from nemesis.schedule import validate_nemesis_spec
from nemesis.select import select_nodes

NAMES = ["n1", "n2", "n3"]


def test_follower_is_never_the_primary():
    picked = {select_nodes("follower", NAMES, random.Random(s), lambda: ["n2"])[0]
              for s in range(50)}
    assert picked == {"n1", "n3"}


def test_followers_are_every_other_node():
    assert select_nodes("followers", NAMES, random.Random(0), lambda: ["n2"]) == ["n1", "n3"]
    assert select_nodes("primaries", NAMES, random.Random(0), lambda: ["n2"]) == ["n2"]


@pytest.mark.parametrize("sel", ["follower", "followers", "primaries"])
def test_no_known_primary_is_an_error_not_a_guess(sel):
    with pytest.raises(ValueError, match="reports no primary"):
        select_nodes(sel, NAMES, random.Random(0), lambda: [])
    with pytest.raises(ValueError, match="no target"):
        select_nodes(sel, NAMES, random.Random(0), None)


def test_all_primaries_leaves_no_follower():
    with pytest.raises(ValueError, match="every node is a primary"):
        select_nodes("follower", NAMES, random.Random(0), lambda: list(NAMES))


class _Leaderless:
    name = "leaderless"

    def supports(self, fault):
        return True, ""

    def fault_daemons(self, node):
        return []


class _Led(_Leaderless):
    def primaries(self, nodes):
        return list(nodes)[:1]


def test_validation_refuses_follower_without_primaries():
    spec = {"faults": ["cpu-starve"], "targets": ["follower"]}
    problems = validate_nemesis_spec(spec, _Leaderless(), 3)
    assert [p.path for p in problems] == [("nemesis", "targets")]
    assert "HasPrimaries" in problems[0].message
    assert validate_nemesis_spec(spec, _Led(), 3) == []
