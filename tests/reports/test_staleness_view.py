"""The HTML report draws a staleness chart, fault windows shaded, for a
linearizability result with stale reads."""

from checkers.history import History, Op, save_history
from checkers.linear import check_linearizable
from checkers.linear.simulate import simulate_unique_register_history
from reports.standalone import write_check_report


def test_report_shows_staleness_chart_with_faults(tmp_path):
    h = simulate_unique_register_history(8, 2000, processes=5, lag_ns=30_000_000)
    ops = list(h.ops)
    mid = ops[len(ops) // 2].time
    ops.insert(len(ops) // 2, Op(index=0, time=mid, process="nemesis", type="info",
                                 f="start-partition", value={"topology": "isolate-primary"}))
    ops.insert(len(ops) // 4, Op(index=0, time=ops[len(ops) // 4].time, process="nemesis",
                                 type="invoke", f="start-partition", value=None))
    h = History(ops=[Op(index=i, time=o.time, process=o.process, type=o.type, f=o.f,
                        key=o.key, value=o.value) for i, o in enumerate(ops)])
    path = tmp_path / "h.jsonl"
    save_history(h, path)
    r = check_linearizable(h, model="cas-register")
    assert r.evidence["staleness"]["stale_reads"] > 0
    out = write_check_report(tmp_path / "r.html", [(path, r)])
    text = out.read_text()
    assert 'id="staleness"' in text and "staleness (s)" in text
    assert "smallest Δ: 0.0299 s" in text and "during faults" in text
    assert "partition isolate-primary" in text   # the fault window, shaded and labelled
