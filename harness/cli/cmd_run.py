"""``run`` (a spec file or the quick form) and ``analyze`` (re-check a stored run)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.store import resolve_run, store_root
from harness.plan import Plan, plan_from_spec

from .errors import UserError

QUICK_FLAGS = ("target", "nodes", "provider", "workload", "nemesis", "time_limit",
               "concurrency", "rate", "read_mode", "nemesis_interval", "name", "target_option")
# What the quick form fills in when a flag is not given (the rest are the spec's defaults).
QUICK_NODES = 3
QUICK_PROVIDER = "netns"


def spec_default(name: str) -> Any:
    """A spec field's default, read from harness.spec.Spec: --help quotes the same
    number the run records."""
    import dataclasses
    from harness.spec import Spec
    return next(f.default for f in dataclasses.fields(Spec) if f.name == name)


def _default_text(name: str, unit: str = "", none: str = "unlimited") -> str:
    v = spec_default(name)
    if v is None:
        return f"default {none}"
    return f"default {v:g}{unit}" if isinstance(v, float) else f"default {v}{unit}"


def _plan_from_args(args: argparse.Namespace) -> Plan:
    from harness import spec as spec_mod
    if args.spec:
        given = [f"--{f.replace('_', '-')}" for f in QUICK_FLAGS if getattr(args, f) is not None]
        if given:
            raise UserError(f"give either SPEC.yaml or the quick flags, not both ({', '.join(given)})")
        spec = spec_mod.load_spec(args.spec)       # UserError naming file, line and field
        if args.seed is not None:
            spec.seed = args.seed
    else:
        if not args.target or not args.workload:
            raise UserError("say what to run: SPEC.yaml, or at least --target and --workload "
                            "(e.g. splitbrain run --target etcd --nodes 3 --workload register "
                            "--nemesis partition,kill --time-limit 60)")
        spec = spec_mod.spec_from_quick_args(
            args.target, args.nodes if args.nodes is not None else QUICK_NODES,
            args.provider or QUICK_PROVIDER, args.workload, args.nemesis,
            args.time_limit if args.time_limit is not None else spec_default("time_limit_s"),
            concurrency=args.concurrency, rate=args.rate, seed=args.seed,
            read_mode=args.read_mode, name=args.name, op_timeout=args.op_timeout,
            nemesis_interval=args.nemesis_interval,
            target_options=_target_options(args.target_option))
    # Flags override the spec, and the run directory's spec.yaml says so.
    if args.health_timeout is not None:
        spec.health_timeout_s = args.health_timeout
    if args.op_timeout is not None:
        spec.op_timeout_s = args.op_timeout
    if args.consistency_models is not None:
        models = [m.strip() for m in args.consistency_models.split(",") if m.strip()]
        if why := spec_mod.bad_models(models):
            raise UserError(f"--consistency-models: {why}")
        spec.consistency_models = models
    return plan_from_spec(spec)


def _scalar(text: str) -> Any:
    """A flag value as YAML reads it (numbers, true/false), else the string."""
    import yaml
    try:
        v = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return v if isinstance(v, (int, float, bool, str)) else text


def _target_options(pairs: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in pairs or []:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            raise UserError(f"--target-option {kv!r}: expected KEY=VALUE")
        out[k] = _scalar(v)
    return out


def _store(args: argparse.Namespace, spec_store: Any = None) -> Path:
    return store_root(args.store or spec_store)


def cmd_run(args: argparse.Namespace) -> int:
    from harness.lifecycle import RunAbort, execute
    plan = _plan_from_args(args)
    root = _store(args, plan.store)
    try:
        out = execute(plan, root, live=not args.no_live, junit=args.junit)
    except RunAbort as e:
        raise UserError(str(e)) from None
    return out.exit_code


def cmd_analyze(args: argparse.Namespace) -> int:
    from harness.checking import RunAbort, analyze
    try:
        run = resolve_run(args.run_dir, _store(args))
    except ValueError as e:
        raise UserError(str(e)) from None
    checkers = None
    if args.checker:
        checkers = [(c, {}) for c in args.checker]
    extra: dict[str, Any] = {}
    if args.model:
        extra["model"] = args.model
    if args.time_limit_check is not None:
        extra["time_limit"] = args.time_limit_check
    try:
        out = analyze(run, checkers=checkers, extra=extra, junit=args.junit)
    except RunAbort as e:
        raise UserError(str(e)) from None
    return out.exit_code


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="run a test: a spec file, or the quick form",
        description="Provision nodes, start the target, run the workload under the nemesis, "
                    "heal, check, report. Exit 0 valid, 1 invalid, 2 unknown or error; the run "
                    "directory is printed last.")
    p.add_argument("spec", nargs="?", metavar="SPEC.yaml")
    p.add_argument("--target", help="database under test (e.g. etcd)")
    p.add_argument("--nodes", type=int, help=f"number of nodes (default {QUICK_NODES})")
    p.add_argument("--provider", help="node provider: netns, docker, ssh or an installed "
                   f"plugin's (default {QUICK_PROVIDER})")
    p.add_argument("--workload", help="register, multi-register, set, counter, causal-register")
    p.add_argument("--nemesis", help="comma-separated faults, e.g. partition,kill")
    p.add_argument("--nemesis-interval", help="time from one fault's start to the next; each "
                   "is held for half of it (default 10s)")
    p.add_argument("--time-limit", type=float,
                   help=f"seconds of main phase ({_default_text('time_limit_s')})")
    p.add_argument("--concurrency", type=int,
                   help=f"client workers ({_default_text('concurrency')})")
    p.add_argument("--rate", type=float,
                   help=f"total client ops/s ({_default_text('rate')})")
    p.add_argument("--consistency-models", metavar="M1,M2",
                   help="judge transactional workloads against these models (default: the "
                        "workload's option, else what the target's isolation level promises)")
    p.add_argument("--read-mode", choices=("linearizable", "serializable"),
                   help="target read mode (etcd)")
    p.add_argument("--seed", type=int, help="seed for every random choice (recorded)")
    p.add_argument("--op-timeout", type=float, metavar="SECONDS",
                   help="client op timeout; a hung op completes as info after it "
                        f"({_default_text('op_timeout_s', ' s')})")
    p.add_argument("--health-timeout", type=float, metavar="SECONDS",
                   help="how long to wait for the target to become healthy "
                        f"({_default_text('health_timeout_s', ' s')})")
    p.add_argument("--target-option", action="append", metavar="KEY=VALUE",
                   help="a target option (repeatable), e.g. read_mode=serializable")
    p.add_argument("--name", help="test name (default TARGET-WORKLOAD)")
    p.add_argument("--store", help="store directory (default ./store or $SPLITBRAIN_STORE)")
    p.add_argument("--no-live", action="store_true", help="no live console panel")
    p.add_argument("--junit", metavar="FILE.xml", help="also write the verdicts as JUnit XML")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "analyze", help="re-run the checkers on a stored run",
        description="Re-check a stored run (after a checker improves, or with another model); "
                    "rewrites results.json and report.html. Exit 0/1/2 as for run.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run directory, or 'latest'")
    p.add_argument("--checker", action="append", help="checker to run instead of the spec's "
                   "(repeatable)")
    p.add_argument("--model", help="model for the linearizability checker")
    p.add_argument("--time-limit", dest="time_limit_check", type=float, metavar="SECONDS",
                   help="per-check time budget")
    p.add_argument("--store", help="store directory")
    p.add_argument("--junit", metavar="FILE.xml", help="also write the verdicts as JUnit XML")
    p.set_defaults(func=cmd_analyze)
