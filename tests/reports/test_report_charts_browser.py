"""The charts as chromium lays them out: the checkers' findings are marked at the
right times and named in the legend, expected fails are told from errors, and no
chart label overlaps another, leaves its fault band or sits over the data.

A small script added to the page measures every label with the browser's own
text metrics (getBoundingClientRect) and writes what it found into the DOM,
which ``--dump-dom`` hands back."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from checkers import registry
from reports.html import render_report

from report_histories import cas_run, register_run, set_run
from test_report_browser import _browse

pytestmark = pytest.mark.browser

MEASURE = r"""
<script>
(function () {
  var out = {overlaps: [], outside: [], over_data: [], marks: [], charts: {}};
  function box(el) { var r = el.getBoundingClientRect();
    return {l: r.left, r: r.right, t: r.top, b: r.bottom, w: r.width, h: r.height}; }
  function text(el) { return el.lastChild ? el.lastChild.textContent : el.textContent; }
  document.querySelectorAll("svg.chart").forEach(function (svg) {
    var id = svg.id;
    if (["latency", "throughput", "counter-bounds"].indexOf(id) < 0) return;
    var texts = Array.prototype.slice.call(svg.querySelectorAll("text"));
    var boxes = texts.map(box);
    var frame = box(svg);
    for (var i = 0; i < texts.length; i++) {
      var a = boxes[i];
      if (a.w === 0) continue;
      if (a.l < frame.l - 0.5 || a.r > frame.r + 0.5 || a.t < frame.t - 0.5 || a.b > frame.b + 0.5)
        out.outside.push([id, text(texts[i]), "outside the chart"]);
      for (var j = i + 1; j < texts.length; j++) {
        var b = boxes[j];
        if (b.w === 0) continue;
        if (a.l < b.r - 0.5 && b.l < a.r - 0.5 && a.t < b.b - 0.5 && b.t < a.b - 0.5)
          out.overlaps.push([id, text(texts[i]), text(texts[j])]);
      }
    }
    var data = Array.prototype.slice.call(svg.querySelectorAll("path.pt, g.mark, polyline.tp"))
      .map(box).filter(function (b) { return b.w > 0; });
    var dataTop = Math.min.apply(null, data.map(function (b) { return b.t; }).concat([1e9]));
    svg.querySelectorAll("text.faultlbl").forEach(function (t) {
      var band = svg.querySelector('rect.fault[data-fault="' + t.getAttribute("data-fault") + '"]');
      var a = box(t), b = box(band);
      if (a.l < b.l - 0.5 || a.r > b.r + 0.5 || a.t < b.t - 0.5 || a.b > b.b + 0.5)
        out.outside.push([id, text(t), "leaves its band"]);
    });
    svg.querySelectorAll("text.faultlbl, text.eventlbl").forEach(function (t) {
      if (box(t).b > dataTop + 0.5) out.over_data.push([id, text(t)]);
    });
    // The time scale, read back from two tick labels the browser placed.
    var ticks = svg.querySelectorAll("text.xtick");
    var t0 = ticks[0], t1 = ticks[ticks.length - 1];
    var v0 = parseFloat(t0.getAttribute("data-v")), v1 = parseFloat(t1.getAttribute("data-v"));
    var x0 = (box(t0).l + box(t0).r) / 2, x1 = (box(t1).l + box(t1).r) / 2;
    var axis = svg.querySelector("line.axis");
    var events = Array.prototype.slice.call(svg.querySelectorAll("line.event")).map(function (l) {
      return box(l).l; });
    out.charts[id] = {axis_right: Math.max(box(axis).r, box(svg.querySelectorAll("line.axis")[0]).r),
                      events: events, scale: [v0, x0, v1, x1],
                      legend: Array.prototype.slice.call(svg.querySelectorAll("text.legend")).map(text)};
    svg.querySelectorAll("g.mark").forEach(function (g) {
      var c = box(g.querySelector("circle"));
      var t = parseFloat(g.getAttribute("data-t"));
      out.marks.push({chart: id, kind: g.getAttribute("data-kind"), t: t,
                      x: (c.l + c.r) / 2, expect_x: x0 + (t - v0) / (v1 - v0) * (x1 - x0)});
    });
  });
  var pre = document.createElement("pre");
  pre.id = "layout-check";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def _layout(html: str, tmp: Path, name: str) -> tuple[dict, str]:
    page = tmp / f"{name}.html"
    page.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = _browse(page, tmp, "--dump-dom", "--window-size=1400,2000")
    assert dom.returncode == 0, dom.stderr[-2000:]
    m = re.search(r'<pre id="layout-check">(.*?)</pre>', dom.stdout, re.S)
    assert m, "the measuring script did not run"
    shot = tmp / f"{name}.png"
    _browse(page, tmp, f"--screenshot={shot}", "--window-size=1400,2000")
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&")
                      .replace("&lt;", "<").replace("&gt;", ">")), dom.stdout


def _assert_clean_layout(lay: dict) -> None:
    assert lay["overlaps"] == [], f"chart labels overlap: {lay['overlaps'][:5]}"
    assert lay["outside"] == [], f"labels out of place: {lay['outside'][:5]}"
    assert lay["over_data"] == [], f"labels over the data: {lay['over_data'][:5]}"
    for name, chart in lay["charts"].items():
        # The final heal is drawn inside the frame, not hidden on its right border.
        for x in chart["events"]:
            assert x < chart["axis_right"] - 2, (name, x, chart["axis_right"])


def _marks(lay: dict, kind: str) -> list[dict]:
    return [m for m in lay["marks"] if m["chart"] == "latency" and m["kind"] == kind]


def test_invalid_set_run_marks_lost_and_stale_adds_at_their_times(tmp_path: Path):
    h, add_time = set_run()
    res = registry.run("set", h)
    assert res.valid is False
    ev = res.evidence
    lay, dom = _layout(render_report(h, [res], {"name": "set"}), tmp_path, "set")
    _assert_clean_layout(lay)
    assert set(lay["charts"]) == {"latency", "throughput"}
    origin = min(add_time.values())  # the history's first op is the first add
    for kind in ("lost", "stale"):
        marks = _marks(lay, kind)
        assert len(marks) == len(ev[kind]) > 0, kind
        want = sorted(round(add_time[e] - origin, 3) for e in ev[kind])
        assert sorted(round(m["t"], 3) for m in marks) == want, kind
        for m in marks:  # drawn where the browser's own axis puts that time
            assert abs(m["x"] - m["expect_x"]) < 1.5, m
    lost_marks = _marks(lay, "lost")
    # lost adds fall inside the partition window, and the chart says so by position
    assert all(9.8 < m["t"] < 20 for m in lost_marks)
    assert len(_marks(lay, "unexpected")) == 1
    legend = " ".join(lay["charts"]["latency"]["legend"])
    assert f"lost element (at its add) ×{len(ev['lost'])}" in legend
    assert "stale element" in legend and "unexpected element" in legend
    # The capped list says so, and each entry has time, node and process.
    assert f"showing 100 of {ev['counts']['lost']} lost elements" in dom
    row = re.search(r'<table class="oplist">.*?</tr>\s*<tr><td>([\d.]+ s)</td><td>(n\d)</td>'
                    r'<td>(p\d)</td>', dom, re.S)
    assert row, "lost-add entries carry time, node and process"
    assert re.search(r'<span class="term" title="stale: [^"]+">stale</span>', dom)
    assert '<dl class="glossary" id="glossary">' in dom


def test_invalid_register_run_marks_the_op_that_could_not_be_linearized(tmp_path: Path):
    h, bad_t = register_run()
    res = registry.run("linearizable", h, model="cas-register")
    assert res.valid is False
    lay, dom = _layout(render_report(h, [res], {"name": "register"}), tmp_path, "register")
    _assert_clean_layout(lay)
    marks = _marks(lay, "nonlinear")
    assert len(marks) == 1
    origin = 0.05  # the first op's invoke
    assert abs(marks[0]["t"] - (bad_t - origin)) < 1e-6
    assert abs(marks[0]["x"] - marks[0]["expect_x"]) < 1.5
    assert "op that could not be linearized ×1" in " ".join(lay["charts"]["latency"]["legend"])
    assert re.search(r"<div>when, where</div><div>[\d.]+ s, node n\d, p3</div>", dom)


def test_valid_cas_run_draws_mismatches_as_expected_not_errors(tmp_path: Path):
    h = cas_run()
    res = registry.run("linearizable", h, model="cas-register")
    assert res.valid is True, res.summary
    lay, dom = _layout(render_report(h, [res, registry.run("stats", h)], {"name": "cas"}),
                       tmp_path, "cas")
    _assert_clean_layout(lay)
    assert lay["marks"] == []
    legend = lay["charts"]["latency"]["legend"]
    assert any(x.startswith("fail: did not happen") for x in legend)
    assert "fail: error" not in legend  # no fail here was an error
    assert re.search(r'<path d="[^"]+" class="pt fail-expected[ "]', dom)
    assert not re.search(r'class="pt fail[ "]', dom)
    n_mismatch = sum(1 for o in h.ops if o.type == "fail")
    assert n_mismatch > 900
    assert f'<span class="fail-expected-text">{n_mismatch:,} <span class="term"' in dom
    assert '<span class="w-invalid">0 <span class="term"' in dom
    # The fault table carries the strobe's observed and the bump's measured offsets.
    assert "strobe n1 0s/+90s observed n1 0s…+90s" in dom
    assert "bump n2 -59.999s" in dom
    assert "measured n2 +0.001s" in dom
    assert set(lay["charts"]) == {"latency", "throughput"}
    assert dom.count('class="faultlbl"') >= 10  # dense windows still get (cut) labels
