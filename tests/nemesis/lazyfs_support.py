"""What the lazy filesystem's tests need on this machine, said once."""

from __future__ import annotations

import os
import subprocess

import pytest


def lazyfs_unavailable() -> str | None:
    """Why lazyfs cannot run here (root, /dev/fuse, Debian's python3-pyfuse3), or None."""
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        return "needs root and /dev/fuse"
    if not os.path.exists("/usr/bin/python3") or subprocess.run(
            ["/usr/bin/python3", "-c", "import pyfuse3, trio"], capture_output=True).returncode:
        return "needs Debian's python3-pyfuse3 (scripts/install.sh installs it)"
    return None


LAZYFS_PROVIDERS = [
    pytest.param("netns", marks=pytest.mark.netns, id="netns"),
    pytest.param("docker", marks=[pytest.mark.docker, pytest.mark.slow], id="docker"),
]


@pytest.fixture(scope="session")
def lazyfs_image(docker_image):
    """A node image with Debian's python3-pyfuse3 beside the nemesis tests' packages (the engine
    is started by ``docker_image`` when none runs)."""
    import docker
    from nemesis_support import DOCKER_PACKAGES
    from harness.nodes.images import ensure_image
    from nemesis.lazyfs.layer import LAZYFS_PACKAGES
    return ensure_image(docker.from_env(timeout=600), [*DOCKER_PACKAGES, *LAZYFS_PACKAGES],
                        log=print)


def lazyfs_provider(kind: str, store, request):
    """Nodes lazyfs can mount on: netns, or containers given /dev/fuse and SYS_ADMIN."""
    from harness.nodes import get_provider
    if kind == "docker":
        image = request.getfixturevalue("lazyfs_image")
        return get_provider("docker", store, options={"image": image, "fuse": True})
    return get_provider("netns", store)


def fuse_mounted(node, mountpoint: str) -> bool:
    """Whether a FUSE filesystem is mounted at ``mountpoint`` where the node's processes see it."""
    from nemesis.lazyfs.mount import LazyMount
    return LazyMount(node, mountpoint).mounted()
