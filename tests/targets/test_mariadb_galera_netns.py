"""MariaDB Galera on real netns nodes: a 3-node cluster bootstrapped and joined by rsync SST,
transactions of every workload through the real client on different nodes, the outcome rules
(deadlocks and certification failures are fail, a paused server is info after COMMIT), a lost
update that InnoDB's REPEATABLE READ really allows, kill + rejoin, and a whole-cluster crash
restarted from the node with the most recent state.  Nothing is left behind."""

import os
import threading
import time

import pytest

pytestmark = [pytest.mark.netns, pytest.mark.db, pytest.mark.slow]

if os.geteuid() != 0 or not (os.path.exists("/usr/sbin/mariadbd")
                             and os.path.exists("/usr/lib/galera/libgalera_smm.so")):
    pytest.skip("needs root, Debian's mariadb-server and galera-4", allow_module_level=True)

from cluster_support import append_until_ok, read_list, timed_txn, netns_cluster, until


def _concurrently(clients, ops, timeout=10.0):
    """Run each client's op in its own thread; the clients' transact waits at a barrier after
    the first half of its micro-ops, so both transactions read before either writes."""
    barrier = threading.Barrier(len(clients))
    results = [None] * len(clients)

    for c in clients:
        base = type(c)

        class Halting(base):
            def transact(self, cur, f, key, value):
                out = base.transact(self, cur, f, key, value[:1])
                barrier.wait(5)
                return out + base.transact(self, cur, f, key, value[1:])
        c.__class__ = Halting

    def run(i):
        results[i] = clients[i].invoke("txn", None, ops[i], timeout)
    th = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for x in th:
        x.start()
    for x in th:
        x.join()
    return results



def _no_mariadbd_left(nodes):
    # by the node's data directory (in every argv: --defaults-file, SST scripts, rsync):
    # a network namespace does not hide other processes on the host
    return all(not n.exec(["pgrep", "-f", n.data_dir], timeout=5).ok for n in nodes)


def test_cluster_workloads_outcomes_lost_update_kill_rejoin_and_pause(tmp_path):
    with netns_cluster(tmp_path, "mariadb-galera", {"isolation": "repeatable-read",
                                                    "wsrep_sync_wait": 1},
                       nodes=3, health_s=180) as (t, nodes):
        n1, n2, n3 = nodes
        assert t.primaries(nodes) == [n1]
        a = t.client(n2, "list-append", {})
        assert a.invoke("txn", None, [["append", 1, 10], ["append", 1, 11], ["r", 1, None]], 5.0) \
            == ("ok", [["append", 1, 10], ["append", 1, 11], ["r", 1, [10, 11]]], None)
        # another node, wsrep_sync_wait=1: the read waits for the append to be applied there
        a3 = t.client(n3, "list-append", {})
        assert a3.invoke("txn", None, [["r", 1, None], ["r", "1", None]], 5.0) \
            == ("ok", [["r", 1, [10, 11]], ["r", "1", []]], None)  # 1 and "1" are two keys
        r = t.client(n1, "rw-register", {})
        assert r.invoke("txn", None, [["r", 5, None], ["w", 5, 1], ["r", 5, None]], 5.0) \
            == ("ok", [["r", 5, None], ["w", 5, 1], ["r", 5, 1]], None)
        b = t.client(n3, "bank", {"accounts": 4, "total": 40})
        assert b.invoke("read", None, None, 5.0) == ("ok", {"0": 10, "1": 10, "2": 10, "3": 10},
                                                     None)
        assert b.invoke("transfer", None, {"from": 0, "to": 3, "amount": 4}, 5.0)[0] == "ok"
        assert b.invoke("transfer", None, {"from": 0, "to": 1, "amount": 7}, 5.0) \
            == ("fail", None, "insufficient funds")

        # Lost update on one node: both read x, both write it, both commit (InnoDB's
        # REPEATABLE READ does not abort the second writer).  A real anomaly, not a planted one.
        c1, c2 = (t.client(n1, "rw-register", {}) for _ in range(2))
        got = _concurrently([c1, c2], [[["r", "x", None], ["w", "x", 1]],
                                       [["r", "x", None], ["w", "x", 2]]])
        assert [g[0] for g in got] == ["ok", "ok"], got
        assert got[0][1][0] == got[1][1][0] == ["r", "x", None], got  # both read the same state
        # Two nodes writing the same row, both before either commits (the barrier sits after
        # the writes): Galera's certification aborts the second committer, 1213 → fail.  (With
        # the reads first, one commit may replicate before the other's write: then both are
        # ok — the lost update Galera allows — so that order proves nothing about certification.)
        d1, d2 = t.client(n1, "rw-register", {}), t.client(n2, "rw-register", {})
        got = _concurrently([d1, d2], [[["w", "y", 1], ["r", "y", None]],
                                       [["w", "y", 2], ["r", "y", None]]])
        assert sorted(g[0] for g in got) == ["fail", "ok"], got
        assert any(g[2] and g[2].startswith("1213") for g in got), got

        # kill + rejoin: the node comes back by IST/SST and has every committed append
        t.kill(n2)
        assert not t.daemons(n2)
        typ, _, err = a.invoke("txn", None, [["append", 1, 12]], 2.0)
        assert typ == "fail", (typ, err)  # refused before COMMIT: certainly not applied
        tried = append_until_ok(a3, 1, 13)
        t.start(n2)
        ok, why = t.wait_healthy(120)
        assert ok, why
        seen = read_list(a, 1)
        assert seen[:2] == [10, 11] and tried[-1] in seen, (seen, tried)
        assert set(seen[2:]) <= set(tried), (seen, tried)  # only attempted values, no 12

        # A server paused with COMMIT in flight: info, within the op timeout.
        class PauseBeforeCommit(type(a)):
            def transact(self, cur, f, key, value):
                out = super().transact(cur, f, key, value)
                t.pause(n2)
                return out
        p = t.client(n2, "list-append", {})
        assert p.invoke("txn", None, [["r", 1, None]], 5.0)[0] == "ok"  # connected
        p.__class__ = PauseBeforeCommit
        try:
            typ, err, took = timed_txn(p, [["append", 2, 1]], 1.5)
        finally:
            t.resume(n2)
        assert (typ, err) == ("info", "timeout") and took < 3, (typ, err, took)
        for c in (a, a3, r, b, c1, c2, d1, d2, p):
            c.close()
        t.stop_all()
        assert _no_mariadbd_left(nodes)


def test_whole_cluster_crash_restarts_from_the_most_recent_node(tmp_path):
    with netns_cluster(tmp_path, "mariadb-galera", {"isolation": "serializable"}, nodes=3,
                       health_s=180) as (t, nodes):
        n1, n2, n3 = nodes
        # Serializable on one node: both read x under shared locks, both want it exclusively:
        # InnoDB's deadlock detector aborts one (1213) → fail.
        c1, c2 = (t.client(n3, "rw-register", {}) for _ in range(2))
        got = _concurrently([c1, c2], [[["r", "x", None], ["w", "x", 1]],
                                       [["r", "x", None], ["w", "x", 2]]])
        assert sorted(g[0] for g in got) == ["fail", "ok"], got
        assert any(g[2] and g[2].startswith("1213") for g in got), got

        # n1 dies first; n3 commits more after it; then n2 and n3 crash too.  n3 holds the most
        # recent state, so the cluster must come back from n3 whichever node is started first.
        w = t.client(n3, "list-append", {})
        assert w.invoke("txn", None, [["append", "k", 1]], 5.0)[0] == "ok"
        t.kill(n1)
        tried = append_until_ok(w, "k", 2)
        t.kill(n2)  # n3 alone: not a primary component any more
        t.kill(n3)
        t.start(n1)
        for n in nodes:
            t.start(n)
        ok, why = t.wait_healthy(150)
        assert ok, why
        r = t.client(n1, "list-append", {})
        seen = read_list(r, "k")
        assert seen[0] == 1 and tried[-1] in seen, (seen, tried)
        assert set(seen[1:]) <= set(tried), (seen, tried)
        for c in (c1, c2, w, r):
            c.close()


@pytest.mark.skipif(not os.path.exists("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"),
                    reason="needs Debian's libfaketime")
def test_libfaketime_moves_mariadbd_clock(tmp_path):
    """A server started with the nemesis' clock environment (after the drop to mysql) comes up
    Synced, and an offset written into its file moves the time SQL sees; clearing it brings
    the clock back."""
    from nemesis.faketime import apply_offset, clock_env

    def skew(t, n):
        return float(t._admin(n, "SELECT UNIX_TIMESTAMP(NOW(6))").strip()) - time.time()
    with netns_cluster(tmp_path, "mariadb-galera", {}, nodes=1, health_s=120,
                       env_hook=clock_env) as (t, nodes):
        n = nodes[0]
        assert abs(skew(t, n)) < 30
        measured = apply_offset(n, 3600)
        assert 3599 < measured < 3601, measured
        assert 3500 < skew(t, n) < 3700
        apply_offset(n, None)
        assert abs(skew(t, n)) < 30
        c = t.client(n, "list-append", {})
        assert c.invoke("txn", None, [["append", 1, 1]], 5.0)[0] == "ok"
        c.close()


def _kill_rsync_of(node, within: float) -> list[str]:
    """SIGKILL the joiner's rsync daemon of ``node``'s state transfer as soon as it appears
    (found by the node's data directory in its argv; netns nodes share the host's pids): the
    SST fails as it does when rsync dies (code 12, "error in rsync protocol data stream")."""
    import signal
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        hit = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            text = " ".join(a.decode(errors="replace") for a in argv)
            if argv and argv[0].endswith(b"rsync") and node.data_dir in text:
                hit.append(text)
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if hit:
            return hit
        time.sleep(0.01)
    return []


def test_joiner_whose_sst_failed_is_restarted_by_the_heal_and_noted(tmp_path):
    """A joiner whose rsync dies mid-SST exits by itself; the kill fault's heal (here the
    final heal_all, with no fault in force) starts it again, says it had exited, and the log
    pattern for a server that gave up matches its log."""
    from nemesis import Nemesis
    from targets.mariadb_galera.target import GaleraTarget
    with netns_cluster(tmp_path, "mariadb-galera", {}, nodes=3, health_s=180) as (t, nodes):
        n1, n2, n3 = nodes
        w = t.client(n1, "list-append", {})
        assert w.invoke("txn", None, [["append", 1, 1]], 5.0)[0] == "ok"
        t.kill(n3)
        # no grastate: the joiner cannot use IST and needs a full SST by rsync
        n3.check(["rm", "-f", f"{t._datadir(n3)}/grastate.dat"], timeout=10)
        nem = Nemesis(nodes, t, tmp_path / "journal.json", {"seed": 1, "faults": []})
        t.start(n3)
        assert _kill_rsync_of(n3, 60), "no rsync of the SST seen"
        assert until(lambda: not t.daemons(n3), 60), "the joiner did not exit after its SST failed"
        assert [d.name for d in t.exited(n3)] == ["mariadbd"]
        log = n3.exec(["cat", t._log(n3)], timeout=10).text()
        gave_up = [p for p in GaleraTarget.log_patterns if p.name == "mariadb-gave-up"]
        assert gave_up and gave_up[0].compiled().search(log), log[-3000:]
        assert not gave_up[0].invalid
        healed = nem.heal_all()
        assert healed == ["restarted: n3 (n3's mariadbd had exited by itself)"], healed
        ok, why = t.wait_healthy(150)
        assert ok, why
        r = t.client(n3, "list-append", {})
        assert until(lambda: r.invoke("txn", None, [["r", 1, None]], 5.0)
                     == ("ok", [["r", 1, [1]]], None), 30)
        for c in (w, r):
            c.close()
