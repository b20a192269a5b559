"""Workload clients for etcd, over the v3 JSON gateway.

Every call is bounded by the op timeout.  Outcome rules (Jepsen's):
- a request that certainly never reached the server (connection refused,
  connect timed out) is ``fail``;
- a read that errs is ``fail`` — reads change nothing, so nothing is unknown;
- a write that times out or loses its connection after sending is ``info``;
- a write the server refused before proposing it (a short, explicit list)
  is ``fail``; any other server error on a write is ``info``;
- a cas whose compare failed is ``fail`` with the error ``cas-mismatch`` (an
  observation); every other failed cas never compared anything.
"""

from __future__ import annotations

import json
import time
from typing import Any

from core.client import CAS_MISMATCH

from ..base import sorted_elements
from .gateway import Gateway, Indefinite, NotSent, ServerError, b64, prefix_end, unb64

OK, FAIL, INFO = "ok", "fail", "info"

# Errors etcd returns before a proposal enters raft, so nothing was applied
# (etcdserver/api/v3rpc/rpctypes).  Not the quota error ("etcdserver: mvcc:
# database space exceeded"): etcd applies a write and only then reports that the
# backend is over quota, so that error stays ``info`` (the write may be there).
_DEFINITE_SERVER_ERRORS = (
    "etcdserver: too many requests",
    "etcdserver: request is too large",
    "etcdserver: not capable",
    "etcdserver: key is not provided",
)

READ_MODES = ("linearizable", "serializable")


def _encode(v: Any) -> bytes:
    return json.dumps(v, separators=(",", ":")).encode()


def _decode(b: bytes) -> Any:
    try:
        return json.loads(b)
    except ValueError:
        return b.decode(errors="replace")


def _key_name(key: Any) -> str:
    return "default" if key is None else str(key)


class EtcdClient:
    """Base: one gateway connection to one member, outcome classification."""

    def __init__(self, host: str, port: int, *, read_mode: str = "linearizable",
                 node_name: str | None = None):
        if read_mode not in READ_MODES:
            raise ValueError(f"read_mode must be one of {', '.join(READ_MODES)}, got {read_mode!r}")
        self.gw = Gateway(host, port)
        self.serializable = read_mode == "serializable"
        self.node = node_name or host

    def close(self) -> None:
        self.gw.close()

    def invoke(self, f: str, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        handler = getattr(self, "op_" + f.replace("-", "_"), None)
        if handler is None:
            return FAIL, None, f"unsupported f {f!r} for {type(self).__name__}"
        is_read = f == "read"
        try:
            return handler(key, value, timeout)
        except NotSent as e:
            return FAIL, None, str(e)
        except Indefinite as e:
            return (FAIL if is_read else INFO), None, str(e)
        except ServerError as e:
            if is_read or any(e.message.startswith(m) for m in _DEFINITE_SERVER_ERRORS):
                return FAIL, None, e.message
            return INFO, None, e.message

    def _get(self, k: bytes, timeout: float) -> tuple[Any, int]:
        """Value and mod_revision of one key (None, 0 when absent)."""
        doc = self.gw.range(k, serializable=self.serializable, timeout=timeout)
        kvs = doc.get("kvs") or []
        if not kvs:
            return None, 0
        kv = kvs[0]
        return _decode(unb64(kv.get("value", ""))), int(kv.get("mod_revision", 0))


class RegisterClient(EtcdClient):
    """read / write / cas on one etcd key per register key (register, multi-register,
    causal-register workloads)."""

    def _k(self, key: Any) -> bytes:
        return f"/splitbrain/r/{_key_name(key)}".encode()

    def op_read(self, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        v, _ = self._get(self._k(key), timeout)
        return OK, v, None

    def op_write(self, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        self.gw.put(self._k(key), _encode(value), timeout)
        return OK, value, None

    def op_cas(self, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        old, new = value
        k = self._k(key)
        # Compare by value; etcd fails a VALUE compare on a missing key, which is what a
        # cas from an absent register must do when ``old`` is a value.
        doc = self.gw.txn(
            compare=[{"key": b64(k), "result": "EQUAL", "target": "VALUE", "value": b64(_encode(old))}],
            success=[{"request_put": {"key": b64(k), "value": b64(_encode(new))}}],
            timeout=timeout)
        if doc.get("succeeded"):
            return OK, value, None
        if old is None:
            # the key may be absent (nil, which the cas expected) or hold "null":
            # which one failed the compare is unknown, so it observes nothing
            return FAIL, value, "cas from nil: etcd fails a compare on an absent key"
        # the txn's compare ran in raft order inside the op: a genuine observation
        return FAIL, value, CAS_MISMATCH


class SetClient(EtcdClient):
    """Set: each element is its own key under the set's prefix; read = prefix range."""

    def _prefix(self, key: Any) -> bytes:
        return f"/splitbrain/s/{_key_name(key)}/".encode()

    def op_add(self, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        self.gw.put(self._prefix(key) + _encode(value), b"1", timeout)
        return OK, value, None

    def op_read(self, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        p = self._prefix(key)
        doc = self.gw.range(p, range_end=prefix_end(p), serializable=self.serializable,
                            timeout=timeout)
        elems = [_decode(unb64(kv["key"])[len(p):]) for kv in doc.get("kvs") or []]
        return OK, sorted_elements(elems), None


class CounterClient(EtcdClient):
    """Counter: etcd has no increment, so add = read then a txn guarded by the key's
    mod_revision, retried on conflict until the op timeout.  A conflict is a
    definite non-effect, so only an indefinite txn makes the op ``info``."""

    def _k(self, key: Any) -> bytes:
        return f"/splitbrain/c/{_key_name(key)}".encode()

    def op_read(self, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        v, _ = self._get(self._k(key), timeout)
        return OK, (0 if v is None else v), None

    def op_add(self, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        k = self._k(key)
        delta = 1 if value is None else value
        deadline = time.monotonic() + timeout
        attempts = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return FAIL, value, f"contention: no txn succeeded in {attempts} attempts"
            attempts += 1
            # The read half must see the latest committed value or every CAS would
            # lose; a linearizable read is the cheapest way to get it.
            try:
                doc = self.gw.range(k, serializable=False, timeout=remaining)
            except (Indefinite, ServerError) as e:
                # Every earlier txn of this op definitely failed, so nothing was applied.
                return FAIL, value, f"read before txn: {e}"
            kvs = doc.get("kvs") or []
            cur = int(_decode(unb64(kvs[0].get("value", "")))) if kvs else 0
            rev = int(kvs[0].get("mod_revision", 0)) if kvs else 0
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return FAIL, value, "timeout before the txn was sent"
            res = self.gw.txn(
                compare=[{"key": b64(k), "result": "EQUAL", "target": "MOD", "mod_revision": str(rev)}],
                success=[{"request_put": {"key": b64(k), "value": b64(_encode(cur + delta))}}],
                timeout=remaining)
            if res.get("succeeded"):
                return OK, value, None


CLIENTS: dict[str, type[EtcdClient]] = {
    "register": RegisterClient,
    "multi-register": RegisterClient,
    "causal-register": RegisterClient,
    "set": SetClient,
    "counter": CounterClient,
}
