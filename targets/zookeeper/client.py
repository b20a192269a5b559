"""Workload clients for ZooKeeper over kazoo.

Each client holds one kazoo session to its own node only (as Jepsen's clients
do), so what a partition does to that member is what the client sees.

Bounds: every request is issued asynchronously and waited for with the op's
remaining time; kazoo's command retry is off.  Kazoo keeps reconnecting the
session in the background (capped back-off) — that is session upkeep, not an
op retry, and stops at ``close()``.

Outcome rules: not connected when the op starts → ``fail`` (nothing sent);
a read that errs → ``fail``; BadVersion / NoNode / NodeExists on a write →
``fail`` (the server refused it); a write that times out or loses its
connection → ``info``; a cas whose synced read saw another value → ``fail``
with the error ``cas-mismatch`` (an observation; every other failed cas
compared nothing).

``reads``: ``sync`` issues ``sync(path)`` before each read, so the member
catches up with the leader first; ``plain`` reads whatever the member has
applied, which ZooKeeper documents as sequentially consistent, not
linearizable ("ZooKeeper Programmer's Guide: Consistency Guarantees").
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import (BadVersionError, ConnectionClosedError, ConnectionLoss,
                              KazooException, NodeExistsError, NoNodeError, SessionExpiredError)
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.retry import KazooRetry

from core.client import CAS_MISMATCH

from ..base import sorted_elements

OK, FAIL, INFO = "ok", "fail", "info"
READS = ("sync", "plain")

# Kazoo warns on every dropped connection; under a partition that is dozens of lines
# a second on the console, and the history already records each op's error.
_LOG = logging.getLogger("splitbrain.kazoo")
_LOG.setLevel(logging.ERROR)


class NotSent(Exception):
    pass


def _enc(v: Any) -> bytes:
    return json.dumps(v, separators=(",", ":")).encode()


def _dec(b: bytes | None) -> Any:
    if b is None or b == b"":
        return None
    try:
        return json.loads(b)
    except ValueError:
        return b.decode(errors="replace")


def _key_name(key: Any) -> str:
    name = "default" if key is None else str(key)
    return name.replace("/", "_") or "_"


class ZkClient:
    def __init__(self, host: str, port: int, *, reads: str = "sync", session_timeout: float = 6.0,
                 node_name: str | None = None):
        if reads not in READS:
            raise ValueError(f"reads must be one of {', '.join(READS)}, got {reads!r}")
        self.sync_reads = reads == "sync"
        self.node = node_name or host
        self._connected = threading.Event()
        self.zk = KazooClient(
            hosts=f"{host}:{port}", timeout=session_timeout, randomize_hosts=False,
            connection_retry=KazooRetry(max_tries=-1, delay=0.1, backoff=2, max_delay=1.0),
            command_retry=None, logger=_LOG)
        self.zk.add_listener(self._on_state)
        self.zk.start_async()

    def _on_state(self, state: str) -> None:
        if state == KazooState.CONNECTED:
            self._connected.set()
        else:
            self._connected.clear()

    def close(self) -> None:
        try:
            self.zk.stop()
            self.zk.close()
        except Exception:  # noqa: BLE001 - closing a broken session may raise anything
            pass

    # -- plumbing --------------------------------------------------------------
    def _wait_connected(self, deadline: float) -> None:
        # A fresh client (or one whose member just restarted) may take a moment to
        # connect; waiting is bounded by the op, and nothing is queued meanwhile.
        if not self._connected.wait(max(0.0, min(deadline - time.monotonic(), 2.0))):
            raise NotSent(f"not connected to {self.node}")

    @staticmethod
    def _get(async_result: Any, deadline: float) -> Any:
        left = deadline - time.monotonic()
        if left <= 0:
            raise KazooTimeoutError("op timeout")
        return async_result.get(timeout=left)

    def invoke(self, f: str, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        handler = getattr(self, "op_" + f.replace("-", "_"), None)
        if handler is None:
            return FAIL, None, f"unsupported f {f!r} for {type(self).__name__}"
        deadline = time.monotonic() + timeout
        is_read = f == "read"
        try:
            self._wait_connected(deadline)
            return handler(key, value, deadline)
        except NotSent as e:
            return FAIL, None, str(e)
        except KazooTimeoutError:
            return (FAIL if is_read else INFO), None, f"timeout after {timeout:.2f}s"
        except (ConnectionLoss, SessionExpiredError, ConnectionClosedError) as e:
            return (FAIL if is_read else INFO), None, type(e).__name__
        except KazooException as e:
            return (FAIL if is_read else INFO), None, f"{type(e).__name__}: {e}"[:300]

    def _read(self, path: str, deadline: float) -> tuple[bytes | None, int]:
        if self.sync_reads:
            self._get(self.zk.sync_async(path), deadline)
        try:
            data, stat = self._get(self.zk.get_async(path), deadline)
        except NoNodeError:
            return None, -1
        return data, stat.version


class RegisterClient(ZkClient):
    """One znode per register key; CAS = getData then setData with its version."""

    @staticmethod
    def _p(key: Any) -> str:
        return f"/splitbrain/r/{_key_name(key)}"

    def op_read(self, key: Any, value: Any, deadline: float):
        data, _ = self._read(self._p(key), deadline)
        return OK, _dec(data), None

    def op_write(self, key: Any, value: Any, deadline: float):
        p = self._p(key)
        try:
            self._get(self.zk.set_async(p, _enc(value), -1), deadline)
            return OK, value, None
        except NoNodeError:
            pass
        # First write of this key: create it.  NodeExists means another client created it
        # between our set and create; ours then definitely did nothing, so fail.
        try:
            self._get(self.zk.create_async(p, _enc(value), makepath=True), deadline)
        except NodeExistsError:
            return FAIL, value, "created concurrently; not written"
        return OK, value, None

    def op_cas(self, key: Any, value: Any, deadline: float):
        old, new = value
        p = self._p(key)
        # The version read here pins the compare: a setData with it fails if anything
        # was written in between, so CAS is atomic whatever the read saw.  The read is
        # synced first (whatever ``reads`` says): a follower's unsynced read may show a
        # value from before the op was invoked, and a mismatch against that value
        # would claim the register "did not hold old" at a time outside the op.
        try:
            self._get(self.zk.sync_async(p), deadline)
            data, stat = self._get(self.zk.get_async(p), deadline)
        except NoNodeError:
            if old is None:
                return FAIL, value, "cas from nil on an absent key"
            return FAIL, value, CAS_MISMATCH  # absent is nil, not old: synced, so genuine
        except (KazooTimeoutError, ConnectionLoss, SessionExpiredError, ConnectionClosedError) as e:
            return FAIL, value, f"cas read: {type(e).__name__}"
        if _dec(data) != old:
            return FAIL, value, CAS_MISMATCH
        try:
            self._get(self.zk.set_async(p, _enc(new), stat.version), deadline)
        except BadVersionError:
            # someone wrote in between — possibly ``old`` again: no mismatch was seen
            return FAIL, value, "cas: version moved between the read and the set"
        except NoNodeError:
            return FAIL, value, "cas: the key vanished between the read and the set"
        return OK, value, None


class SetClient(ZkClient):
    """Each element is a child znode of the set's znode; read = getChildren."""

    @staticmethod
    def _p(key: Any) -> str:
        return f"/splitbrain/s/{_key_name(key)}"

    def op_add(self, key: Any, value: Any, deadline: float):
        try:
            self._get(self.zk.create_async(f"{self._p(key)}/{json.dumps(value)}", b"",
                                           makepath=True), deadline)
        except NodeExistsError:
            pass  # the element is present either way
        return OK, value, None

    def op_read(self, key: Any, value: Any, deadline: float):
        p = self._p(key)
        if self.sync_reads:
            self._get(self.zk.sync_async(p), deadline)
        try:
            names = self._get(self.zk.get_children_async(p), deadline)
        except NoNodeError:
            names = []
        return OK, sorted_elements([_dec(n.encode()) for n in names]), None


class CounterClient(ZkClient):
    """add = read then setData guarded by the version, retried on conflict until the
    op timeout (each conflict is a definite non-effect); read = getData."""

    @staticmethod
    def _p(key: Any) -> str:
        return f"/splitbrain/c/{_key_name(key)}"

    def op_read(self, key: Any, value: Any, deadline: float):
        data, _ = self._read(self._p(key), deadline)
        v = _dec(data)
        return OK, (0 if v is None else v), None

    def op_add(self, key: Any, value: Any, deadline: float):
        delta = 1 if value is None else int(value)
        p = self._p(key)
        attempts = 0
        while time.monotonic() < deadline:
            attempts += 1
            try:
                data, stat = self._get(self.zk.get_async(p), deadline)
            except NoNodeError:
                try:
                    self._get(self.zk.create_async(p, _enc(delta), makepath=True), deadline)
                    return OK, value, None
                except NodeExistsError:
                    continue
            except (KazooTimeoutError, ConnectionLoss, SessionExpiredError,
                    ConnectionClosedError) as e:
                # Every earlier attempt definitely failed, so nothing was applied.
                return FAIL, value, f"read before set: {type(e).__name__}"
            cur = _dec(data) or 0
            try:
                self._get(self.zk.set_async(p, _enc(cur + delta), stat.version), deadline)
                return OK, value, None
            except BadVersionError:
                continue
        return FAIL, value, f"contention: no set succeeded in {attempts} attempts"


CLIENTS: dict[str, type[ZkClient]] = {
    "register": RegisterClient,
    "multi-register": RegisterClient,
    "causal-register": RegisterClient,
    "set": SetClient,
    "counter": CounterClient,
}
