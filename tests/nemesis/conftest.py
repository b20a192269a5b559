"""Fixtures for the nemesis tests: five real netns nodes with the test scripts copied in."""

from __future__ import annotations

import pytest

from nemesis_support import HERE, netns_missing


@pytest.fixture(scope="module")
def netns_cluster(tmp_path_factory):
    """Five real netns nodes for the module, each with the peer server script copied in."""
    why = netns_missing()
    if why:
        pytest.skip(why)
    from harness.nodes import get_provider
    store = tmp_path_factory.mktemp("store")
    prov = get_provider("netns", store)
    nodes = prov.create(5)
    try:
        for n in nodes:
            for script in ("peer.py", "probe.py"):
                n.put_file(f"{n.data_dir}/{script}", (HERE / script).read_bytes(), 0o644)
        yield store, nodes
    finally:
        prov.destroy()


