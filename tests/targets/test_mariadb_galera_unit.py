"""MariaDB Galera target without a server: options, promised models, log patterns, the
full-cluster bootstrap choice, and the shared SQL workload logic."""

import pytest

import targets
from targets.base import OptionError
from targets.mariadb_galera.target import bootstrap_choice, grastate, recovered_seqno
from targets.sql_txn import Abort, bank_seed_rows, bank_txn, list_append_txn


def test_options_are_checked_with_the_field_named():
    T = targets.get("mariadb-galera")
    t = T({})
    assert (t.options["isolation"], t.options["wsrep_sync_wait"]) == ("serializable", 0)
    for bad, field in [({"isolation": "snapshot"}, "isolation"), ({"wsrep_sync_wait": 16},
                       "wsrep_sync_wait"), ({"wsrep_sync_wait": "1"}, "wsrep_sync_wait"),
                       ({"port": 0}, "port"), ({"galera": 1}, "galera")]:
        with pytest.raises(OptionError, match=field):
            T(bad)


def test_repeatable_read_promises_only_read_committed_and_serializable_only_si():
    T = targets.get("mariadb-galera")
    assert T({"isolation": "serializable"}).consistency_models() == ["snapshot-isolation"]
    assert T({"isolation": "repeatable-read"}).consistency_models() == ["read-committed"]
    assert T({"isolation": "read-committed"}).consistency_models() == ["read-committed"]


@pytest.mark.parametrize("line,bad", [
    ("2026-12-01  1:11:18 0 [ERROR] WSREP: failed to open gcomm backend connection: 110", False),
    ("2026-12-01  1:11:18 0 [Note] WSREP: Member 2.0 (n2) requested state transfer", False),
    ("2026-12-01  1:11:18 3 [ERROR] WSREP: Failed to apply write set: gtid: 1:77", True),
    ("2026-12-01  1:11:18 0 [ERROR] WSREP: Inconsistency detected: Inconsistent by consensus",
     True),
    ("2026-12-01  1:11:18 0 [ERROR] InnoDB: Database page corruption on disk or a failed read",
     True),
    ("2026-12-01  1:11:18 0 [ERROR] InnoDB: Page [page id: space=5, page number=3] log sequence "
     "number 99 is in the future! Current system log sequence number 12.", True),
    ("2026-12-01  1:11:18 0 [ERROR] [FATAL] InnoDB: Assertion failure in file x.cc line 9", True),
    ("mariadbd: /build/x.cc:12: void f(): Assertion `n > 0' failed.", True),
    ("2026-12-01  1:11:18 0 [Note] InnoDB: Starting crash recovery from checkpoint LSN=4", False),
])
def test_log_patterns_flag_corruption_and_fatal_wsrep_errors_only(line, bad):
    T = targets.get("mariadb-galera")
    hits = [p.name for p in T.log_patterns if p.invalid and p.compiled().search(line)]
    assert bool(hits) == bad, hits


@pytest.mark.parametrize("line,event", [
    # the last lines of a joiner whose rsync SST failed (measured on netns)
    ("2026-12-01  2:03:10 2 [ERROR] WSREP: SST request callback failed. This is unrecoverable, "
     "restart required.", False),
    ("2026-12-01  2:03:10 2 [Note] WSREP: /usr/sbin/mariadbd: Terminated.", True),
    ("2026-12-01  2:03:10 0 [ERROR] Aborting", True),
    ("2026-12-01  2:03:10 0 [Note] /usr/sbin/mariadbd: Shutdown complete", False),
    ("2026-12-01  2:03:10 0 [ERROR] Aborting the transaction of thread 7", False),
])
def test_a_server_that_gave_up_is_an_event_not_a_failure(line, event):
    T = targets.get("mariadb-galera")
    hits = [p for p in T.log_patterns if p.compiled().search(line)]
    assert [p.name for p in hits] == (["mariadb-gave-up"] if event else []), hits
    assert not any(p.invalid for p in hits)


def test_grastate_and_recovered_position_are_parsed():
    text = ("# GALERA saved state\nversion: 2.1\nuuid:    79000089-ed24-11f1-a2c9-029e59096d89\n"
            "seqno:   -1\nsafe_to_bootstrap: 0\n")
    assert grastate(text) == ("79000089-ed24-11f1-a2c9-029e59096d89", -1, False)
    assert grastate("") == ("", -1, False)
    log = ("[Note] InnoDB: Starting crash recovery\n[Note] WSREP: Recovered position: "
           "79000089-ed24-11f1-a2c9-029e59096d89:42\n")
    assert recovered_seqno(log) == 42
    assert recovered_seqno("[ERROR] Aborting") == -1


def test_bootstrap_from_the_safe_node_else_the_highest_seqno():
    assert bootstrap_choice([("u", 5, False), ("u", 3, True), ("u", 9, False)]) == 1
    assert bootstrap_choice([("u", 5, False), ("u", 9, False), ("u", 9, False)]) == 1
    assert bootstrap_choice([("u", -1, False), ("u", -1, False)]) == 0


def test_shared_workload_logic_records_what_the_statements_did():
    store: dict = {}
    out = list_append_txn("txn", [["append", 1, 5], ["r", 1, None], ["r", "1", None]],
                          lambda k, v: store.setdefault(k, []).append(v),
                          lambda k: list(store.get(k, [])))
    assert out == [["append", 1, 5], ["r", 1, [5]], ["r", "1", []]]
    with pytest.raises(ValueError, match="micro-op"):
        list_append_txn("txn", [["w", 1, 5]], lambda k, v: None, lambda k: [])
    assert bank_seed_rows(10, 3) == [(0, 4), (1, 3), (2, 3)]
    bal = dict(bank_seed_rows(10, 3))

    def run(value, negative=False):
        return bank_txn("transfer", value, negative_balances=negative,
                        read_all=lambda: sorted(bal.items()),
                        read_some=lambda ids: [(i, bal[i]) for i in ids if i in bal],
                        set_balance=bal.__setitem__)
    run({"from": 0, "to": 2, "amount": 4})
    assert bal == {0: 0, 1: 3, 2: 7}
    with pytest.raises(Abort, match="insufficient"):
        run({"from": 0, "to": 1, "amount": 1})
    with pytest.raises(Abort, match="no account 9"):
        run({"from": 0, "to": 9, "amount": 1})
    run({"from": 0, "to": 1, "amount": 1}, negative=True)
    assert bal == {0: -1, 1: 4, 2: 7}
