"""Combinators of the generator DSL (see docs/generators.md).

Durations are seconds (floats) in the Python API; the YAML form accepts
``10s``/``500ms``/``2m`` and converts.  Internally everything is ns.
"""

from __future__ import annotations

import collections
import random
from typing import Any, Callable, Iterable, Sequence

from .core import NEMESIS_THREAD, PENDING, GenContext, FromIter, Gen, lift

NS = 1_000_000_000


def _ns(seconds: float) -> int:
    return int(round(float(seconds) * NS))


class Seq(Gen):
    """Children one after another, the next starting as soon as the previous
    is exhausted (no waiting for outstanding ops; compare :class:`Phases`)."""

    def __init__(self, gens: Sequence[Any]):
        self._gens = [lift(g) for g in gens]
        self._i = 0

    def children(self) -> Sequence[Gen]:
        return self._gens

    def op(self, ctx: GenContext) -> Any:
        gens = self._gens
        while self._i < len(gens):
            o = gens[self._i].op(ctx)
            if o is not None:
                return o
            self._i += 1
        return None

    def reset(self) -> None:
        self._i = 0
        super().reset()


class Phases(Gen):
    """Children one after another; each starts only once every outstanding op
    (of any thread) has completed — Jepsen's ``phases``/``synchronize``."""

    def __init__(self, gens: Sequence[Any]):
        self._gens = [lift(g) for g in gens]
        self._i = 0
        self._synced = True  # the first phase needs no barrier

    def children(self) -> Sequence[Gen]:
        return self._gens

    def op(self, ctx: GenContext) -> Any:
        gens = self._gens
        while self._i < len(gens):
            if not self._synced:
                if ctx.outstanding > 0:
                    return PENDING
                self._synced = True
            o = gens[self._i].op(ctx)
            if o is not None:
                return o
            self._i += 1
            self._synced = False
        return None

    def reset(self) -> None:
        self._i = 0
        self._synced = True
        super().reset()


class Final(Gen):
    """Marks the after-healing phase (Jepsen's final reads).  At the top of a
    test's generator, :func:`split_final` takes it out so the run can heal
    and wait for recovery before running it; anywhere else it behaves as a
    phase of its own (waits for outstanding ops first)."""

    def __init__(self, gen: Any):
        self.gen = lift(gen)
        self._synced = False

    def children(self) -> Sequence[Gen]:
        return (self.gen,)

    def op(self, ctx: GenContext) -> Any:
        if not self._synced:
            if ctx.outstanding > 0:
                return PENDING
            self._synced = True
        return self.gen.op(ctx)

    def reset(self) -> None:
        self._synced = False
        super().reset()


class AnyOf(Gen):
    """Asks children in order; the first op wins (Jepsen's ``any``).  Used to
    run client and nemesis generators side by side."""

    def __init__(self, gens: Sequence[Any]):
        self._gens = [lift(g) for g in gens]
        self._done = [False] * len(self._gens)

    def children(self) -> Sequence[Gen]:
        return self._gens

    def op(self, ctx: GenContext) -> Any:
        live = False
        for i, g in enumerate(self._gens):
            if self._done[i]:
                continue
            o = g.op(ctx)
            if o is None:
                self._done[i] = True
                continue
            if o is PENDING:
                live = True
                continue
            return o
        return PENDING if live else None

    def reset(self) -> None:
        self._done = [False] * len(self._gens)
        super().reset()


class Mix(Gen):
    """A random child per op (weighted).  The choice sticks until that child
    yields an op, so a PENDING child never causes a re-draw — re-drawing
    would make the stream depend on timing."""

    def __init__(self, gens: Sequence[Any], weights: Sequence[float] | None = None):
        self._gens = [lift(g) for g in gens]
        if weights is not None and len(weights) != len(self._gens):
            raise ValueError("mix: need one weight per generator")
        self._weights = list(weights) if weights is not None else [1.0] * len(self._gens)
        self._live = list(range(len(self._gens)))
        self._chosen: int | None = None
        self.rng = random.Random(0)

    def children(self) -> Sequence[Gen]:
        return self._gens

    def op(self, ctx: GenContext) -> Any:
        while self._live:
            if self._chosen is None:
                ws = [self._weights[i] for i in self._live]
                self._chosen = self.rng.choices(self._live, ws)[0] if len(self._live) > 1 \
                    else self._live[0]
            o = self._gens[self._chosen].op(ctx)
            if o is None:
                self._live.remove(self._chosen)
                self._chosen = None
                continue
            if o is not PENDING:
                self._chosen = None
            return o
        return None

    def reset(self) -> None:
        self._live = list(range(len(self._gens)))
        self._chosen = None
        super().reset()


class Limit(Gen):
    """At most ``n`` ops from the child."""

    def __init__(self, n: int, gen: Any):
        self.n = int(n)
        self.gen = lift(gen)
        self._count = 0

    def children(self) -> Sequence[Gen]:
        return (self.gen,)

    def op(self, ctx: GenContext) -> Any:
        if self._count >= self.n:
            return None
        o = self.gen.op(ctx)
        if o is not None and o is not PENDING:
            self._count += 1
        return o

    def reset(self) -> None:
        self._count = 0
        super().reset()


class TimeLimit(Gen):
    """The child until ``dt`` after this generator is first asked; ops due
    after the deadline are dropped."""

    def __init__(self, dt_ns: int, gen: Any):
        self.dt = int(dt_ns)
        self.gen = lift(gen)
        self._deadline: int | None = None
        self._past: set = set()

    def children(self) -> Sequence[Gen]:
        return (self.gen,)

    def op(self, ctx: GenContext) -> Any:
        if self._deadline is None:
            self._deadline = ctx.time + self.dt
        if ctx.time >= self._deadline:
            return None
        if self._past and ctx.thread in self._past:
            ctx.wake(self._deadline)
            return PENDING
        o = self.gen.op(ctx)
        if o is PENDING:
            ctx.wake(self._deadline)
        elif o is not None and o.get("time", 0) >= self._deadline:
            # This thread's next op falls after the limit (a nemesis op due in
            # 10 s of a 5 s test): drop it, and don't ask for this thread again
            # — its stream may be endless.  Other threads carry on.
            self._past.add(ctx.thread)
            ctx.wake(self._deadline)
            return PENDING
        return o

    def reset(self) -> None:
        self._deadline = None
        self._past = set()
        super().reset()


class Sleep(Gen):
    """Emits nothing for ``dt`` after first asked, then is exhausted."""

    def __init__(self, dt_ns: int):
        self.dt = int(dt_ns)
        self._until: int | None = None

    def op(self, ctx: GenContext) -> Any:
        if self._until is None:
            self._until = ctx.time + self.dt
        if ctx.time >= self._until:
            return None
        ctx.wake(self._until)
        return PENDING

    def reset(self) -> None:
        self._until = None

    def describe(self) -> str:
        return f"sleep({self.dt / NS:g}s)"


class Delay(Gen):
    """Child ops at least ``dt`` apart (fixed spacing, over all threads)."""

    def __init__(self, dt_ns: int, gen: Any):
        self.dt = int(dt_ns)
        self.gen = lift(gen)
        self._next: int | None = None

    def children(self) -> Sequence[Gen]:
        return (self.gen,)

    def op(self, ctx: GenContext) -> Any:
        o = self.gen.op(ctx)
        if o is None or o is PENDING:
            return o
        due = max(ctx.time, o.get("time", 0), self._next if self._next is not None else 0)
        self._next = due + self.dt
        o["time"] = due
        return o

    def reset(self) -> None:
        self._next = None
        super().reset()


class Stagger(Gen):
    """Child ops at a mean spacing of ``dt`` over all threads, intervals drawn
    from an exponential distribution (a Poisson process, so a total rate of
    1/dt ops/s).  Due times advance from the previous *due* time, not from
    when a thread happened to ask, so the schedule itself is seed-determined;
    a schedule that fell more than a second behind restarts from now rather
    than bursting."""

    def __init__(self, dt_ns: int, gen: Any):
        self.dt = max(1, int(dt_ns))
        self.gen = lift(gen)
        self._next: int | None = None
        self.rng = random.Random(0)

    def children(self) -> Sequence[Gen]:
        return (self.gen,)

    def op(self, ctx: GenContext) -> Any:
        o = self.gen.op(ctx)
        if o is None or o is PENDING:
            return o
        if self._next is None or self._next < ctx.time - NS:
            self._next = ctx.time
        due = self._next
        self._next = due + int(self.rng.expovariate(1.0) * self.dt)
        o["time"] = max(due, o.get("time", 0))
        return o

    def reset(self) -> None:
        self._next = None
        super().reset()


class Interval(Gen):
    """Child ops ``dt`` (± ``jitter`` × dt, uniform) after the asking thread
    became free — for a single nemesis thread that is ``dt`` after the
    previous fault op completed, so each fault lasts about ``dt``."""

    def __init__(self, dt_ns: int, gen: Any, jitter: float = 0.0, initial: bool = True):
        self.dt = int(dt_ns)
        self.jitter = float(jitter)
        self.gen = lift(gen)
        self.initial = initial  # wait dt before the first op too
        self._first = True
        self.rng = random.Random(0)

    def children(self) -> Sequence[Gen]:
        return (self.gen,)

    def op(self, ctx: GenContext) -> Any:
        o = self.gen.op(ctx)
        if o is None or o is PENDING:
            return o
        j = self.rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        wait = 0 if (self._first and not self.initial) else max(0, int(self.dt * (1 + j)))
        self._first = False
        o["time"] = max(ctx.time + wait, o.get("time", 0))
        return o

    def reset(self) -> None:
        self._first = True
        super().reset()


class Repeat(Gen):
    """A literal op forever (or ``times``), or a generator restarted each
    time it is exhausted (``times`` runs in all; ``None`` = forever)."""

    def __init__(self, gen: Any, times: int | None = None):
        self._literal = dict(gen) if isinstance(gen, dict) else None
        self.gen = None if self._literal is not None else lift(gen)
        self.times = times
        self._runs = 0
        self._emitted_this_run = False

    def children(self) -> Sequence[Gen]:
        return (self.gen,) if self.gen is not None else ()

    def op(self, ctx: GenContext) -> Any:
        if self._literal is not None:
            if self.times is not None and self._runs >= self.times:
                return None
            self._runs += 1
            return dict(self._literal)
        while self.times is None or self._runs < self.times:
            o = self.gen.op(ctx)
            if o is not None:
                if o is not PENDING:
                    self._emitted_this_run = True
                return o
            self._runs += 1
            if not self._emitted_this_run:
                return None  # restarting a generator that yields nothing would spin
            self._emitted_this_run = False
            self.gen.reset()
        return None

    def reset(self) -> None:
        self._runs = 0
        self._emitted_this_run = False
        super().reset()


class OnThreads(Gen):
    """The child, seen only by the given threads (Jepsen's ``on-threads``).
    Other threads get PENDING until the child is exhausted, then ``None``."""

    def __init__(self, which: Any, gen: Any, name: str = "on_threads"):
        # which: "clients", "nemesis", or an iterable of thread ids
        self.which = which
        self.gen = lift(gen)
        self._name = name
        self._scope: tuple | None = None
        self._scope_set: frozenset = frozenset()
        self._done = False

    def children(self) -> Sequence[Gen]:
        return (self.gen,)

    def _resolve(self, ctx: GenContext) -> None:
        if self.which == "clients":
            sc = tuple(t for t in ctx.threads if t != NEMESIS_THREAD)
        elif self.which == "nemesis":
            sc = tuple(t for t in ctx.threads if t == NEMESIS_THREAD)
        else:
            want = set(self.which)
            sc = tuple(t for t in ctx.threads if t in want)
        self._scope = sc
        self._scope_set = frozenset(sc)

    def op(self, ctx: GenContext) -> Any:
        if self._done:
            return None
        if self._scope is None:
            self._resolve(ctx)
        if not self._scope:
            self._done = True
            return None
        if ctx.thread not in self._scope_set:
            return PENDING
        outer = ctx.threads
        if outer is self._scope or outer == self._scope:
            o = self.gen.op(ctx)
        else:
            ctx.threads = self._scope
            try:
                o = self.gen.op(ctx)
            finally:
                ctx.threads = outer
        if o is None:
            self._done = True
        return o

    def reset(self) -> None:
        self._done = False
        super().reset()

    def describe(self) -> str:
        return f"{self._name}({self.gen.describe()})"


class EachProcess(Gen):
    """Every thread in scope gets its own copy of the child (Jepsen's
    ``each-thread``), e.g. "each client does one final read".  Copies are
    made with :func:`copy.deepcopy` and seeded per thread from this node's
    seed, so each thread's stream is deterministic."""

    def __init__(self, gen: Any):
        self.gen = lift(gen)
        self._copies: dict[Any, Gen] = {}
        self._done: set = set()
        self._seed = 0

    def children(self) -> Sequence[Gen]:
        return (self.gen,)

    def bind(self, rng: random.Random) -> Gen:
        self._seed = rng.getrandbits(64)
        self.gen.bind(random.Random(self._seed))
        return self

    def op(self, ctx: GenContext) -> Any:
        t = ctx.thread
        if t in self._done:
            if all(x in self._done for x in ctx.threads):
                return None
            return PENDING
        g = self._copies.get(t)
        if g is None:
            import copy
            g = copy.deepcopy(self.gen)
            g.bind(random.Random(f"{self._seed}/{t}"))
            self._copies[t] = g
        o = g.op(ctx)
        if o is None:
            self._done.add(t)
            return None if all(x in self._done for x in ctx.threads) else PENDING
        return o

    def update(self, thread: Any, op: dict, typ: str) -> None:
        g = self._copies.get(thread)
        if g is not None:
            g.update(thread, op, typ)

    def reset(self) -> None:
        self._copies.clear()
        self._done.clear()


# ---------------------------------------------------------------------------
# Public constructors (the names the docs and YAML use)

def seq(*gens: Any) -> Gen:
    return Seq(gens)


def phases(*gens: Any) -> Gen:
    return Phases(gens)


def final(gen: Any) -> Gen:
    return Final(gen)


def any_of(*gens: Any) -> Gen:
    return AnyOf(gens)


def mix(*gens: Any, weights: Sequence[float] | None = None) -> Gen:
    return Mix(gens, weights)


def limit(n: int, gen: Any) -> Gen:
    return Limit(n, gen)


def time_limit(seconds: float, gen: Any) -> Gen:
    return TimeLimit(_ns(seconds), gen)


def sleep(seconds: float) -> Gen:
    return Sleep(_ns(seconds))


def delay(seconds: float, gen: Any) -> Gen:
    return Delay(_ns(seconds), gen)


def stagger(seconds: float, gen: Any) -> Gen:
    return Stagger(_ns(seconds), gen)


def rate(ops_per_s: float, gen: Any) -> Gen:
    """Total ``ops_per_s`` over all threads, Poisson spacing."""
    if ops_per_s <= 0:
        raise ValueError("rate must be > 0 ops/s")
    return Stagger(_ns(1.0 / ops_per_s), gen)


def interval(seconds: float, gen: Any, jitter: float = 0.0, initial: bool = True) -> Gen:
    return Interval(_ns(seconds), gen, jitter, initial)


def repeat(gen: Any, times: int | None = None) -> Gen:
    return Repeat(gen, times)


def cycle(*gens: Any, times: int | None = None) -> Gen:
    """The children one after another, over and over (``times`` rounds)."""
    return Repeat(Seq(gens), times)


def each_process(gen: Any) -> Gen:
    return EachProcess(gen)


def on_threads(threads: Iterable[Any], gen: Any) -> Gen:
    return OnThreads(tuple(threads), gen)


def clients(gen: Any) -> Gen:
    """Only client threads see ``gen``."""
    return OnThreads("clients", gen, "clients")


def nemesis(gen: Any) -> Gen:
    """Only the nemesis thread sees ``gen``."""
    return OnThreads("nemesis", gen, "nemesis")


def reserve(*args: Any) -> Gen:
    """``reserve(n1, g1, n2, g2, ..., default)``: the first n1 client threads
    run g1, the next n2 run g2, …, the remaining client threads ``default``.
    Each group is its own stream (and its own deterministic sequence)."""
    if len(args) % 2 != 1:
        raise ValueError("reserve(n1, gen1, n2, gen2, ..., default_gen)")
    pairs = [(int(args[i]), args[i + 1]) for i in range(0, len(args) - 1, 2)]
    default = args[-1]
    return _Reserve(pairs, default)


class _Reserve(Gen):
    def __init__(self, pairs: list[tuple[int, Any]], default: Any):
        self._pairs = pairs
        self._gens = [lift(g) for _, g in pairs] + [lift(default)]
        self._inner: Gen | None = None

    def children(self) -> Sequence[Gen]:
        return self._gens

    def op(self, ctx: GenContext) -> Any:
        if self._inner is None:
            cl = [t for t in ctx.threads if t != NEMESIS_THREAD]
            parts: list[Gen] = []
            start = 0
            for (n, _), g in zip(self._pairs, self._gens):
                parts.append(OnThreads(tuple(cl[start:start + n]), g))
                start += n
            parts.append(OnThreads(tuple(cl[start:]), self._gens[-1]))
            self._inner = AnyOf(parts)  # children already bound; wrappers need no rng
        return self._inner.op(ctx)

    def reset(self) -> None:
        self._inner = None
        super().reset()


def nemesis_schedule(ops: Iterable[dict], interval_s: float, jitter: float = 0.0,
                     name: str = "nemesis") -> Gen:
    """Fault ops from an iterator (``nemesis.schedule.combined_ops``), one every
    ``interval_s`` (± jitter fraction), routed to the nemesis thread."""
    return nemesis(Interval(_ns(interval_s), FromIter(ops, name), jitter))


def split_final(gen: Gen) -> tuple[Gen, Gen | None]:
    """Take a top-level :func:`final` phase out of ``gen``: returns the main
    generator and the final one (or None).  Looks at ``gen`` itself and at
    the last child of a top-level ``phases``/``seq``."""
    if isinstance(gen, Final):
        return Seq([]), gen.gen
    if isinstance(gen, (Phases, Seq)) and gen._gens and isinstance(gen._gens[-1], Final):
        fin = gen._gens[-1]
        gen._gens = gen._gens[:-1]
        return gen, fin.gen
    return gen, None


class UntilOk(Gen):
    """Ops made by ``make()`` — called at the first ask, so it sees the state the
    earlier phases left (the keys a workload wrote) — handed to whichever thread
    is free, and handed out again ``retry_s`` later whenever one ends other than
    ok.  Exhausted once every op has ended ok; bound it with ``time_limit``.
    For final reads: a read that failed (node still recovering, database gone)
    says nothing about the data, so it is asked again rather than given up."""

    listens = True

    def __init__(self, make: Callable[[], Iterable[dict]], retry_s: float = 0.5):
        self._make = make
        self._retry = _ns(retry_s)
        self._todo: collections.deque | None = None
        self._out: dict[Any, dict] = {}
        self._now = 0

    def op(self, ctx: GenContext) -> Any:
        self._now = ctx.time
        if self._todo is None:
            self._todo = collections.deque((dict(o), False) for o in self._make())
        if not self._todo:
            return PENDING if self._out else None
        o, failed = self._todo.popleft()
        self._out[ctx.thread] = o
        o = dict(o)
        if failed:
            o["time"] = ctx.time + self._retry
        return o

    def update(self, thread: Any, op: dict, typ: str) -> None:
        o = self._out.pop(thread, None)
        if o is not None and typ != "ok":
            self._todo.append((o, True))

    def reset(self) -> None:
        self._todo = None
        self._out = {}

    def describe(self) -> str:
        return "until_ok(...)"


def until_ok(make: Callable[[], Iterable[dict]], retry_s: float = 0.5) -> Gen:
    return UntilOk(make, retry_s)
