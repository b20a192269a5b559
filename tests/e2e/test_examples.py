"""Every example spec loads and validates (nothing is started)."""

from pathlib import Path

import pytest

from harness.spec import load_spec

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("etcd-*.yaml"))


def test_there_are_etcd_examples():
    names = {p.stem for p in EXAMPLES}
    assert {"etcd-register", "etcd-register-serializable", "etcd-set", "etcd-counter"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_validates(path):
    spec = load_spec(path)
    assert spec.target == "etcd"
    assert spec.nemesis is not None and spec.nemesis.faults
    if "serializable" in path.stem:
        assert spec.target_options["read_mode"] == "serializable"
