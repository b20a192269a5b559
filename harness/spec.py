"""Test specs: the YAML a user writes (docs/spec.md), validated in full
before anything starts.

Every error is one line naming the file (and line, when the YAML says), the
field path, the bad value and what is allowed, e.g.::

    spec.yaml:7: nemesis.faults: unknown fault 'partiton'; expected one of partition, ...

``load_spec(path)`` reads a file, ``spec_from_dict(d, source)`` a mapping
(what ``Spec.to_dict()`` writes into a run directory, so a stored run's spec
loads back), and ``spec_from_quick_args(...)`` the ``splitbrain run --target
…`` command-line form.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import yaml

from core.durations import parse_duration
from core.errors import BrokenPlugin, OptionError, SpecError, UserError
from core.options import check_names

TOP_FIELDS = ("name", "target", "nodes", "workload", "concurrency", "rate", "time_limit",
              "op_timeout", "nemesis", "checkers", "store", "seed", "generator",
              "health_timeout", "recovery_timeout", "final_time_limit", "consistency_models")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass
class NodesSpec:
    provider: str
    count: int
    hosts: list[str] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def provider_options(self) -> dict[str, Any]:
        """What ``harness.nodes.get_provider`` takes (hosts included for ssh)."""
        opts = dict(self.options)
        if self.hosts:
            opts["hosts"] = list(self.hosts)
        return opts


@dataclass
class NemesisSpec:
    faults: list[str] = field(default_factory=list)
    interval_s: float = 10.0
    jitter_s: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)  # the whole mapping, for nemesis.schedule
    steps: list | None = None  # an explicit schedule (generator nodes) instead of faults


@dataclass
class Spec:
    name: str
    target: str
    target_options: dict[str, Any]
    nodes: NodesSpec
    workload: str
    workload_options: dict[str, Any]
    concurrency: int = 10
    rate: float | None = 100.0          # total client ops/s; None = as fast as possible
    time_limit_s: float = 60.0
    op_timeout_s: float = 5.0
    nemesis: NemesisSpec | None = None
    checkers: list[tuple[str, dict]] = field(default_factory=list)  # extra, besides the workload's
    store: str | None = None
    seed: int = 0
    generator: Any = None               # a custom client generator (YAML form), or None
    health_timeout_s: float = 60.0
    recovery_timeout_s: float = 60.0
    final_time_limit_s: float = 60.0
    # the models transactional checkers judge against (overrides the workload's and the
    # target's promise); None: the workload's option, else what the target promises
    consistency_models: list[str] | None = None
    source: str = "spec"

    def to_dict(self) -> dict[str, Any]:
        """The normalized spec (durations in seconds); ``spec_from_dict`` reads it back."""
        d: dict[str, Any] = {
            "name": self.name,
            "target": {"name": self.target, **self.target_options},
            "nodes": {"provider": self.nodes.provider, "count": self.nodes.count},
            "workload": {"name": self.workload, **self.workload_options},
            "concurrency": self.concurrency,
            "rate": self.rate,
            "time_limit": self.time_limit_s,
            "op_timeout": self.op_timeout_s,
            "seed": self.seed,
            "health_timeout": self.health_timeout_s,
            "recovery_timeout": self.recovery_timeout_s,
            "final_time_limit": self.final_time_limit_s,
        }
        if self.nodes.hosts:
            d["nodes"]["hosts"] = list(self.nodes.hosts)
            del d["nodes"]["count"]
        if self.nodes.options:
            d["nodes"]["options"] = dict(self.nodes.options)
        if self.nemesis is not None:
            d["nemesis"] = list(self.nemesis.steps) if self.nemesis.steps is not None \
                else dict(self.nemesis.options)
        if self.checkers:
            d["checkers"] = [{"name": n, **o} for n, o in self.checkers]
        if self.store is not None:
            d["store"] = self.store
        if self.generator is not None:
            d["generator"] = self.generator
        if self.consistency_models is not None:
            d["consistency_models"] = list(self.consistency_models)
        return d

    def all_checkers(self) -> list[tuple[str, dict]]:
        """The workload's checkers, the always-on ones, then the spec's extras (deduplicated)."""
        import workloads
        from harness.checking import checker_plan
        out = checker_plan(workloads.get(self.workload).checkers(self.workload_options))
        names = {n for n, _ in out}
        # the spec's options refine a checker the workload already runs
        # (e.g. {name: linearizable, max_staleness_s: 2})
        mine = dict(self.checkers)
        out = [(n, {**o, **mine.get(n, {})}) for n, o in out]
        out += [(n, o) for n, o in self.checkers if n not in names]
        return [(n, self._with_models(n, o)) for n, o in out]

    def _with_models(self, name: str, options: dict) -> dict:
        """A transactional checker's models: the spec's, else the workload's, else what the
        target's isolation level promises (a target with ``consistency_models()``)."""
        from harness.checking import checker_options
        if "consistency_models" not in checker_options(name):
            return options
        if self.consistency_models is not None:
            return {**options, "consistency_models": list(self.consistency_models)}
        if "consistency_models" in options:
            return options
        import targets
        from core.capabilities import PromisesModels
        t = targets.get(self.target)(self.target_options)
        if isinstance(t, PromisesModels):
            return {**options, "consistency_models": list(t.consistency_models())}
        return options


# ----------------------------------------------------------------------------- errors

class _Lines:
    """Finds the YAML line of a field path, to put it in error messages."""

    def __init__(self, text: str | None):
        self.root = None
        if text:
            try:
                self.root = yaml.compose(text, Loader=yaml.SafeLoader)
            except yaml.YAMLError:
                self.root = None

    def line(self, path: Sequence[Any]) -> int | None:
        node = self.root
        best = None
        for part in path:
            if node is None:
                break
            best = node.start_mark.line + 1
            if isinstance(node, yaml.MappingNode):
                nxt = None
                for k, v in node.value:
                    if getattr(k, "value", None) == part:
                        best = k.start_mark.line + 1
                        nxt = v
                        break
                node = nxt
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                    and part < len(node.value):
                node = node.value[part]
            else:
                node = None
        if node is not None:
            best = node.start_mark.line + 1
        return best


class _Errors:
    def __init__(self, source: str, text: str | None):
        self.source = source
        self.lines = _Lines(text)

    def __call__(self, path: Sequence[Any], msg: str) -> SpecError:
        return SpecError(msg, file=self.source, line=self.lines.line(path) if path else None,
                         path=path)

    def located(self, e: SpecError, prefix: Sequence[Any] = ()) -> SpecError:
        """``e`` (raised with a bare path) with the spec's file and line filled in."""
        path = tuple(prefix) + e.path
        return e.located(file=self.source, line=self.lines.line(path) if path else None,
                         prefix=prefix)


# ----------------------------------------------------------------------------- loading

def load_spec(path: str | Path) -> Spec:
    """Read and validate a YAML spec; UserError (one line, naming the line) when bad."""
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise UserError(f"{p}: no such spec file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{p}: cannot read the spec: {e}") from None
    try:
        d = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        if mark is not None:
            raise UserError(f"{p}:{mark.line + 1}: YAML syntax error: {problem} "
                            f"(column {mark.column + 1})") from None
        raise UserError(f"{p}: YAML syntax error: {problem}") from None
    return _from_dict(d, str(p), text)


def spec_from_dict(d: Any, source: str = "spec") -> Spec:
    """Validate a spec given as a mapping (the parsed YAML)."""
    return _from_dict(d, source, None)


def bad_models(models: Any) -> str | None:
    """Why ``models`` is not a list of consistency model names, or None."""
    from checkers.txn.models import MODELS as TXN_MODELS
    if isinstance(models, list) and models and all(isinstance(m, str) and m in TXN_MODELS
                                                   for m in models):
        return None
    return (f"{models!r} is not valid; expected a list of consistency models from "
            f"{', '.join(sorted(TXN_MODELS))}")


def spec_from_quick_args(target: str, nodes: int | Sequence[str], provider: str, workload: str,
                         nemesis: str | Sequence[str] | None, time_limit: Any,
                         concurrency: int | None = None, rate: float | None = None,
                         seed: int | None = None, read_mode: str | None = None, *,
                         name: str | None = None, op_timeout: Any = None,
                         nemesis_interval: Any = None, store: str | None = None,
                         target_options: Mapping[str, Any] | None = None,
                         workload_options: Mapping[str, Any] | None = None) -> Spec:
    """The spec behind ``splitbrain run --target etcd --nodes 3 --workload register
    --nemesis partition,kill --time-limit 60 …``; validated like a file."""
    topts = dict(target_options or {})
    if read_mode is not None:
        topts["read_mode"] = read_mode
    d: dict[str, Any] = {
        "name": name or f"{target}-{workload}",
        "target": {"name": target, **topts},
        "workload": {"name": workload, **dict(workload_options or {})},
        "time_limit": time_limit,
    }
    if isinstance(nodes, (list, tuple)):
        d["nodes"] = {"provider": provider, "hosts": list(nodes)}
    else:
        d["nodes"] = {"provider": provider, "count": nodes}
    if isinstance(nemesis, str):
        faults = [f.strip() for f in nemesis.split(",") if f.strip()]
        nemesis = None if faults in ([], ["none"]) else faults
    if nemesis:
        d["nemesis"] = {"faults": list(nemesis)}
        if nemesis_interval is not None:
            d["nemesis"]["interval"] = nemesis_interval
    for k, v in (("concurrency", concurrency), ("rate", rate), ("seed", seed),
                 ("op_timeout", op_timeout), ("store", store)):
        if v is not None:
            d[k] = v
    return _from_dict(d, "command line", None)


def _from_dict(d: Any, source: str, text: str | None) -> Spec:
    err = _Errors(source, text)
    if not isinstance(d, dict):
        raise err([], f"expected a mapping of spec fields ({', '.join(TOP_FIELDS)}), "
                      f"got {type(d).__name__}")
    for k in d:
        if k not in TOP_FIELDS:
            raise err([k], f"unknown field; expected one of {', '.join(TOP_FIELDS)}")

    def need(k: str) -> Any:
        if k not in d or d[k] is None:
            raise err([], f"missing field '{k}'")
        return d[k]

    def dur(k: str, default: float) -> float:
        if k not in d or d[k] is None:
            return default
        try:
            return parse_duration(d[k], positive=True)
        except ValueError as e:
            raise err([k], str(e)) from None

    def pos_int(path: list, v: Any, what: str = "a positive integer") -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise err(path, f"{v!r} is not valid; expected {what}")
        return v

    # name
    name = d.get("name")
    if name is None:
        name = Path(source).stem if source not in ("spec", "command line") else "test"
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise err(["name"], f"{name!r} is not valid; expected letters, digits, '.', '_' or '-' "
                            "(at most 64, starting with a letter or digit)")

    # target
    tval = need("target")
    tpath: list = ["target"]
    if isinstance(tval, str):
        tname, topts = tval, {}
    elif isinstance(tval, dict):
        if "name" not in tval:
            raise err(tpath, "missing 'name' (e.g. target: {name: etcd, read_mode: serializable})")
        tname = tval["name"]
        topts = {k: v for k, v in tval.items() if k != "name"}
    else:
        raise err(tpath, f"{tval!r} is not valid; expected a target name or "
                         "{name: ..., <target options>}")
    target_obj = _check_target(tname, topts, err)

    # nodes
    nval = need("nodes")
    if isinstance(nval, bool):
        raise err(["nodes"], f"{nval!r} is not valid; expected {{provider: ..., count: N}}")
    if isinstance(nval, int):
        nval = {"count": nval}
    if not isinstance(nval, dict):
        raise err(["nodes"], f"{nval!r} is not valid; expected {{provider: netns|docker|ssh, "
                             "count: N}} or {provider: ssh, hosts: [...]}")
    for k in nval:
        if k not in ("provider", "count", "hosts", "options"):
            raise err(["nodes", k], "unknown field; expected provider, count, hosts, options")
    provider = nval.get("provider", "netns")
    from harness.nodes import PROVIDERS
    if provider not in PROVIDERS:
        raise err(["nodes", "provider"], f"{provider!r} is not a provider; expected one of "
                                         f"{', '.join(PROVIDERS.names())}")
    hosts = nval.get("hosts")
    if hosts is not None:
        if not isinstance(hosts, list) or not hosts or \
                not all(isinstance(h, str) and h for h in hosts):
            raise err(["nodes", "hosts"], f"{hosts!r} is not valid; expected a list of host names")
        if len(set(hosts)) != len(hosts):
            raise err(["nodes", "hosts"], "a host is listed twice")
        if "count" in nval and nval["count"] != len(hosts):
            raise err(["nodes", "count"], f"{nval['count']!r} does not match the {len(hosts)} "
                                          "hosts listed; leave count out with hosts")
        count = len(hosts)
    else:
        if provider == "ssh":
            raise err(["nodes"], "the ssh provider needs 'hosts: [host1, host2, ...]'")
        count = pos_int(["nodes", "count"], nval.get("count", 3), "a positive number of nodes")
    if count > 64:
        raise err(["nodes", "count"], f"{count} is too many; expected at most 64 nodes")
    popts = nval.get("options") or {}
    if not isinstance(popts, dict):
        raise err(["nodes", "options"], f"{popts!r} is not valid; expected a mapping of "
                                        "provider options")
    try:
        check_names(f"node provider {provider}", PROVIDERS.get(provider).OPTIONS, popts)
    except OptionError as e:
        raise err(["nodes", "options", *e.path], e.message) from None
    nodes = NodesSpec(provider=provider, count=count, hosts=list(hosts) if hosts else None,
                      options=dict(popts))

    # workload
    wval = need("workload")
    if isinstance(wval, str):
        wname, wopts = wval, {}
    elif isinstance(wval, dict) and "name" in wval:
        wname = wval["name"]
        wopts = {k: v for k, v in wval.items() if k != "name"}
    else:
        raise err(["workload"], f"{wval!r} is not valid; expected a workload name or "
                                "{name: ..., <workload options>}")
    import workloads
    try:
        wl = workloads.get(wname)
    except BrokenPlugin as e:
        raise err(["workload", "name"] if isinstance(wval, dict) else ["workload"],
                  str(e)) from None
    except workloads.UnknownWorkload:
        raise err(["workload", "name"] if isinstance(wval, dict) else ["workload"],
                  f"{wname!r} is not a workload; expected one of "
                  f"{', '.join(workloads.names())}") from None
    try:
        wopts = wl.validate_options(wopts)
        wl.generator(wopts, None)  # cross-option checks
    except OptionError as e:
        raise err(["workload", *e.path], e.message) from None
    if target_obj is not None:
        chk = getattr(target_obj, "check_workload", None)
        if chk is not None:
            try:
                chk(wname)
            except ValueError as e:
                raise err(["workload"], str(e)) from None

    concurrency = pos_int(["concurrency"], d.get("concurrency", 10))
    if concurrency > 1000:
        raise err(["concurrency"], f"{concurrency} is too many; expected at most 1000")
    rate = d.get("rate", 100.0)
    if rate is not None and rate != "unlimited":
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0:
            raise err(["rate"], f"{rate!r} is not valid; expected total ops/s > 0, or unlimited")
        rate = float(rate)
    else:
        rate = None
    time_limit = dur("time_limit", 60.0)
    op_timeout = dur("op_timeout", 5.0)
    health = dur("health_timeout", 60.0)
    recovery = dur("recovery_timeout", 60.0)
    final_limit = dur("final_time_limit", 60.0)

    nemesis = _check_nemesis(d.get("nemesis"), target_obj, count, PROVIDERS.get(provider), err)

    # checkers (extra)
    chk_val = d.get("checkers") or []
    if not isinstance(chk_val, list):
        raise err(["checkers"], f"{chk_val!r} is not valid; expected a list of checker names or "
                                "{name: ..., <options>}")
    from harness.checking import CHECKERS, MODELS, checker_options
    extra: list[tuple[str, dict]] = []
    for i, c in enumerate(chk_val):
        if isinstance(c, str):
            cname, copts = c, {}
        elif isinstance(c, dict) and isinstance(c.get("name"), str):
            cname, copts = c["name"], {k: v for k, v in c.items() if k != "name"}
        else:
            raise err(["checkers", i], f"{c!r} is not valid; expected a checker name or "
                                       "{name: ..., <options>}")
        try:
            CHECKERS.get(cname)
        except BrokenPlugin as e:
            raise err(["checkers", i], str(e)) from None
        except LookupError:
            raise err(["checkers", i], f"{cname!r} is not a checker; expected one of "
                                       f"{', '.join(CHECKERS.names())} or module:function") \
                from None
        try:
            check_names(f"checker {cname}", checker_options(cname), copts)
        except OptionError as e:
            raise err(["checkers", i, *e.path], e.message) from None
        model = copts.get("model")
        if isinstance(model, str) and model not in MODELS:
            raise err(["checkers", i, "model"], f"{model!r} is not a model; expected one of "
                                                f"{', '.join(MODELS.names())} or module:Class")
        extra.append((cname, copts))

    models = d.get("consistency_models")
    if models is not None and (why := bad_models(models)):
        raise err(["consistency_models"], why)

    store = d.get("store")
    if store is not None and (not isinstance(store, str) or not store):
        raise err(["store"], f"{store!r} is not valid; expected a directory path")

    seed = d.get("seed")
    if seed is None:
        seed = secrets.randbits(31)
    elif isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise err(["seed"], f"{seed!r} is not valid; expected an integer >= 0")

    gen_node = d.get("generator")
    if gen_node is not None:
        from core.generator.from_spec import generator_from_spec
        from core.generator import Fn
        dummy = {"main": lambda: Fn(lambda r: None), "final": lambda: Fn(lambda r: None)}
        try:
            generator_from_spec(gen_node, path="generator", workload=dummy)
        except SpecError as e:
            raise err.located(e) from None

    return Spec(name=name, target=tname, target_options=dict(getattr(target_obj, "options", None)
                                                              or topts),
                nodes=nodes, workload=wname, workload_options=wopts, concurrency=concurrency,
                rate=rate, time_limit_s=time_limit, op_timeout_s=op_timeout, nemesis=nemesis,
                checkers=extra, store=store, seed=seed, generator=gen_node,
                health_timeout_s=health, recovery_timeout_s=recovery,
                final_time_limit_s=final_limit, consistency_models=models, source=source)


def _check_target(tname: Any, topts: dict, err: _Errors) -> Any:
    if not isinstance(tname, str):
        raise err(["target", "name"], f"{tname!r} is not valid; expected a target name")
    import targets
    try:
        cls = targets.get(tname)
    except BrokenPlugin as e:
        raise err(["target"], str(e)) from None
    except targets.UnknownTarget:
        raise err(["target"], f"{tname!r} is not a target; expected one of "
                              f"{', '.join(targets.names())} or module:Class") from None
    try:
        return cls(topts)
    except OptionError as e:
        raise err(["target", *e.path], e.message) from None
    except ValueError as e:
        raise err(["target"], str(e)) from None


def _check_nemesis(val: Any, target: Any, count: int, provider: Any,
                   err: _Errors) -> NemesisSpec | None:
    if val is None or val == "none" or val == [] or val == {}:
        return None
    if isinstance(val, str):
        val = {"faults": [f.strip() for f in val.split(",") if f.strip()]}
    if isinstance(val, list):
        # an explicit schedule: generator nodes run by the nemesis thread
        from core.generator.from_spec import generator_from_spec
        try:
            generator_from_spec(val, path="nemesis")
        except SpecError as e:
            raise err.located(e) from None
        return NemesisSpec(steps=list(val))
    if not isinstance(val, dict):
        raise err(["nemesis"], f"{val!r} is not valid; expected {{faults: [...], interval: 10s}} "
                               "or a list of steps")
    faults = val.get("faults")
    if isinstance(faults, list):
        from nemesis.faults import FAULTS
        for i, f in enumerate(faults):
            if not isinstance(f, str) or f not in FAULTS:
                raise err(["nemesis", "faults", i], f"{f!r} is not a fault; expected one of "
                                                    f"{', '.join(FAULTS)}")
            if target is not None and hasattr(target, "supports"):
                ok, why = target.supports(f)
                if not ok:
                    raise err(["nemesis", "faults", i],
                              f"{f!r} is not supported by target {target.name}: {why}")
    from nemesis.schedule import validate_nemesis_spec
    problems = validate_nemesis_spec(val, target, count, provider)
    if problems:
        raise err(problems[0].path, problems[0].message)
    if not isinstance(faults, list) or not faults:
        raise err(["nemesis", "faults"], f"{faults!r} is not valid; expected a list such as "
                                         "[partition, kill]")
    try:
        interval = parse_duration(val.get("interval", 10.0), positive=True)
        jitter = parse_duration(val.get("jitter", 0.0))
    except ValueError as e:
        raise err(["nemesis"], str(e)) from None
    if interval <= 0:
        raise err(["nemesis", "interval"], f"{val.get('interval')!r} is not valid; expected > 0")
    if jitter > interval:
        raise err(["nemesis", "jitter"], f"{val.get('jitter')!r} is larger than the interval")
    return NemesisSpec(faults=list(faults), interval_s=interval, jitter_s=jitter,
                       options=dict(val))


