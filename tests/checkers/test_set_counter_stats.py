"""set / counter / stats / exceptions / log-patterns on histories built to
pass and histories built to fail."""

from __future__ import annotations

import pytest

from checkers import registry
from checkers.history import History


class H:
    """Builds a history: ``inv``/``ok``/``fail``/``info`` append ops in order."""

    def __init__(self):
        self.recs = []

    def _add(self, p, typ, f, value, key=None, error=None):
        r = {"index": len(self.recs), "time": len(self.recs) * 1000, "process": p, "type": typ,
             "f": f, "value": value}
        if key is not None:
            r["key"] = key
        if error is not None:
            r["error"] = error
        self.recs.append(r)
        return self

    def inv(self, p, f, v=None, key=None):
        return self._add(p, "invoke", f, v, key)

    def ok(self, p, f, v=None, key=None):
        return self._add(p, "ok", f, v, key)

    def fail(self, p, f, v=None, key=None, error=None):
        return self._add(p, "fail", f, v, key, error)

    def info(self, p, f, v=None, key=None, error=None):
        return self._add(p, "info", f, v, key, error)

    def add(self, p, v, typ="ok", key=None):
        self.inv(p, "add", v, key)
        return self._add(p, typ, "add", v, key)

    def read(self, p, v, key=None):
        return self.inv(p, "read", key=key).ok(p, "read", v, key)

    def history(self):
        return History.from_dicts(self.recs)


def run(name, h, **kw):
    return registry.run(name, h.history() if isinstance(h, H) else h, **kw)


# ------------------------------------------------------------------------------ set

def test_set_valid_when_every_acknowledged_element_is_in_the_final_read():
    h = H().add(0, 1).add(1, 2).read(0, [1, 2]).add(0, 3).read(1, [1, 2, 3])
    r = run("set", h)
    assert r.valid is True
    ev = r.evidence
    assert ev["attempted"] == 3 and ev["acknowledged"] == 3
    assert ev["lost"] == [] and ev["stale"] == [] and ev["unexpected"] == []
    assert set(ev) >= {"attempted", "acknowledged", "lost", "unexpected", "stale", "never_read",
                       "recovered", "lost_ops", "stable_latency_ms"}


def test_set_lost_element_missing_from_the_final_read():
    h = H().add(0, 1).add(1, 2).read(0, [1, 2]).read(1, [1])
    r = run("set", h)
    assert r.valid is False
    assert r.evidence["lost"] == [2]
    lo = r.evidence["lost_ops"][0]
    assert lo["f"] == "add" and lo["value"] == 2 and lo["type"] == "ok"
    assert lo["index"] == 2 and lo["complete_index"] == 3
    assert "lost" in r.summary


def test_set_stale_read_is_reported_but_only_invalid_when_linearizable():
    # 1 acknowledged; a later read misses it; the final read has it
    h = H().add(0, 1).read(1, []).read(0, [1])
    r = run("set", h)
    assert r.valid is True and r.evidence["stale"] == [1]
    assert run("set", h, linearizable=True).valid is False


def test_set_recovered_element_vanished_and_came_back():
    h = H().add(0, 1).read(1, [1]).read(1, []).read(0, [1])
    r = run("set", h)
    assert r.evidence["recovered"] == [1] and r.evidence["lost"] == []
    assert run("set", h, linearizable=True).valid is False


def test_set_unexpected_elements_and_failed_adds_that_appear():
    h = H().add(0, 1).add(1, 2, typ="fail").read(0, [1, 2, 99])
    r = run("set", h)
    assert r.valid is False and r.evidence["unexpected"] == [2, 99]


def test_set_info_add_may_or_may_not_be_present():
    h = H().add(0, 1).add(1, 2, typ="info").read(2, [1])
    assert run("set", h).valid is True
    # once a read shows the info add, it is known and must stay
    h = H().add(0, 1).add(1, 2, typ="info").read(2, [1, 2]).read(2, [1])
    r = run("set", h)
    assert r.valid is False and r.evidence["lost"] == [2]


def test_set_concurrent_read_does_not_judge_the_element():
    # the read began before the add completed: no information, then never read
    h = H().inv(1, "read").add(0, 5).ok(1, "read", [])
    r = run("set", h)
    assert r.evidence["never_read"] == [5] and r.evidence["lost"] == []
    # an acknowledged element nobody read after: nothing to vouch for
    assert r.valid == "unknown" and "never read" in r.summary
    # an unacknowledged (info) one is merely of unknown fate
    h = H().add(0, 1).inv(1, "read").add(0, 5, typ="info").ok(1, "read", [1])
    assert run("set", h).valid is True


def test_set_without_reads_is_unknown():
    assert run("set", H().add(0, 1).add(0, 2)).valid == "unknown"


def test_set_element_whose_failed_add_was_retried_ok_is_not_unexpected():
    h = H().add(0, 5, typ="fail").add(1, 5).read(0, [5])
    r = run("set", h)
    assert r.valid is True and r.evidence["unexpected"] == []


def test_set_element_is_known_from_the_first_read_that_shows_it():
    # the add of 7 is still in flight when read 1 shows it; read 2 begins after
    # read 1 ended and misses it: stale (invalid with linearizable), though read 2
    # began before the add completed
    h = (H().inv(0, "add", 7).inv(1, "read").ok(1, "read", [7])
         .inv(2, "read").ok(2, "read", []).ok(0, "add", 7).read(1, [7]))
    assert run("set", h).evidence["stale"] == [7]
    r = run("set", h, linearizable=True)
    assert r.valid is False and "1 stale" in r.summary


@pytest.mark.parametrize("added,read", [(1, [1.0]), (1, [True]), (1.0, [1]), (True, [1]),
                                        ([1, 2], [[1.0, 2]]), ("1", [1])])
def test_set_tells_elements_apart_by_type_and_value(added, read):
    # 1, 1.0 and true are three JSON values: a read of 1.0 did not return the added 1
    r = run("set", H().add(0, added).read(1, read))
    assert r.valid is False
    assert r.evidence["lost"] == [added] and r.evidence["unexpected"] == read


def test_set_same_type_and_value_is_one_element():
    r = run("set", H().add(0, [1, "a"]).add(1, 2.5).read(0, [[1, "a"], 2.5]))
    assert r.valid is True and r.evidence["lost"] == [] and r.evidence["unexpected"] == []


def test_set_checks_each_key_on_its_own():
    # 1 is lost from key a; a read of key b showing 1 says nothing about a
    h = H().add(0, 1, key="a").add(1, 2, key="b").read(0, [2], key="a").read(1, [1, 2], key="b")
    r = run("set", h)
    assert r.valid is False
    assert r.summary.startswith("key 'a': ")
    keys = {k["key"]: k for k in r.evidence["by_key"]}
    assert keys["a"]["valid"] is False and keys["a"]["lost"] == [1]
    assert keys["a"]["unexpected"] == [2]
    assert keys["b"]["valid"] is False and keys["b"]["unexpected"] == [1]
    assert r.evidence["keys_total"] == 2
    assert r.evidence["lost_ops"][0]["key"] == "a"


def test_set_keys_valid_each_and_one_unknown_key_is_unknown():
    h = (H().add(0, 1, key="a").read(0, [1], key="a")
         .add(1, 1, key="b").read(1, [1], key="b").add(1, 7, key="c"))
    r = run("set", h)
    assert r.valid == "unknown" and r.summary.startswith("key 'c': no read succeeded")
    assert [k["key"] for k in r.evidence["by_key"]] == ["c", "a", "b"]
    r = run("set", H().add(0, 1, key="a").read(0, [1], key="a").add(1, 1, key="b")
            .read(1, [1], key="b"))
    assert r.valid is True and "2 keys" in r.summary


def test_set_invalid_key_beats_an_unknown_key_listed_before_it():
    h = H().add(1, 7, key="c").add(0, 1, key="a").read(0, [], key="a")
    r = run("set", h)
    assert r.valid is False and r.summary.startswith("key 'a': 1 lost")


# ------------------------------------------------------------------------------ counter

def test_counter_reads_within_bounds():
    h = H().add(0, 1).add(1, 1).read(0, 2)
    # concurrent add: read may see 2 or 3
    h.inv(1, "add", 1).inv(0, "read").ok(0, "read", 3).ok(1, "add", 1)
    h.inv(2, "add", 5).info(2, "add", 5).read(0, 8)
    r = run("counter", h)
    assert r.valid is True, r.evidence["errors"]
    assert r.evidence["reads"] == 3
    assert r.evidence["bounds"][0][1:] == [2, 2, 2]
    assert r.evidence["bounds"][1][1:] == [2, 3, 3]
    assert r.evidence["bounds"][2][1:] == [3, 8, 8]


def test_counter_read_below_acknowledged_adds_is_invalid():
    h = H().add(0, 1).add(1, 1).read(0, 1)
    r = run("counter", h)
    assert r.valid is False
    e = r.evidence["errors"][0]
    assert (e["lower"], e["upper"], e["read"]) == (2, 2, 1)
    assert e["op"]["f"] == "read" and e["op"]["result"] == 1


def test_counter_read_above_attempted_adds_is_invalid():
    h = H().add(0, 1).inv(1, "add", 1).fail(1, "add", 1).read(0, 2)
    r = run("counter", h)
    assert r.valid is False and r.evidence["errors"][0]["upper"] == 1


def test_counter_add_invoked_after_the_read_completed_cannot_count():
    h = H().read(0, 1).add(1, 1)
    assert run("counter", h).valid is False


def test_counter_add_invoked_while_the_read_was_in_flight_may_count():
    h = H().inv(0, "read").inv(1, "add", 1).ok(1, "add", 1).ok(0, "read", 1)
    r = run("counter", h)
    assert r.valid is True and r.evidence["bounds"][0][1:] == [0, 1, 1]


def test_counter_negative_deltas_widen_the_other_way():
    h = H().add(0, 10).inv(1, "add", -3).read(0, 7).read(0, 10).ok(1, "add", -3).read(0, 7)
    assert run("counter", h).valid is True
    h = H().add(0, 10).add(1, -3).read(0, 10)
    assert run("counter", h).valid is False


@pytest.mark.parametrize("delta", ["1", None, True, float("nan")])
def test_counter_add_of_something_not_a_number_is_unknown_not_valid(delta):
    h = H().add(0, 1).add(1, delta).read(0, 1)
    r = run("counter", h)
    assert r.valid == "unknown" and "non-numeric" in r.summary


def test_counter_without_reads_is_unknown():
    assert run("counter", H().add(0, 1)).valid == "unknown"


# ------------------------------------------------------------------------------ stats

def test_stats_counts_and_flags_an_f_that_never_succeeded():
    h = H().add(0, 1).read(0, [1]).inv(1, "cas", [1, 2]).fail(1, "cas", [1, 2])
    h.inv(2, "cas", [1, 3]).info(2, "cas", [1, 3], error="timeout")
    r = run("stats", h)
    assert r.valid is False and r.evidence["never_succeeded"] == ["cas"]
    assert r.evidence["by_f"]["cas"] == {"ok": 0, "fail": 1, "info": 1}
    assert r.evidence["by_f"]["add"] == {"ok": 1, "fail": 0, "info": 0}
    assert "cas" in r.summary


def test_stats_flags_an_f_whose_every_op_was_indeterminate():
    h = H().add(0, 1).inv(1, "read").info(1, "read", error="timeout")
    r = run("stats", h)
    assert r.valid is False and r.evidence["never_succeeded"] == ["read"]


def test_stats_valid_and_counts_an_invoke_without_completion_as_info():
    h = H().add(0, 1).read(0, [1]).inv(1, "read")
    r = run("stats", h)
    assert r.valid is True and r.evidence["by_f"]["read"] == {"ok": 1, "fail": 0, "info": 1}


def test_stats_ignores_nemesis_ops():
    h = H().add(0, 1).inv("nemesis", "kill", "n1").info("nemesis", "kill", "n1")
    r = run("stats", h)
    assert "kill" not in r.evidence["by_f"] and r.valid is True


# ------------------------------------------------------------------------------ exceptions

def test_exceptions_group_by_error_with_an_example():
    h = H()
    for p, port in ((0, 2379), (1, 2380), (2, 2381)):
        h.inv(p, "write", p).info(p, "write", p, error=f"timeout talking to 10.0.0.{p}:{port}")
    h.inv(3, "read").info(3, "read", error="connection reset")
    h.inv(4, "read").fail(4, "read", error="refused")  # fail: not an exception
    r = run("exceptions", h)
    assert r.valid is True
    g = r.evidence["groups"]
    assert [x["count"] for x in g] == [3, 1]
    assert g[0]["error"] == "timeout talking to N.N.N.N:N"
    assert g[0]["example"]["type"] == "info" and g[0]["example"]["f"] == "write"


# ------------------------------------------------------------------------------ log-patterns

def test_log_patterns_found_in_node_logs(tmp_path):
    (tmp_path / "n1").mkdir()
    (tmp_path / "n2").mkdir()
    (tmp_path / "n1" / "etcd.log").write_text("starting\nall good\n")
    (tmp_path / "n2" / "etcd.log").write_text("starting\npanic: runtime error\ngoroutine 1\n")
    pats = [{"name": "go panic", "regex": r"^panic:"}]
    r = run("log-patterns", H().add(0, 1), logs_dir=str(tmp_path), patterns=pats)
    assert r.valid is False
    m = r.evidence["matches"][0]
    assert (m["node"], m["line"], m["pattern"]) == ("n2", 2, "go panic")
    assert m["text"] == "panic: runtime error" and m["file"].endswith("etcd.log")
    ok = run("log-patterns", H().add(0, 1),
             log_files={"n1": [str(tmp_path / "n1" / "etcd.log")]}, patterns=pats)
    assert ok.valid is True


def test_log_patterns_accepts_precomputed_matches_and_is_unknown_without_logs():
    m = {"node": "n1", "file": "x.log", "line": 3, "pattern": "panic:", "text": "panic: x"}
    assert run("log-patterns", H().add(0, 1), log_matches=[m]).valid is False
    assert run("log-patterns", H().add(0, 1), log_matches=[]).valid is True
    assert run("log-patterns", H().add(0, 1)).valid == "unknown"
    bad = run("log-patterns", H().add(0, 1), log_files={"n1": ["/nonexistent"]},
              patterns=["x"])
    assert bad.valid == "unknown" and bad.evidence["unreadable"]


def test_log_patterns_bad_regex_is_unknown(tmp_path):
    f = tmp_path / "a.log"
    f.write_text("x\n")
    r = run("log-patterns", H().add(0, 1), log_files={"n1": [str(f)]}, patterns=["("])
    assert r.valid == "unknown" and "not a valid regex" in r.summary


@pytest.mark.parametrize("name", ["set", "counter", "stats", "exceptions", "log-patterns"])
def test_registered_and_ignore_cli_options(name):
    h = H().add(0, 1).read(0, [1] if name == "set" else 1)
    r = registry.run(name, h.history(), model="cas-register", init=None, level="CC",
                     time_limit=5, memory_limit=100, workers=2, cas_fail_observes=False,
                     log_matches=[])
    # an ok add of 1 then an ok read showing it: every checker finds it valid
    assert r.checker == name and r.valid is True, r.summary


def test_log_events_are_counted_not_failures(tmp_path):
    (tmp_path / "n1").mkdir()
    (tmp_path / "n1" / "etcd.log").write_text("a became leader at term 2\nok\n"
                                              "b became leader at term 3\n")
    pats = [{"name": "election", "regex": r"became leader at term", "invalid": False},
            {"name": "go panic", "regex": r"^panic:"}]
    r = run("log-patterns", H().add(0, 1), logs_dir=str(tmp_path), patterns=pats)
    assert r.valid is True and r.evidence["events"] == {"election": 2}
    assert "election ×2" in r.summary
    assert all(m["event"] for m in r.evidence["matches"])
    (tmp_path / "n1" / "etcd.log").write_text("a became leader at term 2\npanic: boom\n")
    r = run("log-patterns", H().add(0, 1), logs_dir=str(tmp_path), patterns=pats)
    assert r.valid is False and r.evidence["events"] == {"election": 1}
    assert "'go panic' in n1:" in r.summary


def test_log_events_past_the_cap_are_still_counted(tmp_path):
    from checkers.stats import scan_logs
    f = tmp_path / "a.log"
    f.write_text("elected\n" * 5 + "panic: x\n")
    pats = [{"name": "e", "regex": "elected", "invalid": False}, {"name": "p", "regex": "panic"}]
    matches, _missing, _lines = scan_logs({"n1": [str(f)]}, pats, max_matches=2)
    r = run("log-patterns", H().add(0, 1), log_matches=matches)
    assert r.valid is False and r.evidence["events"] == {"e": 5}
    assert r.summary.startswith("1 log line matched")
