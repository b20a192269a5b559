"""`run --help` quotes the defaults a quick-form run actually records."""

from __future__ import annotations

import re
import subprocess
import sys

from harness.cli.cmd_run import QUICK_NODES, QUICK_PROVIDER, spec_default
from harness.spec import spec_from_quick_args


def _help() -> str:
    out = subprocess.run([sys.executable, "-m", "harness", "run", "--help"],
                         capture_output=True, text=True, check=True, env=None,
                         ).stdout
    return re.sub(r"\s+", " ", out)


def test_help_quotes_what_the_quick_form_records():
    spec = spec_from_quick_args("etcd", QUICK_NODES, QUICK_PROVIDER, "register", None,
                                spec_default("time_limit_s"))
    text = _help()
    assert f"healthy (default {spec.health_timeout_s:g} s)" in text
    assert f"total client ops/s (default {spec.rate:g})" in text
    assert f"after it (default {spec.op_timeout_s:g} s)" in text
    assert f"client workers (default {spec.concurrency})" in text
    assert f"seconds of main phase (default {spec.time_limit_s:g})" in text
    assert f"number of nodes (default {spec.nodes.count})" in text
    # and those are the spec's own defaults, not numbers typed twice
    assert spec.health_timeout_s == spec_default("health_timeout_s")
    assert spec.rate == spec_default("rate")
    assert spec.op_timeout_s == spec_default("op_timeout_s")
    assert spec.concurrency == spec_default("concurrency")
