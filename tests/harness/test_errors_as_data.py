"""Errors carry file, line and field path as fields; unknown options anywhere are
refused naming the field and the options that exist; ``jitter: 0`` is a duration."""

from __future__ import annotations

import textwrap

import pytest

from core.errors import OptionError, SpecError
from harness.spec import load_spec

BASE = """\
name: t
target: {name: etcd}
nodes: {provider: netns, count: 3}
workload: {name: register}
time_limit: 5s
"""


def load(tmp_path, extra: str = "", *, old: str = "", new: str = ""):
    """BASE (with ``old`` replaced by ``new``) plus ``extra``, loaded from a file."""
    p = tmp_path / "spec.yaml"
    p.write_text(BASE.replace(old, new) + textwrap.dedent(extra))
    return load_spec(p)


def refused(tmp_path, extra: str = "", **replace: str) -> SpecError:
    with pytest.raises(SpecError) as e:
        load(tmp_path, extra, **replace)
    return e.value


def test_jitter_zero_is_the_documented_default_and_loads(tmp_path):
    s = load(tmp_path, "nemesis:\n  faults: [partition]\n  interval: 5s\n  jitter: 0\n")
    assert s.nemesis.jitter_s == 0.0
    s = load(tmp_path, "nemesis:\n  faults: [partition]\n  jitter: 0s\n")
    assert s.nemesis.jitter_s == 0.0


def test_interval_zero_is_still_refused_with_its_field(tmp_path):
    with pytest.raises(SpecError) as e:
        load(tmp_path, "nemesis:\n  faults: [partition]\n  interval: 0s\n")
    assert e.value.path == ("nemesis", "interval") and e.value.line == 8
    assert "expected a duration > 0" in e.value.message


def test_misspelt_checker_option_is_an_error_naming_field_and_options(tmp_path):
    with pytest.raises(SpecError) as e:
        load(tmp_path, "checkers:\n  - name: linearizable\n    modle: kv\n")
    err = e.value
    assert err.path == ("checkers", 0, "modle")
    assert err.file.endswith("spec.yaml") and err.line == 8
    assert "unknown option for checker linearizable" in err.message and "model" in err.message
    assert str(err).startswith(f"{err.file}:8: checkers[0].modle: ")


def test_unknown_target_option_has_its_path_and_the_allowed_names(tmp_path):
    e = refused(tmp_path, old="target: {name: etcd}", new="target:\n  name: etcd\n  colour: red")
    assert e.path == ("target", "colour") and e.line == 4 and "read_mode" in e.message


def test_unknown_workload_option_has_its_path(tmp_path):
    e = refused(tmp_path, old="workload: {name: register}",
                new="workload:\n  name: register\n  raed_fraction: 0.2")
    assert e.path == ("workload", "raed_fraction") and "read_fraction" in e.message


def test_bad_target_option_value_names_the_option_not_a_parsed_message(tmp_path):
    import targets
    with pytest.raises(OptionError) as e:
        targets.get("etcd")({"heartbeat_ms": 100, "election_ms": 200})
    assert e.value.option == "election_ms" and e.value.path == ("election_ms",)


def test_generator_error_is_relocated_to_its_yaml_line(tmp_path):
    with pytest.raises(SpecError) as e:
        load(tmp_path, "generator:\n  rate: 10\n  gen:\n    mix: [{f: read}, {bogus: 1}]\n")
    assert e.value.path == ("generator", "gen", "mix", 1) and e.value.line == 9


def test_one_option_error_one_client_one_user_error():
    import harness.cli.errors
    import targets
    import workloads
    from core import errors
    assert targets.OptionError is workloads.OptionError is errors.OptionError
    assert targets.Client is workloads.Client
    assert harness.cli.errors.UserError is errors.UserError


def test_unknown_node_provider_option_is_refused(tmp_path):
    e = refused(tmp_path, old="nodes: {provider: netns, count: 3}",
                new="nodes: {provider: netns, count: 3, options: {subnt: 10.9.0.0/16}}")
    assert e.path == ("nodes", "options", "subnt") and "subnet" in e.message


def test_unknown_model_is_refused_at_load_not_at_the_end(tmp_path):
    with pytest.raises(SpecError) as e:
        load(tmp_path, "checkers:\n  - {name: linearizable, model: cas-regster}\n")
    assert e.value.path == ("checkers", 0, "model") and "cas-register" in e.value.message
