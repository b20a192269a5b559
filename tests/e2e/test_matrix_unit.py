"""``test-all`` matrix files: expansion into cells, refusals with the target's
reason, and one-line errors for bad files — nothing is started here."""

import pytest

from harness.cli.cmd_matrix import Cell, exit_code_for, load_matrix
from harness.cli.errors import UserError

BASE = """
base:
  nodes: {provider: netns, count: 3}
  workload: {name: register}
  time_limit: 10s
"""


def _write(tmp_path, text):
    p = tmp_path / "m.yaml"
    p.write_text(text)
    return p


def test_cells_are_targets_times_nemeses_and_clock_is_refused_for_redis_and_etcd(tmp_path):
    p = _write(tmp_path, "name: t\n" + BASE + """
targets:
  - etcd
  - {name: redis, down_after_ms: 1500, expect: [valid, invalid]}
  - {name: zookeeper, reads: plain, with: {health_timeout: 90s}, label: zk-plain}
nemeses:
  - {faults: [partition], interval: 5s}
  - {faults: [clock], interval: 5s, label: clocks}
""")
    name, cells, _ = load_matrix(p)
    assert name == "t"
    assert [(c.target, c.nemesis_label) for c in cells] == [
        ("etcd", "partition"), ("etcd", "clocks"), ("redis", "partition"), ("redis", "clocks"),
        ("zk-plain", "partition"), ("zk-plain", "clocks")]
    refused = {c.target: c.refused for c in cells if c.refused}
    assert set(refused) == {"etcd", "redis"}
    assert "vDSO" in refused["etcd"] and "jemalloc" in refused["redis"]
    zk = [c for c in cells if c.target_name == "zookeeper"]
    assert all(c.spec is not None for c in zk)
    assert zk[0].spec.health_timeout_s == 90 and zk[0].spec.target_options["reads"] == "plain"
    assert zk[0].spec.name == "t-zk-plain-partition"
    assert cells[2].expect == ("valid", "invalid") and cells[0].expect == ("valid",)


@pytest.mark.parametrize("text,needle", [
    ("targets: [etcd]\nnemeses: [none]\ncolour: red\n", "colour: unknown field"),
    ("targets: []\nnemeses: [none]\n", "targets: expected a non-empty list"),
    ("targets: [etcd]\n", "nemeses: expected a non-empty list"),
    ("targets: [nosuchdb]\nnemeses: [none]\n", "targets[0]: no target named 'nosuchdb'"),
    ("targets: [{name: etcd, read_mode: stale}]\nnemeses: [none]\n", "targets[0]: "),
    ("targets: [{name: etcd, expect: great}]\nnemeses: [none]\n", "targets[0].expect"),
    ("base: {target: etcd}\ntargets: [etcd]\nnemeses: [none]\n", "base.target"),
    ("targets: [etcd]\nnemeses: [{faults: [partiton]}]\n", "nemesis.faults"),
    ("targets: [etcd]\nnemeses: [none]\n  bad: [\n", "YAML syntax error"),
])
def test_bad_matrix_files_are_one_line_errors(tmp_path, text, needle):
    p = _write(tmp_path, BASE + text if not text.startswith("base:") else text)
    with pytest.raises(UserError) as e:
        load_matrix(p)
    assert needle in str(e.value)
    assert "\n" not in str(e.value)
    assert str(p) in str(e.value)


def test_exit_code_follows_expectations():
    def cell(verdict, expect=("valid",), refused=None):
        c = Cell(0, "x", "x", {}, "n", None, refused=refused, expect=expect)
        c.result = {"verdict": verdict} if verdict else {}
        return c
    assert exit_code_for([cell("valid"), cell(None, refused="no clocks")]) == 0
    assert exit_code_for([cell("invalid", ("valid", "invalid"))]) == 0
    assert exit_code_for([cell("invalid")]) == 1
    assert exit_code_for([cell("valid", ("invalid",))]) == 1
    assert exit_code_for([cell("unknown")]) == 2
    assert exit_code_for([cell("error")]) == 2
    assert exit_code_for([cell(None)]) == 2            # never ran (interrupted)


def test_all_refused_matrix_prints_the_reasons_and_runs_nothing(tmp_path, capsys):
    from harness.cli import main
    p = _write(tmp_path, BASE + """
targets: [redis, etcd]
nemeses: [{faults: [clock-bump], interval: 5s}]
""")
    summary = tmp_path / "s.json"
    rc = main(["test-all", str(p), "--store", str(tmp_path / "store"), "--summary", str(summary)])
    out = capsys.readouterr().out
    assert rc == 0
    assert out.count("refused") >= 4           # two progress lines, two table rows
    assert "jemalloc" in out and "vDSO" in out
    import json
    doc = json.loads(summary.read_text())
    assert [c["refused"] is not None for c in doc["cells"]] == [True, True]
    assert not (tmp_path / "store").exists() or not any((tmp_path / "store").iterdir())


def test_table_prints_run_directories_whole_at_any_width():
    import io

    from rich.console import Console

    from harness.cli.cmd_matrix import _print_table
    run_dir = "/work/some/long/store/path/etcd-register-partition-kill/20261130T221500Z-4f2a9c"
    cells = []
    for i, verdict in enumerate(("valid", "invalid")):
        c = Cell(i, "etcd", "etcd", {}, "partition,kill", None)
        c.result = {"verdict": verdict, "run_dir": f"{run_dir}{i}", "ops": {"ok": 10},
                    "reason": "a long reason " * 12}
        cells.append(c)
    for width in (80, 120, 200):
        buf = io.StringIO()
        _print_table("m", cells, Console(file=buf, width=width, force_terminal=False))
        text = buf.getvalue()
        for i in range(2):
            assert f"{run_dir}{i}" in text, (width, text)
