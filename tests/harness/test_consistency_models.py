"""Which consistency models a transactional run is judged against: the spec's (or the run
flag's) first, then the workload's option, then what the target's isolation level promises."""

import subprocess
import sys

import pytest

from core.errors import SpecError
from harness.spec import spec_from_dict


def _spec(**extra):
    d = {"name": "t", "target": {"name": "postgresql", "isolation": "repeatable-read"},
         "nodes": {"count": 1}, "workload": {"name": "list-append"}, "time_limit": "5s"}
    d.update(extra)
    return spec_from_dict(d)


def _models(spec):
    return dict(spec.all_checkers())["list-append"]["consistency_models"]


def test_the_target_promise_is_the_default():
    assert _models(_spec()) == ["snapshot-isolation"]
    s = _spec(target={"name": "postgresql", "isolation": "serializable"})
    assert _models(s) == ["strict-serializable"]
    s = _spec(target={"name": "postgresql", "isolation": "read-committed"})
    assert _models(s) == ["read-committed"]


def test_the_workload_option_beats_the_promise_and_the_spec_beats_both():
    w = {"name": "list-append", "consistency_models": ["serializable"]}
    assert _models(_spec(workload=w)) == ["serializable"]
    assert _models(_spec(workload=w, consistency_models=["read-committed"])) == ["read-committed"]
    assert _spec(consistency_models=["serializable"]).to_dict()["consistency_models"] == \
        ["serializable"]


def test_models_apply_only_to_checkers_that_take_them():
    s = _spec(workload={"name": "bank"}, consistency_models=["serializable"])
    assert all("consistency_models" not in o for _, o in s.all_checkers())


@pytest.mark.parametrize("bad", [["serialisable"], "serializable", [], [3]])
def test_a_bad_model_list_names_the_field(bad):
    with pytest.raises(SpecError) as e:
        _spec(consistency_models=bad)
    assert "consistency_models" in str(e.value) and "snapshot-isolation" in str(e.value)


def test_the_run_flag_is_checked_before_anything_starts():
    p = subprocess.run([sys.executable, "-m", "harness", "run", "--target", "postgresql",
                        "--workload", "list-append", "--consistency-models", "serialisable"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert "--consistency-models" in p.stderr and "Traceback" not in p.stderr
