"""A spec's generators: the main phase (clients + nemesis, time-limited) and
the final phase (after healing), both seeded from ``spec.seed`` alone."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

from . import combinators as C
from .core import Gen, bind
from .from_spec import generator_from_spec


@dataclass
class RunGenerators:
    main: Gen
    final: Gen | None
    seed: int

    def describe(self) -> str:
        return self.main.describe() + (f" ; final {self.final.describe()}" if self.final else "")


def build_run_generators(spec: Any, node_names: Sequence[str]) -> RunGenerators:
    """``spec`` is a :class:`harness.spec.Spec`.  The nemesis schedule draws
    from its own Random, made first from the seed, so client and nemesis
    streams never perturb each other."""
    import workloads
    master = random.Random(spec.seed)
    nem_rng = random.Random(master.getrandbits(64))
    wl = workloads.get(spec.workload)
    wopts = dict(spec.workload_options)

    def main_factory() -> Gen:
        return wl.generator(wopts, master)

    def final_factory() -> Gen:
        g = wl.final_generator(wopts)
        return g if g is not None else C.seq()

    final: Gen | None = None
    if spec.generator is not None:
        client_gen = generator_from_spec(spec.generator, path="generator", source=spec.source,
                                         workload={"main": main_factory, "final": final_factory})
        client_gen, final = C.split_final(client_gen)
    else:
        client_gen = main_factory()
        final = wl.final_generator(wopts)
    if spec.rate is not None:
        client_gen = C.rate(spec.rate, client_gen)
    parts = [C.clients(client_gen)]

    nem = spec.nemesis
    if nem is not None:
        if nem.steps is not None:
            parts.append(C.nemesis(generator_from_spec(nem.steps, path="nemesis",
                                                       source=spec.source)))
        else:
            from nemesis.schedule import combined_ops
            ops = combined_ops(nem.faults, list(node_names), nem_rng, nem.options)
            parts.append(C.nemesis_schedule(ops, nem.interval_s,
                                            jitter=min(1.0, nem.jitter_s / nem.interval_s)))
    main = C.time_limit(spec.time_limit_s, C.any_of(*parts))
    bind(main, master)
    if final is not None:
        final = C.time_limit(spec.final_time_limit_s, C.clients(final))
        bind(final, master)
    return RunGenerators(main=main, final=final, seed=spec.seed)
