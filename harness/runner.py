"""Worker threads and the recorder: turn a generator into a history.

One worker thread per client process (each bound to a node through its
client) plus one nemesis thread.  Workers *pull*: a free worker takes the
runner's lock, records the completion of its previous op, asks the generator
for its next op and records the invocation — so completions are always in
the history before new invocations are handed out, and the per-op cost is
one lock round trip (see harness/generator/core.py for why).

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

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from checkers.history import HistoryWriter
from harness.generator.core import NEMESIS_THREAD, PENDING, Ctx, Gen
from workloads.base import DefiniteFailure

_TYPES = ("ok", "fail", "info")


@dataclass
class RunSummary:
    elapsed_s: float
    invoked: int            # client ops invoked (this run() call)
    ok: int
    fail: int
    info: int
    nemesis_ops: int
    ops_per_s: float        # completed client ops per second
    stopped_by: str         # "exhausted" | "stop" | "interrupt" | "max-duration"
    abandoned: int = 0      # client calls the watchdog gave up on
    history_ops: int = 0    # lines recorded so far (all run() calls)
    history_bytes: int = 0
    processes: list = field(default_factory=list)  # current process per worker

    @property
    def interrupted(self) -> bool:
        return self.stopped_by in ("stop", "interrupt")

    def to_json(self) -> dict:
        return asdict(self)


class _Flight:
    """An op between its invocation and its completion."""

    __slots__ = ("f", "key", "value", "process", "t0", "node")

    def __init__(self, f: str, key: Any, value: Any, process: Any, t0: int, node: Any):
        self.f, self.key, self.value, self.process, self.t0, self.node = \
            f, key, value, process, t0, node


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

        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stop_evt = threading.Event()
        self._buf: list[dict] = []
        self._index = 0
        self._process: list[int] = list(range(self.concurrency))
        self._clients: dict[int, Any] = {}
        self._tokens: dict[Any, int] = {}
        self._inflight: dict[Any, _Flight] = {}
        self._threads: dict[Any, threading.Thread] = {}
        self._waiters = 0
        self._outstanding = 0
        self._reserved = 0      # ops handed out, waiting for their due time
        self._exhausted = False
        self._stopping = False
        self._gen: Gen | None = None
        self._ctx = Ctx(self.concurrency, with_nemesis=nemesis is not None)
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
                    stopped_by = "stop"
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
            self._flush()
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
        return summ

    def close(self) -> None:
        """Close every client still open (after the last run)."""
        with self._lock:
            cs = list(self._clients.values())
            self._clients.clear()
        for c in cs:
            _close(c)

    # -- recording (call with the lock held) ------------------------------------
    def _record(self, rec: dict) -> None:
        rec["index"] = self._index
        self._index += 1
        self._buf.append(rec)

    def _complete(self, thread: Any, typ: str, value: Any, error: Any) -> None:
        fl = self._inflight.pop(thread)
        t = self.clock() - self.start_ns
        rec = {"index": 0, "time": t, "process": fl.process, "type": typ, "f": fl.f}
        if fl.key is not None:
            rec["key"] = fl.key
        rec["value"] = value
        if fl.node is not None:
            rec["node"] = fl.node
        if error is not None:
            rec["error"] = error
        self._record(rec)
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
        rec = {"index": 0, "time": t, "process": process, "type": "invoke", "f": f}
        if key is not None:
            rec["key"] = key
        rec["value"] = value
        if node is not None:
            rec["node"] = node
        self._record(rec)
        self._inflight[thread] = _Flight(f, key, value, process, t, node)
        self._outstanding += 1
        if thread != NEMESIS_THREAD:
            self._invoked += 1

    def _flush(self) -> None:
        # Only the controller thread flushes, so batches reach the file in order.
        with self._lock:
            buf = self._buf
            if not buf:
                return
            self._buf = []
        self.writer.write_many(buf)

    # -- threads ---------------------------------------------------------------
    def _spawn(self, thread: Any) -> None:
        tok = self._tokens.get(thread, 0) + 1
        self._tokens[thread] = tok
        target = self._nemesis_loop if thread == NEMESIS_THREAD else self._worker_loop
        th = threading.Thread(target=target, args=(thread, tok), daemon=True,
                              name=f"splitbrain-worker-{thread}")
        self._threads[thread] = th
        th.start()

    def _next_op(self, thread: Any, tok: int) -> dict | None:
        """With the lock held: the next op for ``thread``, or None to exit."""
        ctx = self._ctx
        gen = self._gen
        while True:
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
            if o is PENDING:
                wait = 0.1
                if ctx.wake_at is not None:
                    wait = min(wait, max(0.0, (ctx.wake_at - now) / 1e9))
                self._waiters += 1
                self._cond.wait(wait)
                self._waiters -= 1
                continue
            if self.generated is not None:
                self.generated.append((thread, o.get("f"), o.get("key"), o.get("value")))
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
        lock = self._lock
        timeout = self.op_timeout
        factory = self.client_factory
        result: tuple | None = None
        client = self._clients.get(w)
        while True:
            with lock:
                if result is not None:
                    if self._tokens.get(w) != tok:
                        break  # the watchdog gave up on us and recorded the op
                    self._complete(w, *result)
                    if result[0] == "info" and client is not None:
                        # Jepsen: a crashed process gets a fresh client
                        self._clients.pop(w, None)
                        _close(client)
                        client = None
                    result = None
                op = self._next_op(w, tok)
                if op is None:
                    break
                due = op.get("time")
                if due is None or due <= self.clock() - self.start_ns:
                    self._invoke(w, op, self._process[w], getattr(client, "node", None))
                    ready = True
                else:
                    ready = False
                    self._reserved += 1
            if not ready:
                on_time = self._await_due(op, w, tok)
                with lock:
                    self._reserved -= 1
                    if not on_time or self._stopping or self._tokens.get(w) != tok:
                        break
                    self._invoke(w, op, self._process[w], getattr(client, "node", None))
            if client is None:
                try:
                    client = factory(self._process[w], w)
                    with lock:
                        self._clients[w] = client
                except Exception as e:  # noqa: BLE001 - any failure to open is reported
                    result = ("fail", None, f"could not open a client: {_err(e)}")
                    self._stop_evt.wait(0.1)  # don't spin on a node that is down
                    continue
            f = op.get("f")
            try:
                typ, value, error = client.invoke(f, op.get("key"), op.get("value"), timeout)
                if typ not in _TYPES:
                    typ, value, error = "info", None, f"client returned type {typ!r}"
                elif value is None and f != "read":
                    value = op.get("value")
            except DefiniteFailure as e:
                typ, value, error = "fail", op.get("value"), _err(e)
            except Exception as e:  # noqa: BLE001 - unknown outcome: info, fresh process
                typ, value, error = "info", op.get("value"), _err(e)
            result = (typ, value, error)
        if self._tokens.get(w) != tok and client is not None:
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
                self._reserved += 1
            on_time = self._await_due(op, name, tok)
            with lock:
                self._reserved -= 1
                if not on_time or self._stopping or self._tokens.get(name) != tok:
                    break
                self._invoke(name, op, NEMESIS_THREAD, None)
            try:
                detail = self.nemesis.apply(op.get("f"), op.get("value"))
                result = ("info", detail if detail is not None else op.get("value"), None)
            except Exception as e:  # noqa: BLE001 - recorded, the run goes on
                result = ("info", op.get("value"), _err(e))

    def _watchdog(self) -> None:
        """Give up on calls far past their timeout: record info, replace the worker."""
        if not self._inflight:
            return
        now = self.clock() - self.start_ns
        respawn = []
        with self._lock:
            for th, fl in list(self._inflight.items()):
                limit = self.nemesis_timeout if th == NEMESIS_THREAD else self.hard_timeout
                if now - fl.t0 > limit * 1e9:
                    self._tokens[th] = self._tokens.get(th, 0) + 1
                    self._clients.pop(th, None)
                    self._abandoned += 1
                    self._complete(th, "info", fl.value,
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
                self._complete(th, "info", fl.value, why)
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
