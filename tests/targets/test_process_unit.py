"""The process target's options and command templates, without running anything."""

from __future__ import annotations

import pytest

from core.errors import OptionError
from targets.process.target import ProcessTarget
from targets.process.template import NodeView, render

CLIENT = "tcp_register_client:RegisterClient"
NODES = [NodeView("n1", 0, "10.0.0.1", "/d/n1 x"), NodeView("n2", 1, "10.0.0.2", "/d/n2")]


@pytest.fixture(autouse=True)
def _client_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "data"))


def opts(**kw):
    o = {"command": "srv --port {port} --dir {data_dir}", "port": 7000, "client": CLIENT, **kw}
    return {k: v for k, v in o.items() if v is not OMIT}


OMIT = object()


def test_words_are_split_before_substitution_so_values_stay_one_argument():
    argv = render('srv --name "{node} a" --dir {data_dir} --routes {others} -c {ports[cluster]}',
                  NODES[0], NODES, 7000, {"cluster": 7100}, "nats://{ip}:{ports[cluster]}", ",")
    assert argv == ["srv", "--name", "n1 a", "--dir", "/d/n1 x", "--routes",
                    "nats://10.0.0.2:7100", "-c", "7100"]
    assert render(["srv", "{peers}", "{index}"], NODES[1], NODES, 7, {}, "{ip}:{port}", " ") == \
        ["srv", "10.0.0.1:7 10.0.0.2:7", "1"]


@pytest.mark.parametrize("given, option, expected", [
    ({"command": OMIT}, "command", "needs 'command'"),
    ({"port": OMIT}, "port", "needs 'port'"),
    ({"command": "srv {prot}"}, "command", r"\{prot\} in '\{prot\}' is not one"),
    ({"command": "srv {ports[peer]}"}, "command", r"NAME one of the ports option's names"),
    ({"command": "srv 'open"}, "command", "No closing quotation"),
    ({"client": "nosuchmodule:Client"}, "client", "cannot be imported"),
    ({"ports": {"cluster": 70000}}, "ports", "port names to port numbers"),
    ({"client": {"register": "nosuchmodule:C"}}, "client", "'nosuchmodule:C' cannot be imported"),
    ({"client": "NoColon"}, "client", "mapping of workload names"),
])
def test_bad_options_name_the_option(given, option, expected):
    with pytest.raises(OptionError, match=expected) as e:
        ProcessTarget(opts(**given))
    assert e.value.option == option


def test_capabilities_and_workloads():
    from core.capabilities import ClockSkewable, HasFiles, Killable, Pausable
    t = ProcessTarget(opts(workloads=["register", "set"], packages=["nats-server"]))
    assert all(isinstance(t, c) for c in (Killable, Pausable, ClockSkewable, HasFiles))
    assert t.workloads == ("register", "set") and t.packages == ("nats-server",)
    with pytest.raises(OptionError, match="no client for workload 'bank'"):
        t.check_workload("bank")
    per_workload = ProcessTarget(opts(client={"set": CLIENT, "register": CLIENT}))
    assert per_workload.workloads == ("set", "register")


def test_a_spec_names_the_process_target_and_a_client_by_path():
    from harness.spec import spec_from_dict
    s = spec_from_dict({"target": {"name": "process", **opts()}, "nodes": 3,
                        "workload": "register", "nemesis": {"faults": ["kill", "pause",
                                                                       "partition", "clock"]}})
    assert s.target == "process" and s.target_options["client"] == CLIENT


def test_the_nats_process_example_renders_a_cluster():
    import yaml
    from pathlib import Path
    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "examples" /
                           "nats-process-init.yaml").read_text())
    t = spec["target"]
    views = [NodeView(f"n{i + 1}", i, f"10.0.0.{i + 1}", f"/d/n{i + 1}") for i in range(3)]
    argv = render(t["command"], views[1], views, t["port"], t["ports"], t["peer_format"], ",")
    assert argv[:7] == ["nats-server", "-a", "10.0.0.2", "-p", "4222", "-n", "n2"]
    assert argv[argv.index("--routes") + 1] == "nats://10.0.0.1:6222,nats://10.0.0.3:6222"
    init = render(t["init_command"], views[0], views, t["port"], t["ports"], "{ip}", ",")
    assert init[-1] == "nats://10.0.0.1:4222" and "create_key_value" in init[2]
    pytest.importorskip("splitbrain_nats.client")   # the plugin's client, when installed
    from harness.spec import load_spec
    assert load_spec(Path(__file__).resolve().parents[2] / "examples" / "nats-process-init.yaml")
