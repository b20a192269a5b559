"""The generator protocol: what a worker asks and what it gets back.

Modelled on Jepsen's generators (jepsen.generator, "gen/op"), adapted to a
*pull* interpreter: each free worker thread asks the generator for its next
op itself, under the runner's lock, instead of a central scheduler pushing
ops to threads.  That keeps the per-op path to one lock round trip, which is
what lets ~10 Python threads reach tens of thousands of ops/s under the GIL.

``gen.op(ctx)`` returns

* an op dict ``{"f": ..., "key": ..., "value": ...}`` (``key`` optional; an
  optional ``"time"`` is the ns-since-start instant the op is due, the
  worker waits until then),
* :data:`PENDING` — nothing for this thread right now; ask again after a
  completion, or at ``ctx.wake_at`` (a generator waiting on time lowers it),
* ``None`` — exhausted for everyone, for good (Jepsen's ``nil``).

Determinism: generators are stateful objects and never read the wall clock
to choose *what* to emit.  Every node that needs randomness gets its own
``random.Random`` derived, in tree order, from the one seeded ``Random``
passed to :func:`bind` — so each stream's values depend only on the seed and
on how many ops that stream emitted, not on thread timing.
"""

from __future__ import annotations

import abc

import random
from typing import Any, Callable, Iterable, Sequence

NEMESIS_THREAD = "nemesis"


class _Pending:
    __slots__ = ()

    def __repr__(self) -> str:
        return "PENDING"


PENDING: Any = _Pending()


class GenContext:
    """What a generator may look at when asked: mutable, reused per ask.

    ``thread`` is the asking thread (worker index ``0..concurrency-1`` or
    ``"nemesis"``), ``process`` its current process id, ``time`` ns since the
    test started, ``threads`` the threads in scope (routing combinators
    narrow it), ``outstanding`` ops invoked but not completed (all threads),
    ``wake_at`` the earliest instant a PENDING generator wants to be asked
    again (lowered by generators; reset by the interpreter before each ask).
    """

    __slots__ = ("time", "thread", "process", "threads", "outstanding", "wake_at",
                 "concurrency")

    def __init__(self, concurrency: int, with_nemesis: bool = True):
        self.time = 0
        self.thread: int | str = 0
        self.process: int | str = 0
        self.concurrency = concurrency
        ts: list[int | str] = list(range(concurrency))
        if with_nemesis:
            ts.append(NEMESIS_THREAD)
        self.threads: tuple = tuple(ts)
        self.outstanding = 0
        self.wake_at: int | None = None

    def wake(self, t: int) -> None:
        if self.wake_at is None or t < self.wake_at:
            self.wake_at = t


class Gen(abc.ABC):
    """Base of every generator.  Subclasses override ``op`` and, if they
    hold state, ``reset`` (back to the initial state; randomness is *not*
    rewound) and ``children``."""

    rng: random.Random | None = None

    @abc.abstractmethod
    def op(self, ctx: GenContext) -> Any:
        """The next op dict, PENDING (ask again later) or None (exhausted)."""

    def reset(self) -> None:
        for c in self.children():
            c.reset()

    def children(self) -> Sequence["Gen"]:
        return ()

    # True on a generator that wants to hear how its ops ended (``update``);
    # the runner only reports completions when some node of the tree does.
    listens = False

    def update(self, thread: Any, op: dict, typ: str) -> None:
        """``thread``'s op (``f``/``key``/``value`` as invoked) ended ``typ`` (ok/fail/info),
        like Jepsen's ``update``: a generator that retries until ok hears of it here."""
        for c in self.children():
            c.update(thread, op, typ)

    def bind(self, rng: random.Random) -> "Gen":
        """Give this node and its descendants their own Randoms, in tree order."""
        self.rng = random.Random(rng.getrandbits(64))
        for c in self.children():
            c.bind(rng)
        return self

    def describe(self) -> str:
        kids = ", ".join(c.describe() for c in self.children())
        return f"{type(self).__name__.lower()}({kids})"


def listens(gen: Gen) -> bool:
    """Whether any node of ``gen``'s tree wants completions (``Gen.update``)."""
    return gen.listens or any(listens(c) for c in gen.children())


def bind(gen: Gen, seed: int | random.Random) -> Gen:
    """Seed a generator tree; call once before running it."""
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    return gen.bind(rng)


class Once(Gen):
    """A literal op, emitted once (Jepsen: a map is a one-shot generator)."""

    def __init__(self, op: dict):
        self._op = dict(op)
        self._done = False

    def op(self, ctx: GenContext) -> Any:
        if self._done:
            return None
        self._done = True
        return dict(self._op)

    def reset(self) -> None:
        self._done = False

    def describe(self) -> str:
        return f"once({self._op!r})"


class Fn(Gen):
    """Calls ``fn(rng)`` for every op; ``fn`` returns an op dict or None (done).

    The function may keep state (e.g. a counter making values unique); it is
    called under the runner's lock, so it needs no locking of its own.
    """

    def __init__(self, fn: Callable[[random.Random], dict | None], name: str | None = None):
        self._fn = fn
        self._name = name or getattr(fn, "__name__", "fn")
        self._done = False
        self.rng = random.Random(0)

    @property
    def fn(self) -> Callable[[random.Random], dict | None]:
        """The function (a workload's op stream, whose state a final phase may read)."""
        return self._fn

    def op(self, ctx: GenContext) -> Any:
        if self._done:
            return None
        o = self._fn(self.rng)
        if o is None:
            self._done = True
        return o

    def reset(self) -> None:
        self._done = False

    def describe(self) -> str:
        return f"fn({self._name})"


class FromIter(Gen):
    """Ops from an iterator (e.g. ``nemesis.schedule.combined_ops``); exhausted
    with it.  The iterator brings its own randomness, seeded by its maker."""

    def __init__(self, it: Iterable[dict], name: str = "iter"):
        self._it = iter(it)
        self._name = name

    def op(self, ctx: GenContext) -> Any:
        try:
            return dict(next(self._it))
        except StopIteration:
            return None

    def describe(self) -> str:
        return f"from_iter({self._name})"


def lift(x: Any) -> Gen:
    """Turn a generator-ish value into a Gen: a Gen as is, a dict → once, a
    callable → Fn, a list/tuple → one after another (Jepsen's vectors)."""
    if isinstance(x, Gen):
        return x
    if isinstance(x, dict):
        return Once(x)
    if isinstance(x, (list, tuple)):
        from .combinators import seq
        return seq(*x)
    if callable(x):
        return Fn(x)
    if x is None:
        from .combinators import seq
        return seq()
    raise TypeError(f"not a generator: {x!r}")
