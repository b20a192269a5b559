"""Workload clients for redis behind Sentinel.

A client is bound to one node, as a Jepsen client is: it asks the sentinel on
its own node first for the current primary (then the others), so a client
partitioned together with an old primary keeps writing to it — the
situation in which asynchronous replication with failover loses
acknowledged writes (Jepsen, "Call me maybe: Redis", 2013).

Outcome rules (every call bounded by the op timeout, no retries):
- no primary known, or the connection to it cannot be opened → ``fail``;
- a read that errs in any way → ``fail`` (a read changes nothing);
- a write refused by the server (READONLY replica, NOREPLICAS, …) → ``fail``;
- a cas whose compare failed on the primary → ``fail`` with the error
  ``cas-mismatch`` (an observation; every other failed cas compared nothing);
- a write whose reply is lost or late → ``info``;
- with ``wait_replicas`` > 0, a write acknowledged by fewer replicas within
  ``wait_timeout_ms`` → ``info`` (applied on the primary, durability unknown).
"""

from __future__ import annotations

import json
import time
from typing import Any, Sequence

from core.client import CAS_MISMATCH

from ..base import sorted_elements
from .conn import Conn, Indefinite, NotSent, Refused

OK, FAIL, INFO = "ok", "fail", "info"

# Compare-and-set as one script: redis runs a script atomically.  A missing key
# never equals the expected value, the same rule as etcd's VALUE compare.
# 1: set; 0: the key held another value; -1: the key is absent.
CAS_SCRIPT = ("local cur = redis.call('GET', KEYS[1]) "
              "if cur == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end "
              "if cur == false then return -1 end return 0")

# How long a discovered primary is trusted before the sentinels are asked again;
# any error on the primary forces a fresh answer at once.
DISCOVERY_TTL = 0.5
SENTINEL_TRY = 0.5  # per-sentinel bound when asking for the primary


def _enc(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"))


def _dec(b: Any) -> Any:
    if b is None:
        return None
    s = b.decode() if isinstance(b, (bytes, bytearray)) else str(b)
    try:
        return json.loads(s)
    except ValueError:
        return s


def _key_name(key: Any) -> str:
    return "default" if key is None else str(key)


def ask_sentinel(conn: Conn, master_name: str, timeout: float) -> tuple[str, int]:
    """The primary address one sentinel believes in (NotSent/Indefinite/Refused on failure)."""
    reply = conn.call("SENTINEL", "get-master-addr-by-name", master_name, timeout=timeout)
    if not reply or len(reply) != 2:
        raise Refused(f"sentinel {conn.host} knows no primary for {master_name!r}")
    host = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
    return host, int(reply[1])


class RedisClient:
    """Primary discovery through sentinels, and outcome classification."""

    def __init__(self, sentinels: Sequence[tuple[str, int]], master_name: str, *,
                 node_name: str | None = None, wait_replicas: int = 0,
                 wait_timeout_ms: int = 1000):
        self.sentinels = [Conn(h, p) for h, p in sentinels]
        self.master_name = master_name
        self.node = node_name or (sentinels[0][0] if sentinels else "?")
        self.wait_replicas = wait_replicas
        self.wait_timeout_ms = wait_timeout_ms
        self._primary: Conn | None = None
        self._found_at = 0.0

    def close(self) -> None:
        for c in self.sentinels:
            c.close()
        if self._primary is not None:
            self._primary.close()

    # -- discovery -------------------------------------------------------------
    def _forget(self) -> None:
        self._found_at = 0.0

    def primary(self, deadline: float) -> Conn:
        now = time.monotonic()
        if self._primary is not None and now - self._found_at < DISCOVERY_TTL:
            return self._primary
        errors = []
        for s in self.sentinels:
            remaining = deadline - time.monotonic()
            if remaining <= 0.01:
                break
            try:
                addr = ask_sentinel(s, self.master_name, min(SENTINEL_TRY, remaining))
            except (NotSent, Indefinite, Refused) as e:
                errors.append(str(e))
                continue
            if self._primary is None or self._primary.addr != addr:
                if self._primary is not None:
                    self._primary.close()
                self._primary = Conn(*addr)
            self._found_at = time.monotonic()
            return self._primary
        raise NotSent("no sentinel named a primary: " + ("; ".join(errors)[:300] or "out of time"))

    # -- dispatch ----------------------------------------------------------------
    def invoke(self, f: str, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        handler = getattr(self, "op_" + f.replace("-", "_"), None)
        if handler is None:
            return FAIL, None, f"unsupported f {f!r} for {type(self).__name__}"
        deadline = time.monotonic() + timeout
        is_read = f == "read"
        try:
            conn = self.primary(deadline)
            return handler(conn, key, value, deadline)
        except NotSent as e:
            self._forget()
            return FAIL, None, str(e)
        except Indefinite as e:
            self._forget()
            return (FAIL if is_read else INFO), None, str(e)
        except Refused as e:
            # READONLY: our primary was demoted; ask the sentinels next time.
            self._forget()
            return FAIL, None, e.message[:300]

    @staticmethod
    def _left(deadline: float) -> float:
        left = deadline - time.monotonic()
        if left <= 0.01:
            raise NotSent("op timeout spent finding the primary")
        return left

    def _after_write(self, conn: Conn, deadline: float, value: Any) -> tuple[str, Any, Any]:
        """WAIT for replicas when asked; fewer acks than asked leaves the outcome unknown."""
        if self.wait_replicas <= 0:
            return OK, value, None
        left = deadline - time.monotonic()
        wait_ms = int(min(self.wait_timeout_ms, max(1.0, (left - 0.05) * 1000)))
        try:
            acked = conn.call("WAIT", self.wait_replicas, wait_ms, timeout=max(0.05, left))
        except (NotSent, Indefinite, Refused) as e:
            self._forget()
            return INFO, None, f"WAIT: {e}"
        if int(acked) < self.wait_replicas:
            return INFO, None, f"WAIT: {int(acked)} of {self.wait_replicas} replicas acknowledged"
        return OK, value, None


class RegisterClient(RedisClient):
    """read/write/cas on one string key per register key."""

    def _k(self, key: Any) -> str:
        return f"sb:r:{_key_name(key)}"

    def op_read(self, conn: Conn, key: Any, value: Any, deadline: float):
        return OK, _dec(conn.call("GET", self._k(key), timeout=self._left(deadline))), None

    def op_write(self, conn: Conn, key: Any, value: Any, deadline: float):
        conn.call("SET", self._k(key), _enc(value), timeout=self._left(deadline))
        return self._after_write(conn, deadline, value)

    def op_cas(self, conn: Conn, key: Any, value: Any, deadline: float):
        old, new = value
        r = conn.call("EVAL", CAS_SCRIPT, 1, self._k(key), _enc(old), _enc(new),
                      timeout=self._left(deadline))
        if int(r) == 1:
            return self._after_write(conn, deadline, value)
        if int(r) == -1 and old is None:
            # an absent key is nil, which the cas expected: it failed without a mismatch
            return FAIL, value, "cas from nil on an absent key"
        # the script compared on the primary inside the op: a genuine observation
        return FAIL, value, CAS_MISMATCH


class SetClient(RedisClient):
    """add = SADD; read = SMEMBERS, always on the primary the sentinels name."""

    def _k(self, key: Any) -> str:
        return f"sb:s:{_key_name(key)}"

    def op_add(self, conn: Conn, key: Any, value: Any, deadline: float):
        conn.call("SADD", self._k(key), _enc(value), timeout=self._left(deadline))
        return self._after_write(conn, deadline, value)

    def op_read(self, conn: Conn, key: Any, value: Any, deadline: float):
        members = conn.call("SMEMBERS", self._k(key), timeout=self._left(deadline)) or []
        return OK, sorted_elements([_dec(m) for m in members]), None


class CounterClient(RedisClient):
    """add = INCRBY (atomic on the primary); read = GET."""

    def _k(self, key: Any) -> str:
        return f"sb:c:{_key_name(key)}"

    def op_add(self, conn: Conn, key: Any, value: Any, deadline: float):
        delta = 1 if value is None else int(value)
        conn.call("INCRBY", self._k(key), delta, timeout=self._left(deadline))
        return self._after_write(conn, deadline, value)

    def op_read(self, conn: Conn, key: Any, value: Any, deadline: float):
        v = conn.call("GET", self._k(key), timeout=self._left(deadline))
        return OK, (0 if v is None else int(v)), None


CLIENTS: dict[str, type[RedisClient]] = {
    "register": RegisterClient,
    "multi-register": RegisterClient,
    "causal-register": RegisterClient,
    "set": SetClient,
    "counter": CounterClient,
}
