"""What a reader of the report meets beyond the charts' layout: one number format,
tick labels that never repeat, expected fails told from errors, op lists with
time/node/process and their counts, "no matches" for empty tables, counter reads
out of bounds marked."""

import re

from hypothesis import given, strategies as st

from checkers import registry
from checkers.result import CheckResult
from reports.fmt import number
from reports.html import render_report
from reports.outcomes import is_expected_fail
from reports.svg import nice_ticks, tick_label

from report_histories import cas_run, counter_history, set_run


def test_one_number_format_never_scientific():
    assert number(9.6e-05) == "0.000096"
    assert number(0.000281) == "0.000281"
    assert number(1234567) == "1,234,567"
    assert number(2.0) == "2"
    assert number(-0.0001, decimals=2) == "0.00"
    assert "e" not in number(1e-9) and "e" not in number(3.2e12)


@given(st.floats(-1e6, 1e6), st.floats(1e-4, 1e5))
def test_neighbouring_ticks_never_print_the_same(lo, width):
    ticks = nice_ticks(lo, lo + width, 10)
    if len(ticks) < 2:
        return
    labels = [tick_label(v, ticks[1] - ticks[0]) for v in ticks]
    assert len(set(labels)) == len(labels), labels


def test_ticks_around_ten_seconds():
    ticks = nice_ticks(10.0, 10.1, 10)
    assert [tick_label(v, ticks[1] - ticks[0]) for v in ticks[:3]] == ["10.00", "10.01", "10.02"]


def test_expected_fail_is_the_tag_or_the_cas_semantics():
    assert is_expected_fail("cas-mismatch")
    assert is_expected_fail("cas mismatch (version moved)")  # histories written before the tag
    assert is_expected_fail(None, "cas")
    assert not is_expected_fail("connection refused", "cas")
    assert not is_expected_fail(None, "write")


def test_counts_split_expected_fails_from_errors():
    h = cas_run()
    html = render_report(h, [registry.run("stats", h)], {"name": "cas"})
    fails = sum(1 for o in h.ops if o.type == "fail")
    assert f'<span class="fail-expected-text">{fails:,} ' in html
    assert '<span class="w-invalid">0 ' in html


def test_empty_tables_say_no_matches():
    empty = [CheckResult("exceptions", True, "no errors", 0.0, {"groups": []}),
             CheckResult("log-patterns", True, "nothing", 0.0, {"matches": []}),
             CheckResult("stats", True, "nothing", 0.0, {"by_f": {}, "never_succeeded": []})]
    html = render_report(cas_run(), empty, {"name": "x"})
    assert html.count('<p class="muted no-matches">no matches</p>') == 3
    assert "<th>error</th>" not in html and "<th>pattern</th>" not in html


def test_capped_op_list_says_how_many_and_where():
    h, _ = set_run()
    res = registry.run("set", h)
    html = render_report(h, [res], {"name": "set"})
    n = res.evidence["counts"]["lost"]
    assert n > 100
    assert f"showing 100 of {n} lost elements" in html
    entries = re.findall(r"<tr><td>([\d.]+ s)</td><td>(n\d)</td><td>(p\d)</td>", html)
    assert len(entries) == 100


def test_counter_read_out_of_bounds_is_marked_at_its_time():
    h = counter_history()
    res = registry.run("counter", h)
    assert res.valid is False
    html = render_report(h, [res], {"name": "counter"})
    bad = res.evidence["errors"][0]["op"]
    origin = min(o.time for o in h.ops)
    want = (bad["invoke_time"] - origin) / 1e9
    ts = [float(t) for t in re.findall(r'<g class="mark mark-counter" data-kind="counter" '
                                       r'data-t="([^"]+)"', html)]
    assert ts and all(abs(t - want) < 1e-9 for t in ts)
    assert "counter read out of bounds ×" in html


def test_ops_of_a_causal_anomaly_are_marked():
    from report_histories import causal_bad, hand_causal_result
    h = causal_bad()
    res = hand_causal_result(h)
    html = render_report(h, [res], {"name": "causal"})
    origin = min(o.time for o in h.ops)
    want = sorted({(o["invoke_time"] - origin) / 1e9 for o in res.evidence["patterns"][0]["ops"]})
    got = sorted({float(t) for t in re.findall(r'<g class="mark mark-cycle" data-kind="cycle" '
                                               r'data-t="([^"]+)"', html)})
    assert got == want
    assert "op of a causal anomaly ×" in html
