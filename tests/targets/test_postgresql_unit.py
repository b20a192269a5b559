"""PostgreSQL target without a server: options, log patterns, outcome classification helpers."""

import pytest

import targets
from targets.base import OptionError


def test_options_are_checked_with_the_field_named():
    T = targets.get("postgresql")
    assert T({}).options["isolation"] == "serializable"
    for bad, field in [({"isolation": "snapshot"}, "isolation"), ({"topology": "patroni2"}, "topology"),
                       ({"read_from": "local"}, "read_from"), ({"port": 0}, "port"),
                       ({"synchronous_commit": "maybe"}, "synchronous_commit")]:
        with pytest.raises(OptionError, match=field):
            T(bad)


@pytest.mark.parametrize("line,bad", [
    ("2026-11-30 22:58:03.948 UTC [1] LOG:  invalid record length at 0/199B858: wanted 24, got 0",
     False),
    ("2026-11-30 22:58:03.948 UTC [1] PANIC:  could not locate a valid checkpoint record", True),
    ("2026-11-30 22:58:03.948 UTC [1] ERROR:  invalid page in block 7 of relation base/5/16384",
     True),
    ("TRAP: FailedAssertion(\"false\", File: \"x.c\", Line: 1, PID: 9)", True),
    ("2026-11-30 22:58:03.907 UTC [1] FATAL:  the database system is starting up", False),
])
def test_log_patterns_flag_corruption_not_normal_recovery(line, bad):
    T = targets.get("postgresql")
    hits = [p.name for p in T.log_patterns if p.compiled().search(line)]
    assert bool(hits) == bad, hits
