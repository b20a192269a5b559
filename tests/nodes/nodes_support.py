"""Helpers shared by the node tests and the benchmark: clusters of real nodes per provider."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from harness.nodes import get_provider

CONTRACT_PACKAGES = ["netcat-openbsd"]  # nc: the node-to-node TCP check


def require_root() -> None:
    if os.geteuid() != 0:
        pytest.fail("netns/docker/ssh tests need root (run them as root, or deselect with "
                    "-m 'not netns and not docker and not ssh')")


@dataclass
class Cluster:
    """Nodes of one provider plus what is needed to check nothing was left behind."""

    kind: str
    provider: Any
    nodes: list
    store: Path
    helpers: list = field(default_factory=list)   # providers that host the nodes (ssh on netns)
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for p in [self.provider, *self.helpers]:
            p.destroy()
        for fn in self.cleanup:
            fn()


def make_cluster(kind: str, store: Path, count: int, request) -> Cluster:
    require_root()
    if kind == "netns":
        p = get_provider("netns", store)
        return Cluster(kind, p, p.create(count), store)
    if kind == "docker":
        image = request.getfixturevalue("node_image")
        p = get_provider("docker", store, options={"image": image})
        return Cluster(kind, p, p.create(count), store)
    if kind == "ssh":
        from harness.nodes.sshd import start_sshd
        hostp = get_provider("netns", store)
        hosts = hostp.create(count)
        try:
            opts = start_sshd(hosts, store / "sshkeys")
            p = get_provider("ssh", store, options=opts)
            return Cluster(kind, p, p.create(count), store, helpers=[hostp])
        except BaseException:
            hostp.destroy()
            raise
    raise ValueError(kind)


PROVIDER_PARAMS = [
    pytest.param("netns", marks=pytest.mark.netns, id="netns"),
    pytest.param("docker", marks=[pytest.mark.docker, pytest.mark.slow], id="docker"),
    pytest.param("ssh", marks=[pytest.mark.ssh, pytest.mark.netns], id="ssh"),
]


