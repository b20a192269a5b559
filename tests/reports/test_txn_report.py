"""The list-append / rw-register section of the report: cycle steps in plain
words, the cycle drawn, every T-number linking to a listed transaction, and
history values escaped everywhere."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from checkers.history import History
from reports.html import render_report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "checkers"))
from txn_histories import txn_history  # noqa: E402

XSS = "<script>alert(1)</script>"


def ok(p, *mops):
    return (p, "ok", [list(m) for m in mops])


def invalid_list_append() -> History:
    """A G1c on a key named like a script (T1 reads T2's y, T2 appends x after T1),
    a stale read after it, and a read of a value nobody appended."""
    return txn_history(
        (ok(0, ("append", XSS, 1), ("r", "y", [1])), ok(1, ("append", XSS, 2), ("append", "y", 1))),
        (ok(2, ("r", XSS, [1, 2])),),
        (ok(3, ("r", "y", []), ("append", "z", 1)),),
        (ok(4, ("r", "z", [1, 7])),))


def txn_report(history: History) -> tuple[str, object]:
    from checkers.txn import check_list_append
    res = check_list_append(history, consistency_models=["strict-serializable"])
    return render_report(history, [res], {"name": "txn"}, None), res


def test_cycle_is_explained_drawn_and_linked() -> None:
    html, res = txn_report(invalid_list_append())
    assert res.valid is False and "G1c" in res.evidence["anomaly_types"]
    assert '<section class="checker txn"' in html
    g1c = html[html.index('data-anomaly="G1c"'):]
    g1c = g1c[: g1c.index('class="box anomaly"')]
    # the steps in words, and the conclusion
    assert re.search(r"T1 appended 1 to key &lt;script&gt;alert\(1\)&lt;/script&gt;, and T2 "
                     r"appended 2 after it, so T1 &lt; T2", g1c)
    assert "T1 read 1 from key y, which T2 appended, so T2 &lt; T1" in g1c
    assert "So T1 &lt; T2 &lt; T1: a contradiction" in g1c
    # the drawing: two transactions, a ww and a wr arrow
    assert re.search(r'<svg [^>]*class="chart txn-cycle"', g1c)
    assert len(re.findall(r'<circle [^>]*class="txn-node"', g1c)) == 2
    assert re.search(r'class="edge rel-ww"', g1c) and re.search(r'class="edge rel-wr"', g1c)
    # every link to a transaction lands on a row of the listing
    ids = set(re.findall(r'<tr id="([^"]+)"', html))
    hrefs = set(re.findall(r'href="#([^"]*-txn-\d+)"', html))
    assert hrefs and hrefs <= ids, hrefs - ids


def test_history_values_are_escaped(parse) -> None:
    html, _ = txn_report(invalid_list_append())
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    p = parse(html)
    assert all("alert" not in s for s in p.scripts)


def test_valid_history_has_no_cycle_box() -> None:
    h = txn_history((ok(0, ("append", "x", 1)),), (ok(1, ("r", "x", [1])),))
    html, res = txn_report(h)
    assert res.valid is True
    assert "No anomalies found." in html and "txn-cycle" not in html


@pytest.mark.browser
def test_txn_report_in_chromium(tmp_path: Path) -> None:
    from test_report_browser import _dom_and_screenshot
    html, _ = txn_report(invalid_list_append())
    dom = _dom_and_screenshot(html, tmp_path, "txn")
    assert re.search(r'<svg [^>]*class="chart txn-cycle"', dom)
    assert re.search(r'<path [^>]*class="edge rel-(ww|wr|rw|realtime)"', dom)
    assert '<li class="step step-ww">' in dom and "a contradiction" in dom
    assert re.search(r'<a href="#[^"]*-txn-\d+" class="txn-link">', dom)
    assert "&lt;script&gt;alert(1)" in dom and "<script>alert" not in dom


def bank_history_and_result():
    """Transfers and reads of three accounts, a partition in the middle, and a
    read during it that totals 110 instead of 100 (evidence in docs/evidence.md's
    "bank" shape)."""
    from checkers.result import CheckResult
    from report_histories import Builder
    b = Builder()
    totals = []
    bad = []
    for i in range(12):
        if i == 4:
            b.nemesis("start-partition", {"n1": ["n2", "n3"]})
        if i == 8:
            b.nemesis("stop-partition", "healed")
        b.add(i % 3, "invoke", "read", None)
        value = {"0": 50, "1": 40, "2": 20 if i == 6 else 10, XSS: 0}
        idx = b.add(i % 3, "ok", "read", value)
        total = sum(value.values())
        totals.append({"index": idx, "time": b.t, "total": total})
        if total != 100:
            bad.append({"type": "wrong-total", "op": idx, "line": idx + 1, "process": i % 3,
                        "time": b.t, "value": value, "total": total, "expected": 100})
    ev = {"total": 100, "reads": 12, "transfers": 0, "accounts": ["0", "1", "2"],
          "bad_counts": {"wrong-total": len(bad)}, "negative_balances_allowed": False,
          "bad_reads": bad, "totals": totals}
    return b.history(), CheckResult("bank", False, "1 read with a wrong total", 0.01, ev)


def test_bank_totals_chart_with_faults_and_bad_reads() -> None:
    h, res = bank_history_and_result()
    html = render_report(h, [res], {"name": "bank"}, None)
    assert '<section class="checker bank"' in html
    chart = html[html.index('id="bank-totals"'):]
    chart = chart[: chart.index("</svg>")]
    assert len(re.findall(r'class="fault fault-\d"', chart)) == 1   # the partition window
    assert 'class="expected-total"' in chart
    assert re.search(r'<path d="M[^"]+" class="pt fail"', chart)     # the 110 read, in red
    assert "wrong-total" in html and "<script>alert" not in html


def test_rw_register_cycle_in_words() -> None:
    from checkers.txn import check_rw_register
    h = txn_history((ok(0, ("w", "x", 1), ("r", "y", 1)), ok(1, ("w", "y", 1), ("r", "x", 1))),)
    res = check_rw_register(h, consistency_models=["serializable"])
    assert res.valid is False and res.evidence["anomaly_types"] == ["G1c"]
    html = render_report(h, [res], {"name": "rw"}, None)
    assert re.search(r"T\d read 1 from key [xy], which T\d wrote, so T\d &lt; T\d", html)
    assert "appended" not in html[html.index('data-anomaly="G1c"'):]


def test_long_fork_forks_are_listed() -> None:
    """The long-fork checker's evidence (docs/evidence.md "long-fork") has its
    forks beside the anomaly names, not under ``anomalies``."""
    from checkers.result import CheckResult
    h = txn_history((ok(0, ("w", "x", 1)), ok(1, ("w", "y", 1))),
                    (ok(2, ("r", "x", 1), ("r", "y", None)), ok(3, ("r", "x", None), ("r", "y", 1))))
    ev = {"anomaly_types": ["long-fork"], "not": ["repeatable-read", "snapshot-isolation"],
          "also_not": ["serializable"], "fork_count": 1, "errors": [], "error_count": 0,
          "forks": [{"ops": [6, 7], "lines": [7, 8], "group": ["x", "y"], "only_first": ["x"],
                     "only_second": ["y"], "explanation": f"op 6 saw x but not y {XSS}"}]}
    html = render_report(h, [CheckResult("long-fork", False, "1 fork", 0.0, ev)], {}, None)
    box = html[html.index('data-anomaly="long-fork"'):]
    assert "(1 found)" in box and "op 6 saw x but not y &lt;script&gt;" in box
    assert '<a href="#' in box and re.search(r'<tr id="[^"]*-txn-6" class="named">', html)
