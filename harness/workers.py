"""Worker threads and the recorder: turn a generator into a history.

One worker thread per client process (each bound to a node through its
client) plus one nemesis thread.  Workers *pull*: a free worker takes the
runner's lock, records the completion of its previous op, asks the generator
for its next op and records the invocation — so completions are always in
the history before new invocations are handed out, and the per-op cost is
one lock round trip (see core/generator/core.py for why).

Jepsen's process rule: an op that ends ``info`` (timed out, raised, or the
client said so) leaves its process forever in doubt, so the worker continues
under a fresh process id (``process + concurrency``) with a fresh client.
A :class:`workloads.DefiniteFailure` is ``fail`` and keeps the process.

Ops are buffered and written by the controller thread every couple of ms
with one ``os.write`` per batch; the buffer never holds a completed op for
longer than ``flush_interval_s`` plus a GIL switch (≈5 ms), which is all a
SIGKILLed controller can lose.  A client call that ignores its timeout is
abandoned by a watchdog (recorded ``info``, worker replaced) so a hung
socket cannot stall the run; Ctrl-C or ``stop_event`` completes every
outstanding op as ``info`` at once.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from checkers.history import HistoryWriter
from core.generator.core import NEMESIS_THREAD, PENDING, GenContext, Gen, listens
from workloads.base import DefiniteFailure

_TYPES = ("ok", "fail", "info")
_ASK = object()
# records a worker lets pile up before writing them itself (see Runner._flush)
FLUSH_BATCH = 512


@dataclass
class RunSummary:
    elapsed_s: float
    invoked: int            # client ops invoked (this run() call)
    ok: int
    fail: int
    info: int
    nemesis_ops: int
    ops_per_s: float        # completed client ops per second
    stopped_by: str         # "exhausted" | "stop" | "interrupt" | "max-duration" | "error"
    abandoned: int = 0      # client calls the watchdog gave up on
    history_ops: int = 0    # lines recorded so far (all run() calls)
    history_bytes: int = 0
    processes: list = field(default_factory=list)  # current process per worker

    @property
    def interrupted(self) -> bool:
        return self.stopped_by in ("stop", "interrupt")

    def to_json(self) -> dict:
        return asdict(self)


class Runner:
    """Runs a generator against clients and a nemesis, streaming the history.

    ``client_factory(process, worker)`` returns an opened client (see
    ``workloads.base.Client``) for that process, bound to a node; it is called
    again with the new process id after every ``info``.  ``nemesis.apply(f,
    value)`` performs a fault op and returns a JSON-able detail (recorded as
    the ``info`` completion's value); ``nemesis.active()`` (optional) lists
    active faults for :meth:`stats`.  ``run`` may be called again with another
    generator (e.g. the final phase after healing): the history, the clock
    origin and the process numbering continue.
    """

    def __init__(self, generator: Gen | None, client_factory: Callable[[int, int], Any],
                 nemesis: Any, writer: HistoryWriter, concurrency: int, op_timeout: float,
                 clock: Callable[[], int] = time.monotonic_ns, *, start_ns: int | None = None,
                 nemesis_timeout: float = 300.0, flush_interval_s: float = 0.002,
                 record_generated: bool = False, max_duration_s: float | None = None):
        if concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        self.generator = generator
        self.client_factory = client_factory
        self.nemesis = nemesis
        self.writer = writer
        self.concurrency = int(concurrency)
        self.op_timeout = float(op_timeout)
        self.hard_timeout = self.op_timeout + max(1.0, self.op_timeout)
        self.nemesis_timeout = float(nemesis_timeout)
        self.clock = clock
        self.start_ns = start_ns
        self.flush_interval_s = flush_interval_s
        self.max_duration_s = max_duration_s
        # (thread, f, key, value) in the order the generator handed ops out
        self.generated: list[tuple] | None = [] if record_generated else None
        self.last_summary: RunSummary | None = None
        self._error: BaseException | None = None

        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stop_evt = threading.Event()
        # appended under the lock (so in index order); drained by the controller
        # WITHOUT the lock: CPython's locks are unfair, and a busy worker that
        # releases and re-takes the lock would starve a flusher that needed it.
        self._buf: collections.deque = collections.deque()
        self._unwritten: list[tuple] = []
        self._flush_lock = threading.Lock()
        self._index = 0
        self._process: list[int] = list(range(self.concurrency))
        self._clients: dict[int, Any] = {}
        self._tokens: dict[Any, int] = {}
        self._inflight: dict[Any, tuple] = {}  # thread -> (f, key, value, process, t0, node)
        self._threads: dict[Any, threading.Thread] = {}
        self._all_threads: list[threading.Thread] = []
        self._waiters = 0
        self._outstanding = 0
        self._reserved = 0      # ops handed out, waiting for their due time
        self._exhausted = False
        self._stopping = False
        self._gen: Gen | None = None
        self._gen_listens = False
        self._ctx = GenContext(self.concurrency, with_nemesis=nemesis is not None)
        self._counts = {"ok": 0, "fail": 0, "info": 0}
        self._invoked = 0
        self._nemesis_ops = 0
        self._abandoned = 0
        self._run_t0: int | None = None

    # -- public ---------------------------------------------------------------
    def now(self) -> int:
        """ns since the test started."""
        if self.start_ns is None:
            self.start_ns = self.clock()
        return self.clock() - self.start_ns

    def stats(self) -> dict:
        """Live figures for the console (safe to call from any thread)."""
        el = (self.clock() - self._run_t0) / 1e9 if self._run_t0 is not None else 0.0
        c = self._counts
        done = c["ok"] + c["fail"] + c["info"]
        active: Any = None
        act = getattr(self.nemesis, "active", None)
        if callable(act):
            try:
                active = act()
            except Exception as e:  # noqa: BLE001 - the console must not die of it
                active = f"unknown ({e})"
        return {"elapsed_s": el, "ops_per_s": done / el if el > 0 else 0.0, "ok": c["ok"],
                "fail": c["fail"], "info": c["info"], "invoked": self._invoked,
                "outstanding": self._outstanding, "nemesis_ops": self._nemesis_ops,
                "active_faults": active}

    def stop(self) -> None:
        """Ask a running :meth:`run` to stop (from any thread)."""
        self._stop_evt.set()

    def run(self, stop_event: threading.Event | None = None,
            generator: Gen | None = None) -> RunSummary:
        """Run ``generator`` (default: the constructor's) until it is
        exhausted, ``stop_event`` is set, or ``max_duration_s`` passes.
        Ctrl-C stops the same way, then re-raises KeyboardInterrupt (the
        summary is in ``last_summary``)."""
        gen = generator if generator is not None else self.generator
        if gen is None:
            raise ValueError("no generator to run")
        self._gen = gen
        self._gen_listens = listens(gen)
        self._exhausted = False
        self._stopping = False
        self._stop_evt = threading.Event()
        if stop_event is not None and stop_event.is_set():
            self._stop_evt.set()
        base = dict(self._counts)
        inv0, nem0, ab0 = self._invoked, self._nemesis_ops, self._abandoned
        self.now()
        self._run_t0 = self.clock()
        deadline = None if self.max_duration_s is None else \
            self._run_t0 + int(self.max_duration_s * 1e9)
        workers: list[Any] = list(range(self.concurrency))
        if self.nemesis is not None:
            workers.append(NEMESIS_THREAD)
        for w in workers:
            self._spawn(w)
        stopped_by = "exhausted"
        interrupted: BaseException | None = None
        try:
            while True:
                if stop_event is not None and stop_event.is_set():
                    self._stop_evt.set()
                if self._stop_evt.is_set():
                    stopped_by = "error" if self._error is not None else "stop"
                    break
                if deadline is not None and self.clock() >= deadline:
                    stopped_by = "max-duration"
                    break
                self._watchdog()
                self._flush()
                if not any(t.is_alive() for t in self._threads.values()):
                    break
                time.sleep(self.flush_interval_s)
        except KeyboardInterrupt as e:
            stopped_by = "interrupt"
            interrupted = e
        finally:
            if stopped_by != "exhausted":
                self._abort_all("interrupted: the run was stopped before the op completed"
                                if stopped_by != "max-duration" else
                                "interrupted: the run hit its maximum duration")
            self._join(2.0 if stopped_by == "exhausted" else 0.5)
            with self._flush_lock:
                self._drain()
        el = (self.clock() - self._run_t0) / 1e9
        c = self._counts
        done = sum(c[k] - base[k] for k in _TYPES)
        summ = RunSummary(
            elapsed_s=el, invoked=self._invoked - inv0, ok=c["ok"] - base["ok"],
            fail=c["fail"] - base["fail"], info=c["info"] - base["info"],
            nemesis_ops=self._nemesis_ops - nem0, ops_per_s=done / el if el > 0 else 0.0,
            stopped_by=stopped_by, abandoned=self._abandoned - ab0,
            history_ops=self.writer.count, history_bytes=self.writer.bytes,
            processes=list(self._process))
        self.last_summary = summ
        if interrupted is not None:
            raise interrupted
        if self._error is not None:
            err, self._error = self._error, None
            raise err
        return summ

    def join(self, within: float = 30.0) -> list[str]:
        """Wait (bounded) for every thread this runner ever started — including
        ones abandoned in a hung call, e.g. a nemesis op still running after a
        stop — and return the names of those still alive."""
        deadline = time.monotonic() + within
        for th in list(self._all_threads):
            th.join(max(0.0, deadline - time.monotonic()))
        self._all_threads = [t for t in self._all_threads if t.is_alive()]
        return [t.name for t in self._all_threads]

    def close(self) -> None:
        """Close every client still open (after the last run)."""
        with self._lock:
            cs = list(self._clients.values())
            self._clients.clear()
        for c in cs:
            _close(c)

    # -- recording (call with the lock held) ------------------------------------
    # The buffer holds tuples (time, process, type, f, key, value, node, error);
    # indexes are given at flush time, in buffer order.

    def _complete(self, thread: Any, typ: str, value: Any, error: Any) -> None:
        f, key, _v, process, _t0, node = self._inflight.pop(thread)
        self._buf.append((self.clock() - self.start_ns, process, typ, f, key, value, node, error))
        if self._gen_listens:
            self._gen.update(thread, {"f": f, "key": key, "value": _v}, typ)
        self._outstanding -= 1
        if thread == NEMESIS_THREAD:
            self._nemesis_ops += 1
        else:
            self._counts[typ] += 1
            if typ == "info":
                self._process[thread] += self.concurrency
        if self._waiters:
            self._cond.notify_all()

    def _invoke(self, thread: Any, op: dict, process: Any, node: Any) -> None:
        f = op.get("f")
        key = op.get("key")
        value = op.get("value")
        t = self.clock() - self.start_ns
        self._buf.append((t, process, "invoke", f, key, value, node, None))
        self._inflight[thread] = (f, key, value, process, t, node)
        self._outstanding += 1
        if thread != NEMESIS_THREAD:
            self._invoked += 1

    def _flush(self) -> None:
        """Write what is buffered.  The controller calls it every couple of ms;
        a worker calls it (if nobody else is) once the buffer holds
        ``FLUSH_BATCH`` records, so a CPU-starved controller cannot let the
        backlog grow.  The flush lock keeps batches in order."""
        # bounded by what is buffered now: workers may keep adding meanwhile
        for _ in range(len(self._buf) // FLUSH_BATCH + 1):
            with self._flush_lock:
                if not self._drain(FLUSH_BATCH):
                    return

    def _drain(self, most: int | None = None) -> int:
        """Write up to ``most`` buffered records (all when None); returns how
        many are left.  Call with the flush lock held."""
        dq = self._buf
        n = len(dq) if most is None else min(most, len(dq))
        if not n and not self._unwritten:
            return 0
        # Moved item by item (deque.popleft is atomic), and lines are written
        # before the index advances, so a Ctrl-C landing here leaves the batch
        # in _unwritten for the next flush rather than losing it.
        keep = self._unwritten.append
        pop = dq.popleft
        for _ in range(n):
            keep(pop())
        buf = self._unwritten
        i = self._index
        recs = []
        for t, p, typ, f, key, value, node, error in buf:
            r = {"index": i, "time": t, "process": p, "type": typ, "f": f}
            if key is not None:
                r["key"] = key
            r["value"] = value
            if node is not None:
                r["node"] = node
            if error is not None:
                r["error"] = error
            recs.append(r)
            i += 1
        self.writer.write_many(recs)
        self._index = i
        self._unwritten = []
        return len(dq)

    # -- threads ---------------------------------------------------------------
    def _spawn(self, thread: Any) -> None:
        tok = self._tokens.get(thread, 0) + 1
        self._tokens[thread] = tok
        loop = self._nemesis_loop if thread == NEMESIS_THREAD else self._worker_loop

        def target(th: Any, tk: int) -> None:
            try:
                loop(th, tk)
            except BaseException as e:  # noqa: BLE001 - a generator bug: stop, re-raise in run()
                if self._error is None:
                    self._error = e
                self._stopping = True  # the other workers hand out nothing more
                self._stop_evt.set()
        th = threading.Thread(target=target, args=(thread, tok), daemon=True,
                              name=f"splitbrain-worker-{thread}")
        self._threads[thread] = th
        self._all_threads = [t for t in self._all_threads if t.is_alive()] + [th]
        th.start()

    def _next_op(self, thread: Any, tok: int, first: Any = None, asked: bool = False
                 ) -> dict | None:
        """With the lock held: the next op for ``thread``, or None to exit.
        ``first`` is an answer the caller already got (None or PENDING)."""
        ctx = self._ctx
        gen = self._gen
        if asked and first is None:
            self._exhausted = True
            self._cond.notify_all()
            return None
        o = first if asked else _ASK
        while True:
            if o is PENDING:
                wait = 0.1
                if ctx.wake_at is not None:
                    wait = min(wait, max(0.0, (ctx.wake_at - ctx.time) / 1e9))
                self._waiters += 1
                self._cond.wait(wait)
                self._waiters -= 1
            if self._stopping or self._exhausted or self._tokens.get(thread) != tok:
                return None
            now = self.clock() - self.start_ns
            ctx.time = now
            ctx.thread = thread
            ctx.process = NEMESIS_THREAD if thread == NEMESIS_THREAD else self._process[thread]
            ctx.outstanding = self._outstanding + self._reserved
            ctx.wake_at = None
            o = gen.op(ctx)
            if o is None:
                self._exhausted = True
                self._cond.notify_all()
                return None
            if o is not PENDING:
                return o

    def _await_due(self, op: dict, thread: Any, tok: int) -> bool:
        """Sleep (without the lock) until the op is due; False if stopped meanwhile."""
        due = op.get("time")
        if due is None:
            return True
        while True:
            dt = (due - (self.clock() - self.start_ns)) / 1e9
            if dt <= 0:
                return True
            if self._stop_evt.wait(min(dt, 0.5)):
                return False
            if self._tokens.get(thread) != tok:
                return False

    def _worker_loop(self, w: int, tok: int) -> None:
        # The hot path: completion + next op + invocation under one lock hold,
        # with _complete/_invoke inlined (this loop bounds the ops/s we reach).
        lock = self._lock
        timeout = self.op_timeout
        factory = self.client_factory
        clock = self.clock
        start = self.start_ns
        tokens = self._tokens
        counts = self._counts
        inflight = self._inflight
        gen = self._gen
        ctx = self._ctx
        conc = self.concurrency
        result: tuple | None = None
        generated = self.generated
        procs = self._process
        sleep0 = time.sleep
        buf = self._buf
        flush_lock = self._flush_lock
        client = self._clients.get(w)
        node = getattr(client, "node", None)
        acquire = lock.acquire
        release = lock.release
        while True:
            # Spin-yield instead of blocking: a thread blocked in the kernel on
            # the lock makes every release a futex wake of a thread that then
            # finds the lock re-taken — with 10 workers that storm cost ~30 %
            # of the CPU.  Contention only happens after a GIL switch caught the
            # holder inside its critical section, so the yield loop is short.
            if not acquire(False):
                while not acquire(False):
                    sleep0(0)
            try:
                if tokens.get(w) != tok:
                    break  # abandoned: the watchdog or a stop recorded our op
                if result is not None:
                    typ = result[0]
                    f, key, _v, process, _t0, _n = inflight.pop(w)
                    self._buf.append((clock() - start, process, typ, f, key, result[1], node,
                                      result[2]))
                    if self._gen_listens:
                        gen.update(w, {"f": f, "key": key, "value": _v}, typ)
                    self._outstanding -= 1
                    counts[typ] += 1
                    if typ == "info":
                        procs[w] += conc
                        if client is not None:  # Jepsen: a crashed process gets a fresh client
                            self._clients.pop(w, None)
                            _close(client)
                            client = None
                    if self._waiters:
                        self._cond.notify_all()
                    result = None
                # fast path of _next_op
                if self._stopping or self._exhausted:
                    break
                now = clock() - start
                ctx.time = now
                ctx.thread = w
                ctx.process = process = procs[w]
                ctx.outstanding = self._outstanding + self._reserved
                ctx.wake_at = None
                op = gen.op(ctx)
                if op is None or op is PENDING:
                    op = self._next_op(w, tok, op, asked=True)
                    if op is None:
                        break
                    now = clock() - start
                    process = self._process[w]
                if generated is not None:
                    generated.append((w, op.get("f"), op.get("key"), op.get("value")))
                due = op.get("time")
                f = op.get("f")
                value = op.get("value")
                if client is not None and (due is None or due <= now):
                    key = op.get("key")
                    self._buf.append((now, process, "invoke", f, key, value, node, None))
                    inflight[w] = (f, key, value, process, now, node)
                    self._outstanding += 1
                    self._invoked += 1
                    ready = True
                else:
                    # not due yet, or no client: handed out, invoked below
                    ready = False
                    self._reserved += 1
            finally:
                release()
            if len(buf) >= FLUSH_BATCH and \
                    flush_lock.acquire(len(buf) >= 4 * FLUSH_BATCH):
                # Blocking once the backlog is 4 batches deep is back-pressure:
                # whoever holds the flush lock (a CPU-starved controller) gets
                # the GIL while we wait, so the backlog — what a SIGKILL would
                # lose — stays bounded.
                try:
                    self._drain()
                finally:
                    flush_lock.release()
            if not ready:
                on_time = self._await_due(op, w, tok)
                open_err = None
                if on_time and client is None:
                    # opened only once there is an op for it, so the invoke names its node
                    try:
                        client = factory(self._process[w], w)
                        node = getattr(client, "node", None)
                    except Exception as e:  # noqa: BLE001 - recorded as a fail below
                        open_err = f"could not open a client: {_err(e)}"
                with lock:
                    self._reserved -= 1
                    if client is not None:
                        self._clients[w] = client
                    if not on_time or self._stopping or tokens.get(w) != tok:
                        break
                    self._invoke(w, op, self._process[w], node)
                if open_err is not None:
                    # nothing was sent: a definite failure; back off from a node that is down
                    result = ("fail", None, open_err)
                    self._stop_evt.wait(0.1)
                    continue
            try:
                typ, rvalue, error = client.invoke(f, op.get("key"), value, timeout)
                if typ not in _TYPES:
                    typ, rvalue, error = "info", None, f"client returned type {typ!r}"
                elif rvalue is None and f != "read":
                    rvalue = value
            except DefiniteFailure as e:
                typ, rvalue, error = "fail", value, _err(e)
            except Exception as e:  # noqa: BLE001 - unknown outcome: info, fresh process
                typ, rvalue, error = "info", value, _err(e)
            result = (typ, rvalue, error)
        if client is not None and tokens.get(w) != tok:
            _close(client)

    def _nemesis_loop(self, name: str, tok: int) -> None:
        lock = self._lock
        result: tuple | None = None
        while True:
            with lock:
                if result is not None:
                    if self._tokens.get(name) != tok:
                        break
                    self._complete(name, *result)
                    result = None
                op = self._next_op(name, tok)
                if op is None:
                    break
                if self.generated is not None:
                    self.generated.append((name, op.get("f"), op.get("key"), op.get("value")))
                self._reserved += 1
            on_time = self._await_due(op, name, tok)
            with lock:
                self._reserved -= 1
                if not on_time or self._stopping or self._tokens.get(name) != tok:
                    break
                self._invoke(name, op, NEMESIS_THREAD, None)
            try:
                detail = self.nemesis.apply(op.get("f"), op.get("value"))
                result = ("info", detail, None)
            except Exception as e:  # noqa: BLE001 - recorded, the run goes on
                result = ("info", op.get("value"), _err(e))

    def _watchdog(self) -> None:
        """Give up on calls far past their timeout: record info, replace the worker."""
        if not self._inflight:
            return
        now = self.clock() - self.start_ns
        # look without the lock (see _buf); take it only to abandon a call
        late = [th for th, fl in list(self._inflight.items())
                if now - fl[4] > (self.nemesis_timeout if th == NEMESIS_THREAD
                                  else self.hard_timeout) * 1e9]
        if not late:
            return
        respawn = []
        with self._lock:
            for th, fl in list(self._inflight.items()):
                limit = self.nemesis_timeout if th == NEMESIS_THREAD else self.hard_timeout
                if now - fl[4] > limit * 1e9:
                    self._tokens[th] = self._tokens.get(th, 0) + 1
                    self._clients.pop(th, None)
                    self._abandoned += 1
                    self._complete(th, "info", fl[2],
                                   f"timeout: no answer within {limit:g}s (call abandoned)")
                    respawn.append(th)
        for th in respawn:
            if not (self._stopping or self._exhausted):
                self._spawn(th)

    def _abort_all(self, why: str) -> None:
        self._stop_evt.set()
        with self._lock:
            self._stopping = True
            for th, fl in list(self._inflight.items()):
                self._tokens[th] = self._tokens.get(th, 0) + 1
                self._clients.pop(th, None)
                self._complete(th, "info", fl[2], why)
            self._cond.notify_all()

    def _join(self, within: float) -> None:
        deadline = time.monotonic() + within
        for th in list(self._threads.values()):
            th.join(max(0.0, deadline - time.monotonic()))
        self._threads = {k: t for k, t in self._threads.items() if t.is_alive()}


def _err(e: BaseException) -> str:
    s = str(e)
    return f"{type(e).__name__}: {s}" if s else type(e).__name__


def _close(client: Any) -> None:
    try:
        client.close()
    except Exception:  # noqa: BLE001 - closing a broken client may fail; nothing to do
        pass
