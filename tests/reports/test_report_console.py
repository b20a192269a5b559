import io
import threading
import time

from rich.console import Console

from checkers.result import CheckResult
from reports.console import CheckProgress, LivePanel, print_verdicts


def _console() -> Console:
    return Console(file=io.StringIO(), width=140, force_terminal=False, color_system=None)


def test_print_verdicts_table_and_report_path():
    c = _console()
    print_verdicts([CheckResult("linearizable", False, "key x: [red]read 1[/red] stale", 1.2),
                    CheckResult("stats", True, "fine", 0.0),
                    CheckResult("causal", "unknown", "budget hit", 3.0)],
                   "store/latest/report.html", console=c)
    out = c.file.getvalue()
    for s in ("linearizable", "invalid", "stats", "valid", "causal", "unknown",
              "overall: INVALID", "report: store/latest/report.html"):
        assert s in out, s
    assert "[red]read 1[/red]" in out  # a summary is printed literally, never as markup


def test_live_panel_refreshes_from_stats_fn():
    calls = []
    lock = threading.Lock()

    def stats():
        with lock:
            calls.append(time.monotonic())
        return {"elapsed_s": 12.5, "ops_per_s": 321.0, "ok": 10, "fail": 2, "info": 1,
                "active_faults": ["partition n1✕n2"], "nodes": {"n1": True, "n2": False}}

    c = _console()
    with LivePanel(stats, 60, console=c, refresh_per_second=20):
        time.sleep(0.5)
    out = c.file.getvalue()
    assert len(calls) >= 2
    for s in ("12.5 s / 60 s", "321.0 ops/s", "ok 10", "fail 2", "info 1", "partition n1✕n2",
              "n1", "✕ n2"):
        assert s in out, s


def test_live_panel_survives_a_failing_stats_fn():
    def boom():
        raise RuntimeError("recorder gone")

    c = _console()
    with LivePanel(boom, 10, console=c, refresh_per_second=20):
        time.sleep(0.2)
    assert "stats unavailable: RuntimeError: recorder gone" in c.file.getvalue()


def test_check_progress_per_key():
    c = _console()
    keys = [f"k{i}" for i in range(20)]
    with CheckProgress(total_keys=len(keys), console=c, max_key_bars=4) as p:
        for k in keys:
            p.start_key(k, total=10)
            p.advance(k, 10)
            p.finish_key(k, k != "k3")
        overall = p.progress.tasks[0]
        assert overall.completed == 20 and overall.total == 20
        assert len(p.progress.tasks) == 1  # finished keys' bars are removed
    assert p.verdicts["k3"] is False and p.verdicts["k4"] is True
    assert "20/20" in c.file.getvalue()


def test_live_panel_accepts_a_fault_description_string():
    c = _console()
    with LivePanel(lambda: {"active_faults": "unknown (journal busy)", "outstanding": 3}, None,
                   console=c, refresh_per_second=20):
        time.sleep(0.2)
    out = c.file.getvalue()
    assert "faults: unknown (journal busy)" in out and "in flight 3" in out


def test_partitioned_linear_check_drives_the_bars():
    from checkers.history import Op
    from checkers.linear import check_linearizable, simulate_register_history
    h = simulate_register_history(3, 600, processes=4, keys=6)
    bad = next(i for i, o in enumerate(h.ops) if o.type == "ok" and o.f == "read")
    o = h.ops[bad]
    h.ops[bad] = Op(index=o.index, time=o.time, process=o.process, type="ok", f="read",
                    key=o.key, value=4321)  # never written
    h._columnar = None
    c = _console()
    with CheckProgress(console=c, max_key_bars=2) as p:
        r = check_linearizable(h, model="kv", progress=p)
        overall = p.progress.tasks[0]
        assert overall.total == overall.completed == r.evidence["keys_checked"] == 6
        assert len(p.progress.tasks) == 1
    want = {("\"%s\"" % k["key"] if isinstance(k["key"], str) else str(k["key"])): k["valid"]
            for k in r.evidence["keys"]}
    assert p.verdicts == want and list(p.verdicts.values()).count(False) == 1


def test_check_command_shows_bars_on_a_terminal_only(tmp_path, monkeypatch, capsys):
    import sys
    from checkers.history import save_history
    from checkers.linear import simulate_register_history
    from harness.cli import main
    path = tmp_path / "h.jsonl"
    save_history(simulate_register_history(5, 200, processes=3, keys=3), path)
    assert main(["check", str(path), "--model", "kv"]) == 0
    assert "checking linearizable" not in capsys.readouterr().err   # not a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["check", str(path), "--model", "kv"]) == 0
    captured = capsys.readouterr()
    assert "valid" in captured.out and "checking linearizable" in captured.err
    assert main(["check", str(path), "--model", "kv", "--json"]) == 0
    assert "checking" not in capsys.readouterr().err   # --json: no bars


def test_a_key_started_twice_keeps_one_bar():
    # the pool hands a lost worker's keys out again
    with CheckProgress(total_keys=1, console=_console()) as p:
        p.start_key("k")
        p.start_key("k")
        assert len(p.progress.tasks) == 2      # overall + one key bar
        p.finish_key("k", True)
        assert len(p.progress.tasks) == 1
