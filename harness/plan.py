"""Spec → Plan: everything a run needs, resolved before anything starts, and the
one builder of a run's generators from it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from core.options import parameters
from harness.checking import checker_plan


@dataclass
class Plan:
    """Everything a run needs, resolved and validated before anything starts."""

    name: str
    seed: int
    target_name: str
    target_options: dict[str, Any]
    provider: str
    node_count: int
    provider_options: dict[str, Any]
    workload_name: str
    workload_options: dict[str, Any]
    concurrency: int
    rate: float | None
    time_limit_s: float
    op_timeout_s: float
    nemesis: dict[str, Any] | None          # {faults, interval, jitter, ...} or None
    checkers: list[tuple[str, dict]] | None  # None: the workload's own (+ the always-on ones)
    health_timeout_s: float = 30.0
    recovery_timeout_s: float = 30.0
    final_time_limit_s: float = 30.0
    spec_dict: dict[str, Any] = field(default_factory=dict)   # written to spec.yaml
    generator: Any = None                    # a spec's own client generator (YAML form), or None
    nemesis_steps: list | None = None        # an explicit nemesis schedule (YAML form), or None
    store: str | None = None                 # the spec's store directory, if it names one


def plan_from_spec(spec: Any) -> Plan:
    """The Plan for a validated ``harness.spec.Spec``."""
    nem = spec.nemesis
    return Plan(
        name=spec.name, seed=spec.seed,
        target_name=spec.target, target_options=dict(spec.target_options or {}),
        provider=spec.nodes.provider, node_count=spec.nodes.count,
        provider_options=spec.nodes.provider_options(),
        workload_name=spec.workload, workload_options=dict(spec.workload_options or {}),
        concurrency=spec.concurrency, rate=spec.rate, time_limit_s=spec.time_limit_s,
        op_timeout_s=spec.op_timeout_s,
        nemesis=dict(nem.options) if nem is not None and nem.steps is None else None,
        nemesis_steps=list(nem.steps) if nem is not None and nem.steps is not None else None,
        checkers=spec.all_checkers(),
        health_timeout_s=spec.health_timeout_s, recovery_timeout_s=spec.recovery_timeout_s,
        final_time_limit_s=spec.final_time_limit_s,
        spec_dict=spec.to_dict(), generator=spec.generator, store=spec.store)


def plan_checkers(plan: Plan) -> list[tuple[str, dict]]:
    if plan.checkers is not None:
        return checker_plan(plan.checkers)
    import workloads
    return checker_plan(workloads.get(plan.workload_name).checkers(plan.workload_options))


def build_generators(plan: Plan, node_names: list[str]) -> tuple[Any, Any | None]:
    """The main-phase generator (clients + nemesis, time-limited) and the final one.

    Every random stream is derived from ``plan.seed`` alone, so two runs with
    the same seed ask for the same ops in the same per-stream order.
    """
    from core.generator import (any_of, bind, clients, generator_from_spec, nemesis,
                                nemesis_schedule, rate, split_final, time_limit)
    import workloads

    wl = workloads.get(plan.workload_name)
    root = random.Random(plan.seed)
    wl_rng = random.Random(root.getrandbits(64))
    nem_rng = random.Random(root.getrandbits(64))
    bind_seed = root.getrandbits(64)
    final_seed = root.getrandbits(64)
    made: list = []   # the workload's main op stream, once made: its final reads cover it

    def main_stream() -> Any:
        made.append(wl.generator(plan.workload_options, wl_rng))
        return made[-1]

    def made_main() -> Any:
        return made[-1] if made else None

    def final_stream() -> Any:
        # ``main=`` is newer than the Workload contract's first form: a plugin's
        # final_generator(options) keeps working.
        if "main" in parameters(wl.final_generator, skip=0):
            return wl.final_generator(plan.workload_options, main=made_main)
        return wl.final_generator(plan.workload_options)

    final = final_stream()
    if plan.generator is not None:
        custom = generator_from_spec(plan.generator, path="generator", workload={
            "main": main_stream,
            "final": final_stream})
        client_gen, custom_final = split_final(custom)
        if custom_final is not None:
            final = custom_final
    else:
        client_gen = main_stream()
        if plan.rate:
            client_gen = rate(plan.rate, client_gen)
    parts = [clients(client_gen)]
    if plan.nemesis_steps:
        parts.append(nemesis(generator_from_spec(plan.nemesis_steps, path="nemesis")))
    elif plan.nemesis and plan.nemesis.get("faults"):
        from core.durations import parse_duration
        from nemesis.schedule import combined_ops, op_spacing_s
        n = plan.nemesis
        interval = parse_duration(n.get("interval", "10s"), "nemesis.interval", positive=True)
        jitter_s = parse_duration(n.get("jitter", 0), "nemesis.jitter")
        ops = combined_ops(list(n["faults"]), node_names, nem_rng, n)
        spacing = op_spacing_s(interval)
        parts.append(nemesis_schedule(ops, spacing, jitter=min(1.0, jitter_s / spacing)))
    main = time_limit(plan.time_limit_s, any_of(*parts))
    bind(main, bind_seed)
    if final is not None:
        final = time_limit(plan.final_time_limit_s, final)
        bind(final, final_seed)
    return main, final
