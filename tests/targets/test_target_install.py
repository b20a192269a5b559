"""The install step every target shares (Target.ensure_installed), on a real node."""

from __future__ import annotations

import os
import shutil

import pytest

pytestmark = pytest.mark.netns


@pytest.fixture
def node(tmp_path):
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for a netns node")
    from harness.nodes import get_provider
    prov = get_provider("netns", tmp_path / "store")
    try:
        yield prov.create(1)[0]
    finally:
        prov.destroy()


def test_missing_binary_is_one_clear_line_naming_the_package(node):
    from targets import TargetError, get
    etcd = get("etcd")({"binary": "/nonexistent/etcd-x"})
    with pytest.raises(TargetError) as e:
        etcd.install(node)
    msg = str(e.value)
    assert "'/nonexistent/etcd-x' not found" in msg
    assert "apt-get install etcd-server" in msg and "target.options.install: true" in msg
    assert "\n" not in msg


def test_present_binary_passes(node):
    from targets import get
    get("etcd")({}).install(node)  # Debian's etcd-server is installed by scripts/install.sh
