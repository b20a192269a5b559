"""Node images for the docker provider, built locally and reused.

No registry may be reachable, so the base image is made from a Debian
``debootstrap --variant=minbase`` root filesystem imported with ``docker
import`` (a registry ``debian:<suite>-slim`` is tried first only when
``allow_pull`` is set).  Each package list gets its own image derived from
that base: a container on the host network runs ``apt-get install`` and is
committed, with apt lists, caches, docs, man pages and locales removed in
the same step so the layer stays small.  Tags are hashes of the recipe and
package list, so an image is built once and then found by name.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any, Callable, Iterable

from core.nodes import NodeError

RECIPE_VERSION = 1
DEFAULT_SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# What every node needs: iptables/iproute2 for network faults, procps for kill/ps.
# setsid (util-linux) and timeout (coreutils) are already in minbase.
NODE_PACKAGES = ("iproute2", "iptables", "procps")
BASE_REPO = "splitbrain/base"
NODE_REPO = "splitbrain/node"
_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# dpkg drops these paths from every later install, which keeps derived images small.
_NODOC = """path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
"""
_TRIM = ["var/lib/apt/lists", "var/cache/apt", "usr/share/doc", "usr/share/man",
         "usr/share/info", "usr/share/locale", "var/log"]


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:12]


def base_tag(suite: str = DEFAULT_SUITE, mirror: str = DEFAULT_MIRROR) -> str:
    return f"{BASE_REPO}:{suite}-{_digest([RECIPE_VERSION, suite, mirror])}"


def node_tag(packages: Iterable[str], suite: str = DEFAULT_SUITE,
             mirror: str = DEFAULT_MIRROR) -> str:
    pkgs = sorted(set(NODE_PACKAGES) | set(packages))
    return f"{NODE_REPO}:{_digest([RECIPE_VERSION, suite, mirror, pkgs])}"


@contextlib.contextmanager
def _build_lock(tag: str):
    """Two controllers wanting the same image build it once."""
    path = os.path.join(tempfile.gettempdir(), "splitbrain-image-" + tag.replace("/", "_")
                        .replace(":", "_") + ".lock")
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _has_image(client, tag: str) -> bool:
    import docker.errors
    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def ensure_base(client, *, suite: str = DEFAULT_SUITE, mirror: str = DEFAULT_MIRROR,
                allow_pull: bool = False, log: Callable[[str], None] = lambda s: None) -> str:
    tag = base_tag(suite, mirror)
    if _has_image(client, tag):
        return tag
    with _build_lock(tag):
        if _has_image(client, tag):
            return tag
        if allow_pull and _try_pull(client, suite, tag, log):
            return tag
        _debootstrap_import(client, tag, suite, mirror, log)
    return tag


def _try_pull(client, suite: str, tag: str, log: Callable[[str], None]) -> bool:
    import docker.errors
    try:
        log(f"pulling debian:{suite}-slim")
        img = client.images.pull("debian", tag=f"{suite}-slim")
        repo, t = tag.split(":")
        img.tag(repo, t)
        return True
    except docker.errors.APIError as e:
        log(f"pull failed ({str(e)[:120]}); falling back to debootstrap")
        return False


def _debootstrap_import(client, tag: str, suite: str, mirror: str,
                        log: Callable[[str], None]) -> None:
    if shutil.which("debootstrap") is None:
        raise NodeError("building the node image needs debootstrap: apt-get install debootstrap")
    t0 = time.monotonic()
    work = tempfile.mkdtemp(prefix="splitbrain-rootfs-")
    rootfs = os.path.join(work, "rootfs")
    try:
        log(f"debootstrap --variant=minbase {suite} ({mirror})")
        r = subprocess.run(["debootstrap", "--variant=minbase", suite, rootfs, mirror],
                           capture_output=True, timeout=900)
        if r.returncode != 0:
            tail = (r.stdout + r.stderr).decode(errors="replace").strip().splitlines()[-5:]
            raise NodeError(f"debootstrap {suite} failed (exit {r.returncode}): {' | '.join(tail)}")
        for rel in _TRIM:
            p = os.path.join(rootfs, rel)
            if os.path.isdir(p):
                shutil.rmtree(p, ignore_errors=True)
                os.makedirs(p, exist_ok=True)
        os.makedirs(os.path.join(rootfs, "var/lib/apt/lists/partial"), exist_ok=True)
        os.makedirs(os.path.join(rootfs, "var/cache/apt/archives/partial"), exist_ok=True)
        with open(os.path.join(rootfs, "etc/dpkg/dpkg.cfg.d/01-splitbrain-nodoc"), "w") as f:
            f.write(_NODOC)
        tarball = os.path.join(work, "rootfs.tar")
        subprocess.run(["tar", "-C", rootfs, "--numeric-owner", "-cf", tarball, "."], check=True,
                       capture_output=True, timeout=600)
        repo, t = tag.split(":")
        log(f"docker import -> {tag}")
        client.api.import_image_from_file(
            tarball, repository=repo, tag=t,
            changes=[f"ENV PATH={_PATH}", "ENV LANG=C.UTF-8", 'CMD ["sleep", "infinity"]'])
        if not _has_image(client, tag):
            raise NodeError(f"docker import of {tag} did not produce the image")
        log(f"base image {tag} built in {time.monotonic() - t0:.0f}s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ensure_image(client, packages: Iterable[str] = (), *, suite: str = DEFAULT_SUITE,
                 mirror: str = DEFAULT_MIRROR, allow_pull: bool = False,
                 log: Callable[[str], None] = lambda s: None) -> str:
    """The tag of a node image holding ``packages`` (plus the node basics), building it if missing."""
    pkgs = sorted(set(NODE_PACKAGES) | set(packages))
    for p in pkgs:
        if not p or not all(c.isalnum() or c in "+-.:_=~" for c in p):
            raise NodeError(f"package name {p!r} is not a Debian package name")
    tag = node_tag(pkgs, suite, mirror)
    if _has_image(client, tag):
        return tag
    base = ensure_base(client, suite=suite, mirror=mirror, allow_pull=allow_pull, log=log)
    with _build_lock(tag):
        if _has_image(client, tag):
            return tag
        t0 = time.monotonic()
        log(f"installing {' '.join(pkgs)} into {tag}")
        # openjdk's postinst writes man-page alternatives and fails when the
        # (excluded) man directories do not exist, so they are created empty.
        script = ("set -e; export DEBIAN_FRONTEND=noninteractive; "
                  "mkdir -p /usr/share/man/man1 /usr/share/man/man7; apt-get update -qq; "
                  "apt-get install -y -qq --no-install-recommends \"$@\" >/dev/null; "
                  "apt-get clean; rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin "
                  "/usr/share/doc/* /usr/share/man/* /usr/share/locale/* /var/log/apt "
                  "/var/log/dpkg.log /tmp/*")
        # Host networking: the build needs the Debian mirror, and the host's route
        # and resolver work without depending on docker's NAT.
        c = client.containers.create(base, ["sh", "-c", script, "sh", *pkgs], network_mode="host",
                                     labels={"splitbrain.build": tag})
        try:
            c.start()
            res = c.wait(timeout=1200)
            code = res.get("StatusCode", 1)
            if code != 0:
                out = c.logs().decode(errors="replace").strip().splitlines()[-5:]
                raise NodeError(f"installing {' '.join(pkgs)} into the node image failed "
                                f"(exit {code}): {' | '.join(out)}")
            repo, t = tag.split(":")
            c.commit(repository=repo, tag=t, changes=['CMD ["sleep", "infinity"]'])
        finally:
            with contextlib.suppress(Exception):
                c.remove(force=True)
        log(f"node image {tag} built in {time.monotonic() - t0:.0f}s")
    return tag
