"""The pytest plugin as a user's test suite meets it: a separate pytest process
(pytester; in-process would re-import numpy) with the plugin loaded by the name
its entry point has."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

PLUGIN = ("-p", "splitbrain.pytest_plugin")


def test_needs_marker_skips_with_the_missing_need(pytester: pytest.Pytester):
    pytester.makepyfile("""
        import pytest

        @pytest.mark.splitbrain_needs("no-such-program-xyz")
        def test_needs_a_program():
            raise AssertionError("must not run")

        @pytest.mark.splitbrain_needs("python3")
        def test_has_what_it_needs():
            pass
    """)
    res = pytester.runpytest_subprocess(*PLUGIN, "-rs")
    res.assert_outcomes(passed=1, skipped=1)
    res.stdout.fnmatch_lines(["*SKIPPED*splitbrain: needs no-such-program-xyz on PATH*"])


def test_root_need_names_root(monkeypatch: pytest.MonkeyPatch):
    from splitbrain import testing
    monkeypatch.setattr(testing.os, "geteuid", lambda: 1000)
    assert testing.missing("root") == "needs root"
    assert testing.missing("netns") == "needs root for network namespaces"
    monkeypatch.setattr(testing.os, "geteuid", lambda: 0)
    assert testing.missing("root") is None


def test_failed_assert_shows_summary_and_report_path(pytester: pytest.Pytester):
    pytester.makepyfile("""
        from pathlib import Path
        from checkers.result import CheckResult
        from splitbrain.testing import Run, summarize

        def test_invalid_run():
            results = [CheckResult("linearizable", False, "read 3 of key 0 explained by no order"),
                       CheckResult("stats", True, "1000 ops")]
            run = Run("invalid", summarize(False, results), Path("/store/t/20261201T010000"),
                      results)
            assert run.valid
    """)
    res = pytester.runpytest_subprocess(*PLUGIN)
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines([
        "*INVALID: linearizable: read 3 of key 0 explained by no order*"
        "report: /store/t/20261201T010000/report.html*"])


def test_bad_spec_fails_the_test_in_one_line(pytester: pytest.Pytester):
    pytester.makepyfile("""
        def test_typo(splitbrain_run):
            splitbrain_run({"target": "etcd", "nodes": 3, "workload": "regster"})
    """)
    res = pytester.runpytest_subprocess(*PLUGIN)
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(["*splitbrain: *workload*'regster'*"])
    assert "Traceback" not in res.stdout.str()


def test_a_class_given_for_the_target_is_named_by_its_path():
    from splitbrain.testing import spec_dict
    from targets.etcd.target import EtcdTarget
    d = spec_dict(target={"name": EtcdTarget, "read_mode": "serializable"}, workload="register")
    assert d["target"] == {"name": "targets.etcd.target:EtcdTarget", "read_mode": "serializable"}
    from harness.spec import spec_from_dict
    assert spec_from_dict(d).target == "targets.etcd.target:EtcdTarget"


def test_an_interrupted_run_stops_the_session_after_its_teardown(pytester: pytest.Pytester):
    # The run itself catches Ctrl-C to heal and tear down (harness.lifecycle); the
    # fixture then hands the interrupt back to pytest instead of a failed assert.
    pytester.makepyfile("""
        from pathlib import Path
        from splitbrain import testing

        def fake_run(spec=None, **parts):
            return testing.Run("unknown", "UNKNOWN: run: interrupted", Path("/store/t/1"),
                               interrupted="main phase")

        def test_interrupted(splitbrain_run, monkeypatch):
            monkeypatch.setattr(testing, "run", fake_run)
            splitbrain_run({})

        def test_never_reached():
            pass
    """)
    res = pytester.runpytest_subprocess(*PLUGIN)
    assert res.ret == pytest.ExitCode.INTERRUPTED
    res.stdout.fnmatch_lines(["*splitbrain run interrupted during the main phase "
                              "(nodes and faults torn down; /store/t/1)*"])
