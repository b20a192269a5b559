import json
import re
from pathlib import Path

import numpy as np
import pytest

from checkers import registry
from checkers.history import HistoryWriter, load_history
from checkers.result import CheckResult
from core.store import new_run
from reports.charts import MAX_POINTS, sample
from reports.data import op_table
from reports.faults import fault_windows
from reports.html import render_report, write_report
from reports.standalone import write_check_report

from report_histories import (XSS, bad_register, causal_bad, counter_result, hand_causal_result,
                        hand_linear_result, random_register, set_result, stats_results)

KNOSSOS = Path(__file__).resolve().parents[1] / "data" / "knossos"


def _real(name: str) -> None:
    # Every built-in checker is registered; a missing one is a failure, not a skip.
    assert name in registry.names(), (name, registry.names())


def _no_remote_urls(text: str, parse) -> None:
    doc = parse(text)
    for tag, attr, value in doc.attrs:
        if attr in ("src", "href") and value:
            assert not re.match(r"\s*(https?:)?//", value, re.I), (tag, attr, value)
    assert "<link" not in text and "@import" not in text


def _assert_escaped(text: str, parse, *, whole: bool = True) -> None:
    assert XSS not in text and "<script>alert" not in text
    # shown as text (a timeline label may cut it short, still escaped)
    assert ("&lt;script&gt;alert(1)&lt;/script&gt;" if whole else "&lt;script&gt;alert(1)") in text
    doc = parse(text)
    # The page's own toggle script is the only script element, and no history value is in it.
    assert doc.tags.get("script", 0) == 1
    assert all("alert" not in s for s in doc.scripts)
    assert not any(k.startswith("on") for _, k, _ in doc.attrs)


def test_fault_windows_from_nemesis_ops():
    h = bad_register()
    t = op_table(h)
    faults = fault_windows(h, t.axis, t.span[1])
    kinds = [(w.kind, w.open_at_end) for w in faults.windows]
    assert kinds == [("partition", False), ("kill", True)]
    part, kill = faults.windows
    assert part.start < part.end < kill.start
    assert kill.end == t.span[1]
    assert "n1✕n2,n3" in part.detail and kill.detail == "n2"


def test_real_linearizability_report_highlights_failing_op(parse):
    _real("linearizable")
    h = bad_register()
    res = registry.run("linearizable", h, model="cas-register")
    assert res.valid is False
    failing = res.evidence["keys"][0]["failure"]["op"]["index"]
    text = render_report(h, [res], {"name": "reg", "seed": 42}, "seed: 42\n")
    assert f'class="bar failing-op" data-index="{failing}"' in text
    assert text.count('class="bar prefix"') == len(res.evidence["keys"][0]["failure"]["prefix"])
    assert "cannot be linearized" in text and "possible instead" in text
    assert 'class="fault fault-0"' in text and 'class="fault fault-1"' in text
    assert text.index("key-invalid") < text.index("key-valid")  # failing keys first
    assert 'id="timeline-' in text and "tlop" in text and "anomaly" in text
    _assert_escaped(text, parse, whole=False)
    _no_remote_urls(text, parse)


def test_untimed_knossos_history_draws_on_positions(parse):
    _real("linearizable")
    path = KNOSSOS / "cas-register/bad/cas-failure.edn"
    h = load_history(path)
    res = registry.run("linearizable", h, model="cas-register", init=0)
    assert res.valid is False
    op = res.evidence["keys"][0]["failure"]["op"]
    assert op["complete_index"] == 491  # Knossos names the op by its completion
    text = render_report(h, [res], {}, None)
    assert f'class="bar failing-op" data-index="{op["index"]}"' in text
    assert "op #" in text  # the logical axis
    _no_remote_urls(text, parse)


def test_every_section_escapes_history_values(parse):
    h = bad_register()
    results = [hand_linear_result(h), hand_causal_result(causal_bad()), set_result(),
               counter_result(), *stats_results(),
               CheckResult("custom", "unknown", XSS, 0.0, {"note": XSS})]
    meta = {"name": "xss", "target": XSS, "faults": [XSS], "seed": 1}
    text = render_report(h, results, meta, f"name: {XSS}\n")
    _assert_escaped(text, parse)
    _no_remote_urls(text, parse)
    for sid in range(len(results)):
        assert f'id="check-{sid}"' in text
    # log links only for plain path components: "../.." gets none
    assert 'href="logs/n1/etcd.log"' in text
    assert 'href="logs/../..' not in text


def test_causal_chain_diagram_and_table():
    h = causal_bad()
    res = hand_causal_result(h)
    text = render_report(h, [res], {}, None)
    assert 'class="chart causal"' in text
    assert '<marker id="arrow-' in text and 'marker-end="url(#arrow-' in text
    for rel in ("so", "wr", "rb"):
        assert f'class="edge rel-{rel}"' in text
        assert f"<strong>{rel}</strong>" in text
    assert "writes-follow-reads" in text and "WriteCORead" in text


def test_set_and_counter_sections():
    text = render_report(None, [set_result(), counter_result()], {}, None)
    assert 'class="set-lost"' in text and 'class="set-stale"' in text
    assert 'id="counter-bounds"' in text and "counter-errors" in text


def test_unexpected_evidence_is_shown_raw_not_crashing():
    bad = CheckResult("linearizable", False, "odd", 0.0,
                      {"model": "x", "keys": [{"key": "x", "valid": False, "failure": "nope"}]})
    text = render_report(bad_register(), [bad], {}, None)
    assert "shown raw" in text


def test_large_history_is_summarised():
    h = random_register(30_000, keys=3)
    t = op_table(h)
    rows = sample(t)
    assert len(rows) == MAX_POINTS
    not_ok = set(np.flatnonzero(t.status != 1).tolist())
    assert 0 < len(not_ok) < MAX_POINTS // 2
    assert not_ok <= set(rows.tolist())  # every fail/info op is kept
    text = render_report(h, [], {"name": "big"}, None)
    assert f"{MAX_POINTS:,} of {len(t):,} ops drawn" in text
    assert len(text) < 5_000_000


def test_write_report_from_run_dir(tmp_path: Path, parse):
    run = new_run(tmp_path / "store", "reg-test")
    h = bad_register()
    with HistoryWriter(run.history) as w:  # recorded the way the harness records
        for op in h.ops:
            w.write(op)
    run.spec.write_text("name: reg-test\nseed: 42\n")
    run.write_meta(target="etcd", faults=["partition", "kill"], seed=42, ops=len(h))
    run.write_results([hand_linear_result(h), *stats_results()])
    (run.logs / "n1").mkdir()
    (run.logs / "n1" / "etcd.log").write_text("panic: boom\n")
    out = write_report(run.path)
    assert out == run.report
    text = out.read_text()
    assert 'href="history.jsonl"' in text and 'href="logs/n1/etcd.log"' in text
    assert "seed: 42" in text and "etcd" in text
    _no_remote_urls(text, parse)
    _assert_escaped(text, parse)


def test_write_report_without_results(tmp_path: Path):
    run = new_run(tmp_path / "store", "unchecked")
    run.history.write_text("".join(json.dumps(o.to_dict()) + "\n" for o in bad_register().ops))
    text = write_report(run.path).read_text()
    assert "No checker results" in text


def test_write_report_corrupt_results_names_file(tmp_path: Path):
    run = new_run(tmp_path / "store", "corrupt")
    run.history.write_text("".join(json.dumps(o.to_dict()) + "\n" for o in bad_register().ops))
    run.results.write_text("{not json")
    with pytest.raises(ValueError, match="results.json"):
        write_report(run.path)


def test_standalone_check_report(tmp_path: Path, parse):
    h = bad_register()
    hp = tmp_path / "h.jsonl"
    hp.write_text("".join(json.dumps(o.to_dict()) + "\n" for o in h.ops))
    out = write_check_report(tmp_path / "out" / "r.html", [(str(hp), hand_linear_result(h))])
    text = out.read_text()
    assert 'href="../h.jsonl"' in text
    assert 'class="bar failing-op"' in text
    _no_remote_urls(text, parse)


def test_cli_check_report_through_real_checker(tmp_path: Path):
    _real("linearizable")
    from harness.cli import main
    hp = tmp_path / "h.jsonl"
    hp.write_text("".join(json.dumps(o.to_dict()) + "\n" for o in bad_register(False).ops))
    out = tmp_path / "r.html"
    rc = main(["check", str(hp), "--model", "cas-register", "--report", str(out)])
    assert rc == 1
    assert 'class="bar failing-op" data-index="10"' in out.read_text()


def test_unreadable_history_still_shows_results(tmp_path: Path):
    run = new_run(tmp_path / "store", "torn")
    lines = [json.dumps(o.to_dict()) for o in bad_register().ops]
    lines[3] = "{broken"
    run.history.write_text("\n".join(lines) + "\n")
    run.write_results([CheckResult("linearizable", "unknown", "history unreadable", 0.0, {})])
    text = write_report(run.path).read_text()
    assert "could not read the history" in text and "history.jsonl:4" in text
    assert "history unreadable" in text


def test_empty_history_renders(tmp_path: Path):
    run = new_run(tmp_path / "store", "empty")
    run.history.write_text("")
    assert "No checker results" in write_report(run.path).read_text()


def test_real_causal_checker_report():
    _real("causal")
    from report_histories import causal_bad
    h = causal_bad()
    res = registry.run("causal", h)
    assert res.valid is False, res.summary
    text = render_report(h, [res], {}, None)
    assert 'class="chart causal"' in text and '<table class="chain">' in text
    assert "tlop" in text and "anomaly" in text


@pytest.mark.parametrize("name,build,marker", [
    ("set", "set_history", 'class="set-lost"'),
    ("counter", "counter_history", 'id="counter-bounds"'),
])
def test_real_set_and_counter_checkers(name, build, marker):
    import report_histories as histories
    h = getattr(histories, build)()
    res = registry.run(name, h)
    assert res.valid is False, res.summary
    text = render_report(h, [res], {}, None)
    assert marker in text


def test_every_registered_checker_renders(parse):
    """Whatever the checkers return today, the report draws it (or shows it raw)."""
    from checkers.history import HistoryError
    import report_histories as histories
    results = []
    for name in registry.names():
        for h in (bad_register(), histories.set_history(), histories.counter_history()):
            try:
                results.append(registry.run(name, h, model="cas-register"))
            except (HistoryError, ValueError):
                continue  # this checker does not read this kind of history
    assert len(results) >= 5, [r.checker for r in results]
    text = render_report(bad_register(), results, {"name": "all"}, None)
    assert "shown raw" not in text
    assert text.count('class="checker ') == len(results)
    _no_remote_urls(text, parse)


def test_nemesis_values_are_described():
    from reports.faults import describe_detail
    assert describe_detail({"topology": "majorities-ring", "one_way": False,
                            "grudge": {"n1": ["n3"], "n2": []}}) == "majorities-ring n1✕n3"
    assert describe_detail({"mode": "bump", "nodes": ["n1"], "offsets_s": {"n1": 90.001}}) \
        == "bump n1 +90.001s"
    assert describe_detail({"healed": "majorities-ring", "nodes": ["n1", "n2"]}) \
        == "n1,n2 healed majorities-ring"
    assert describe_detail(["n2", "n3"]) == "n2,n3"
    assert describe_detail({"n1": ["n2"]}) == "n1✕n2"
    # what a slow-node fault measured: per node, per fault (the final heal), or flat
    assert describe_detail({"nodes": ["n1"], "measured": {"n1": {"cpu_share": 0.049,
                                                                 "window_s": 10.0}}}) \
        == "n1 measured n1: cpu_share=0.049 window_s=10"
    assert describe_detail({"healed": ["CPU restored: n1"], "measured": {
        "cpu-starve": {"n1": {"cpu_share": 0.0371}}}}) \
        == "measured cpu-starve: n1: cpu_share=0.0371 healed CPU restored: n1"
    assert describe_detail({"nodes": ["n2"], "measured": {"cycles": 5,
                                                          "stopped_ms_mean": 1700.5}}) \
        == "n2 measured cycles=5 stopped_ms_mean=1700.5"


def test_the_final_heal_closes_every_open_fault_window():
    from checkers.history import History, Op
    from reports.data import Axis
    from reports.faults import fault_windows
    ops = [Op(0, 1_000_000_000, "nemesis", "invoke", "start-partition", value="halves"),
           Op(1, 1_100_000_000, "nemesis", "info", "start-partition", value={"grudge": {}}),
           Op(2, 2_000_000_000, "nemesis", "invoke", "kill", value="one"),
           Op(3, 2_100_000_000, "nemesis", "info", "kill", value={"n1": [1]}),
           Op(4, 5_000_000_000, "nemesis", "invoke", "heal", value=None),
           Op(5, 5_100_000_000, "nemesis", "info", "heal", value={"healed": ["all"]})]
    faults = fault_windows(History(ops=ops), Axis(timed=True, origin=0.0), 6.0)
    assert len(faults.windows) == 2
    assert not any(w.open_at_end for w in faults.windows)
    assert all(w.end_index == 5 for w in faults.windows)
