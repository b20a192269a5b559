"""The ``process`` target: a system that is just a binary.

The spec gives the command line per node (``targets.process.template``), the
ports, how to tell a node is healthy and the client class by import path::

    target:
      name: process
      command: "nats-server -p {port} --cluster nats://{ip}:{ports[cluster]} --routes {others}"
      port: 4222
      ports: {cluster: 6222}
      peer_format: "nats://{ip}:{ports[cluster]}"
      client: "mypkg.client:KvClient"        # called KvClient(node_ip, port, **client_options)
      workloads: [register]

One daemon per node through ``node.start_daemon`` (its own process group), so
kill and pause (``KillsDaemons``), clock faults (the daemon's environment comes
from ``env_hook``), partitions (the node's address) and disk faults (everything
lives under ``durable_dir``) work as for any built-in target.
"""

from __future__ import annotations

import shlex
import socket
from typing import Any, Mapping, Sequence

from core.errors import OptionError
from core.nodes import Daemon, Node, NodeError
from core.options import Option, a_string, int_at_least
from core.registry import load_path
from targets.base import KillsDaemons, Target, TargetError

from .template import NodeView, bad_template, render, words


def _port_map(v: Any) -> str | None:
    ok = isinstance(v, dict) and all(isinstance(k, str) and k.isidentifier() and
                                     isinstance(p, int) and 0 < p < 65536 for k, p in v.items())
    return None if ok else "a mapping of port names to port numbers ({cluster: 6222})"


def _is_path(v: Any) -> bool:
    return isinstance(v, str) and v.count(":") == 1 and all(v.split(":"))


def _client_paths(v: Any) -> str | None:
    ok = _is_path(v) or (isinstance(v, dict) and v and all(
        isinstance(k, str) and _is_path(p) for k, p in v.items()))
    return None if ok else ("an import path module:Class, or a mapping of workload names "
                            "to import paths")


def _str_list(v: Any) -> str | None:
    ok = isinstance(v, list) and all(isinstance(x, str) and x for x in v)
    return None if ok else "a list of names"


def _str_map(v: Any) -> str | None:
    ok = isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, (str, int, float))
                                     for k, x in v.items())
    return None if ok else "a mapping of names to strings"


class ProcessTarget(KillsDaemons, Target):
    name = "process"
    description = "any program: one process per node from a command-line template"

    OPTIONS = {
        "command": Option(None, doc="argv template (string or list) with {node} {ip} {port} …"),
        "port": Option(None, int_at_least(1), doc="the client port, {port}"),
        "ports": Option({}, _port_map, doc="more named ports, {ports[NAME]}"),
        "peer_format": Option("{ip}:{port}", a_string, doc="one peer in {peers}/{others}"),
        "peer_separator": Option(",", lambda v: None if isinstance(v, str) else "a string"),
        "health_command": Option(None, doc="argv template run on the node; exit 0 = healthy "
                                           "(default: the client port accepts a connection)"),
        "init_command": Option(None, doc="argv template run once on the first node when every "
                                         "node is first healthy (create a bucket, init a "
                                         "cluster); retried until it exits 0"),
        "primary_command": Option(None, doc="argv template run on each node; exit 0 = this "
                                            "node is a primary now (default: none known)"),
        "client": Option(None, _client_paths, doc="client class, module:Class (or one per "
                                                  "workload: {register: module:Class})"),
        "client_options": Option({}, lambda v: None if isinstance(v, dict) else "a mapping"),
        "workloads": Option(None, lambda v: None if v is None else _str_list(v),
                            doc="workloads the client serves (default: register, or the "
                                "client mapping's keys)"),
        "packages": Option([], _str_list, doc="Debian packages the program needs"),
        "env": Option({}, _str_map, doc="environment of the process"),
        "daemon": Option("process", a_string, doc="the process' name in logs and reports"),
    }

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        given = self.options["workloads"]
        client = self.options["client"]
        self.workloads = tuple(given if given is not None else
                               (client if isinstance(client, dict) else ["register"]))
        self.packages = tuple(self.options["packages"])

    def validate_options(self, options: dict[str, Any]) -> dict[str, Any]:
        o = super().validate_options(options)
        for required in ("command", "port", "client"):
            if o[required] is None:
                raise OptionError(f"target process needs {required!r} "
                                  f"({self.OPTIONS[required].doc})", option=required)
        for key in ("command", "health_command", "init_command", "primary_command"):
            if o[key] is not None and (why := bad_template(o[key], list(o["ports"]))):
                raise OptionError(f"{o[key]!r} is not valid; expected {why}", option=key)
        if why := bad_template(o["peer_format"], list(o["ports"])):
            raise OptionError(f"{o['peer_format']!r} is not valid; expected {why}",
                              option="peer_format")
        paths = o["client"] if isinstance(o["client"], dict) else {"*": o["client"]}
        self._client_cls: dict[str, Any] = {}
        for workload, path in paths.items():
            try:
                # At validation, so a typo is a spec error and not a run of info ops.
                self._client_cls[workload] = load_path(path)
            except (ImportError, AttributeError, ValueError) as e:
                raise OptionError(f"{path!r} cannot be imported ({type(e).__name__}: {e}); "
                                  "expected an importable module:Class", option="client") from None
        return o

    # -- per node ----------------------------------------------------------------
    def _dir(self, node: Node) -> str:
        return self.data_path(node, "process")

    def durable_dir(self, node: Node) -> str:
        return self._dir(node)

    def file_classes(self, node: Node) -> dict[str, list[str]]:
        return {"data": ["*", "**/*"]}

    def _views(self) -> list[NodeView]:
        return [NodeView(n.name, i, n.ip, self._dir(n)) for i, n in enumerate(self.nodes)]

    def _argv(self, template: Any, node: Node) -> list[str]:
        views = self._views()
        me = next(v for v in views if v.name == node.name)
        return render(template, me, views, self.options["port"], self.options["ports"],
                      self.options["peer_format"], self.options["peer_separator"])

    # -- lifecycle -----------------------------------------------------------------
    def install(self, node: Node) -> None:
        prog = words(self.options["command"])[0]
        self.ensure_installed(node, f"command -v {shlex.quote(prog)}", f"{prog} not found")

    def configure(self, node: Node) -> None:
        node.check(["mkdir", "-p", self._dir(node)], timeout=10)

    def start(self, node: Node) -> None:
        """Start the node's process unless it runs (after a kill: the same command
        on the same data directory)."""
        if not self.nodes:
            raise TargetError("process: start before setup (no peers known)")
        if self.daemons(node):
            return
        env = {k: str(v) for k, v in self.options["env"].items()}
        env.update(self.daemon_env(node))
        name = self.options["daemon"]
        self.track(node, node.start_daemon(name, self._argv(self.options["command"], node),
                                            env=env, cwd=self._dir(node),
                                            log_path=self.data_path(node, f"{name}.log")))
        self._daemons[node.name] = self.daemons(node)

    def fault_daemons(self, node: Node) -> list[Daemon]:
        return self.daemons(node)

    def healthy(self, node: Node, timeout: float = 1.0) -> tuple[bool, str]:
        if not self.daemons(node):
            return False, f"{self.options['daemon']} is not running"
        if self.options["health_command"] is not None:
            argv = self._argv(self.options["health_command"], node)
            try:
                r = node.exec(argv, timeout=max(timeout, 0.5))
            except NodeError as e:
                return False, f"health command: {e}"
            if r.exit_code != 0:
                tail = (r.stderr or r.stdout).decode(errors="replace").strip()[-200:]
                return False, f"health command exited {r.exit_code}: {tail}"
            return True, ""
        try:
            with socket.create_connection((node.ip, self.options["port"]), timeout=timeout):
                return True, ""
        except OSError as e:
            return False, f"port {self.options['port']}: {e}"

    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """The nodes whose ``primary_command`` exits 0; empty (unknown) without one."""
        if self.options["primary_command"] is None:
            return []
        out = []
        for n in nodes:
            try:
                if n.exec(self._argv(self.options["primary_command"], n), timeout=2).ok:
                    out.append(n)
            except NodeError:
                continue
        return out

    def initialize(self, timeout: float) -> tuple[bool, str]:
        """The init command, on the first node, once every node is healthy."""
        if self.options["init_command"] is None:
            return True, ""
        first = self.nodes[0]
        try:
            r = first.exec(self._argv(self.options["init_command"], first), timeout=timeout)
        except NodeError as e:
            return False, f"init command: {e}"
        if r.exit_code != 0:
            tail = (r.stderr or r.stdout).decode(errors="replace").strip()[-200:]
            return False, f"init command exited {r.exit_code}: {tail}"
        return True, ""

    # -- clients -------------------------------------------------------------------
    def client(self, node: Node, workload_name: str, options: Mapping[str, Any]) -> Any:
        """``Class(node_ip, port, **client_options)``; its ``node`` attribute (which the
        history records) is set to the node's name when the class leaves it unset."""
        self.check_workload(workload_name)
        cls = self._client_cls.get(workload_name, self._client_cls.get("*"))
        if cls is None:
            raise TargetError(f"target process: the client mapping has no class for "
                              f"workload {workload_name!r}")
        c = cls(node.ip, self.options["port"], **self.options["client_options"])
        if getattr(c, "node", None) is None:
            try:
                c.node = node.name
            except AttributeError:
                pass   # a client with __slots__ just goes unrecorded
        return c

