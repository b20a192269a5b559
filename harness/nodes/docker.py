"""The docker provider: one container per node on a user-defined bridge with fixed IPs.

The container's main process is ``sleep infinity`` under docker's own init
(``init=True``, tini): the init reaps daemons that :mod:`.remote` starts with
``setsid -f`` (they are orphans by design), and the real server pid is
tracked from the wrapper's pid file, so KILL/STOP/CONT/TERM go to the
server's process group inside the container.  Restarting a server is then a
matter of starting it again, without recreating the container and losing
its data directory.

Options: ``image`` (use this image as is), ``packages`` (apt packages for
the built image), ``sys_time`` (add CAP_SYS_TIME), ``subnet`` (default
10.78.0.0/16, a free /24 is chosen), ``suite``/``mirror``/``allow_pull``
for the image build.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import posixpath
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from core.nodes import ExecResult, Node, NodeError, Provider, ProviderUnavailable

from .images import DEFAULT_MIRROR, DEFAULT_SUITE
from .netns import tag_for
from .remote import ExecNode
from .state import StateFile, all_states, state_lock

DEFAULT_SUBNET = "10.78.0.0/16"
START_ENGINE = ("start the Docker engine first, e.g. `dockerd > /var/log/dockerd.log 2>&1 &` "
                "(apt-get install docker.io), or point DOCKER_HOST at a running one")
_TIMED_OUT = 124  # coreutils timeout(1)


def connect(timeout: float = 60):
    """A docker client for a running engine, or ProviderUnavailable saying how to get one."""
    try:
        import docker
    except ImportError:  # pragma: no cover - a declared dependency
        raise ProviderUnavailable("the docker provider needs the 'docker' Python package") from None
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except Exception as e:  # noqa: BLE001 - the SDK raises several kinds for "no engine"
        raise ProviderUnavailable(f"cannot reach the Docker engine ({str(e)[:160]}): "
                                  f"{START_ENGINE}") from None


def _tar_one(name: str, data: bytes, mode: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo(name.lstrip("/"))
        ti.size = len(data)
        ti.mode = mode
        ti.mtime = int(time.time())
        tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _tar_dirs(dirs: Sequence[str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for d in dirs:
            ti = tarfile.TarInfo(d.lstrip("/"))
            ti.type = tarfile.DIRTYPE
            ti.mode = 0o755
            ti.mtime = int(time.time())
            tf.addfile(ti)
    return buf.getvalue()


class DockerNode(ExecNode):
    def __init__(self, provider: "DockerProvider", name: str, container_name: str, ip: str):
        super().__init__()
        self.provider = provider
        self.name = name
        self.container_name = container_name
        self.ip = ip
        self.data_dir = "/sb/data"
        self.log_dir = "/sb/logs"
        self.run_dir = "/sb/run"
        self._container = None

    def __repr__(self) -> str:
        return f"DockerNode({self.name}, {self.ip}, {self.container_name})"

    def reach_ref(self) -> dict[str, Any]:
        """How to reach this node without this object (nemesis journals store it)."""
        return {"name": self.name, "ip": self.ip, "data_dir": self.data_dir, "kind": "docker",
                "container": self.container_name, "host_pids": False, "host_files": False}

    @property
    def container(self):
        if self._container is None:
            self._container = self.provider.client.containers.get(self.container_name)
        return self._container

    def exec(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
             timeout: float = 30.0, stdin: bytes | None = None, cwd: str | None = None) -> ExecResult:
        import docker.errors
        argv = [str(a) for a in argv]
        if not argv:
            raise NodeError(f"{self.name}: exec of an empty argv")
        tmp = None
        if stdin is not None:
            # The exec API has no simple "write these bytes and close"; a file is exact.
            tmp = f"{self.run_dir}/stdin.{time.monotonic_ns()}"
            self.put_file(tmp, stdin, 0o600)
            argv = ["sh", "-c", 'f=$1; shift; exec "$@" < "$f"', "sh", tmp, *argv]
        # The timeout runs inside the container so an overrunning command is
        # really killed, not merely abandoned.
        wrapped = ["timeout", "-k", "2", f"{timeout:g}", *argv]
        t0 = time.monotonic()
        try:
            r = self.container.exec_run(wrapped, environment=dict(env or {}), workdir=cwd or "/",
                                        demux=True)
        except docker.errors.NotFound:
            raise NodeError(f"{self.name}: container {self.container_name} is gone") from None
        except docker.errors.APIError as e:
            raise NodeError(f"{self.name}: exec {argv[0]} failed: {e}") from None
        finally:
            if tmp is not None:
                with contextlib.suppress(Exception):
                    self.container.exec_run(["rm", "-f", tmp])
        out, err = r.output if r.output else (None, None)
        code = r.exit_code if r.exit_code is not None else -1
        if code in (_TIMED_OUT, 128 + 9) and time.monotonic() - t0 >= timeout:
            raise NodeError(f"{self.name}: {' '.join(argv)} timed out after {timeout}s")
        return ExecResult(code, out or b"", err or b"")

    def put_file(self, remote_path: str, data: bytes, mode: int = 0o644) -> None:
        import docker.errors
        if not remote_path.startswith("/"):
            raise NodeError(f"{self.name}: put_file needs an absolute path, got {remote_path!r}")
        try:
            # Extracting at / with the full path creates missing parent directories too.
            ok = self.container.put_archive("/", _tar_one(posixpath.normpath(remote_path), data, mode))
        except docker.errors.APIError as e:
            raise NodeError(f"{self.name}: cannot write {remote_path}: {e}") from None
        if not ok:
            raise NodeError(f"{self.name}: cannot write {remote_path}")

    def get_file(self, remote_path: str) -> bytes:
        import docker.errors
        try:
            stream, _ = self.container.get_archive(remote_path)
            raw = b"".join(stream)
        except docker.errors.NotFound:
            # The archive API cannot see pseudo-files such as /proc/*; cat can.
            r = self.exec(["cat", "--", remote_path])
            if r.exit_code == 0:
                return r.stdout
            raise NodeError(f"{self.name}: cannot read {remote_path}: "
                            f"{r.stderr.decode(errors='replace').strip()}") from None
        except docker.errors.APIError as e:
            raise NodeError(f"{self.name}: cannot read {remote_path}: {e}") from None
        with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
            for m in tf.getmembers():
                if m.isfile():
                    f = tf.extractfile(m)
                    assert f is not None
                    return f.read()
        raise NodeError(f"{self.name}: cannot read {remote_path}: not a regular file")


class DockerProvider(Provider):
    name = "docker"
    OPTIONS = {"image": None, "packages": (), "sys_time": False, "subnet": DEFAULT_SUBNET,
               "suite": DEFAULT_SUITE, "mirror": DEFAULT_MIRROR, "allow_pull": False,
               "log": None}
    refused_faults = {"cpu-starve": "a container's processes are not in splitbrain's own "
                                    "cgroups on this host (cpu-starve works on netns nodes)"}

    def __init__(self, store_root: Path, test_id: str, options: Mapping[str, Any] | None = None):
        opts = dict(options or {})
        self.store_root = Path(store_root)
        self.test_id = test_id
        self.tag = tag_for(test_id)
        self.options = opts
        self.subnet = ipaddress.ip_network(opts.get("subnet", DEFAULT_SUBNET))
        self.network_name = f"sb-{self.tag}"
        self.state = StateFile(self.store_root, test_id, self.name)
        self.nodes: list[DockerNode] = []
        self.log: Callable[[str], None] = opts.get("log") or (lambda s: None)
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = connect()
        return self._client

    def image(self) -> str:
        if self.options.get("image"):
            return str(self.options["image"])
        from .images import ensure_image
        return ensure_image(self.client, self.options.get("packages") or (),
                            suite=self.options.get("suite", DEFAULT_SUITE),
                            mirror=self.options.get("mirror", DEFAULT_MIRROR),
                            allow_pull=bool(self.options.get("allow_pull", False)), log=self.log)

    def _pick_subnet(self) -> ipaddress.IPv4Network:
        taken = []
        for _, st in all_states(self.store_root):
            if st.get("test_id") != self.test_id and st.get("subnet"):
                with contextlib.suppress(ValueError):
                    taken.append(ipaddress.ip_network(st["subnet"]))
        for net in self.client.networks.list():
            for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    taken.append(ipaddress.ip_network(cfg["Subnet"], strict=False))
        from .netns import _run
        for line in _run(["ip", "-4", "route"], check=False).stdout.decode().splitlines():
            with contextlib.suppress(ValueError, IndexError):
                if not line.startswith("default"):
                    taken.append(ipaddress.ip_network(line.split()[0], strict=False))
        for cand in self.subnet.subnets(new_prefix=max(24, self.subnet.prefixlen)):
            if not any(cand.overlaps(t) for t in taken if t.version == 4):
                return cand
        raise NodeError(f"no free /24 left in {self.subnet} for a docker network")

    def create(self, count: int) -> list[Node]:
        import docker.errors
        if count < 1:
            raise NodeError("need at least one node")
        client = self.client
        image = self.image()
        api = client.api
        labels = {"splitbrain.test": self.test_id}
        with state_lock(self.store_root):
            net = self._pick_subnet()
            hosts = list(net.hosts())
            names = [f"n{i}" for i in range(1, count + 1)]
            cnames = [f"sb-{self.tag}-{n}" for n in names]
            ips = [str(hosts[i]) for i in range(1, count + 1)]
            self.state.update(subnet=str(net), network=self.network_name, containers=cnames,
                              nodes=[{"name": n, "container": c, "ip": ip}
                                     for n, c, ip in zip(names, cnames, ips)])
            try:
                # Under the lock, so the subnet is visibly taken before another controller looks.
                client.networks.create(self.network_name, driver="bridge", labels=labels,
                                       ipam=docker.types.IPAMConfig(pool_configs=[
                                           docker.types.IPAMPool(subnet=str(net),
                                                                 gateway=str(hosts[0]))]))
            except docker.errors.APIError as e:
                self.destroy()
                raise NodeError(f"cannot create docker network {self.network_name}: {e}") from None
        try:
            caps = ["NET_ADMIN"] + (["SYS_TIME"] if self.options.get("sys_time") else [])
            skeleton = _tar_dirs(["/sb", "/sb/data", "/sb/logs", "/sb/run"])

            def make(i: int) -> DockerNode:
                hc = api.create_host_config(init=True, cap_add=caps, network_mode=self.network_name)
                nc = api.create_networking_config({self.network_name: api.create_endpoint_config(
                    ipv4_address=ips[i])})
                c = api.create_container(image, name=cnames[i], hostname=names[i], labels=labels,
                                         host_config=hc, networking_config=nc,
                                         command=["sleep", "infinity"])
                api.put_archive(c["Id"], "/", skeleton)
                api.start(c["Id"])
                return DockerNode(self, names[i], cnames[i], ips[i])

            with ThreadPoolExecutor(max_workers=min(8, count)) as pool:
                futures = [pool.submit(make, i) for i in range(count)]
                errors = []
                for f in futures:
                    try:
                        self.nodes.append(f.result())
                    except Exception as e:  # noqa: BLE001 - reported together below
                        errors.append(e)
                if errors:
                    raise NodeError(f"cannot create containers: {errors[0]}")
        except BaseException:
            self.destroy()
            raise
        return list(self.nodes)

    def destroy(self) -> None:
        if self.state.data.get("network") or self.state.path.exists():
            reclaim(self.state.data, client=self._client)
        self.nodes = []
        self.state.remove()


def reclaim(state: Mapping[str, Any], client=None) -> list[str]:
    """Remove the containers and network a docker state file names (and any with its label)."""
    import docker.errors
    client = client or connect()
    done = []
    names = set(state.get("containers") or [])
    test_id = state.get("test_id")
    if test_id:
        for c in client.containers.list(all=True, filters={"label": f"splitbrain.test={test_id}"}):
            names.add(c.name)

    def rm(name: str) -> str | None:
        try:
            client.api.remove_container(name, force=True)
            return f"container {name}"
        except docker.errors.NotFound:
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        done.extend(d for d in pool.map(rm, sorted(names)) if d)
    net = state.get("network")
    if net:
        for n in client.networks.list(names=[net]):
            if n.name == net:
                with contextlib.suppress(docker.errors.NotFound):
                    n.remove()
                    done.append(f"network {net}")
    return done
