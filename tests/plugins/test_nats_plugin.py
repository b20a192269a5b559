"""The third-party NATS plugin's own test suite (examples/plugins/splitbrain-nats/tests),
run as its users run it: pytest in the plugin's directory, with the plugin installed
(``pip install ./examples/plugins/splitbrain-nats``, done by scripts/install.sh)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

PLUGIN = Path(__file__).resolve().parents[2] / "examples" / "plugins" / "splitbrain-nats"


def _plugin_pytest(marker: str) -> subprocess.CompletedProcess:
    if importlib.util.find_spec("splitbrain_nats") is None:
        pytest.skip("the splitbrain-nats plugin is not installed "
                    "(pip install ./examples/plugins/splitbrain-nats)")
    # -p splitbrain.pytest_plugin: the fixtures come from splitbrain's pytest11 entry
    # point when splitbrain is installed, and from this checkout when it is run in place.
    return subprocess.run([sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider",
                           "-p", "splitbrain.pytest_plugin", "-m", marker],
                          cwd=PLUGIN, capture_output=True, text=True, timeout=800)


def _assert_passed(p: subprocess.CompletedProcess) -> None:
    tail = "\n".join((p.stdout + p.stderr).splitlines()[-30:])
    # 5: nothing collected, which would hide a broken suite
    assert p.returncode == 0, f"the plugin's tests failed (exit {p.returncode}):\n{tail}"
    assert " passed" in p.stdout and " skipped" not in p.stdout, tail


def test_the_plugins_unit_tests_pass() -> None:
    _assert_passed(_plugin_pytest("not netns"))


@pytest.mark.netns
@pytest.mark.db
@pytest.mark.slow
def test_the_plugins_real_cluster_tests_pass() -> None:
    _assert_passed(_plugin_pytest("netns"))
