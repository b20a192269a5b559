"""Workload clients on a JetStream key-value bucket, over nats-py.

One connection to one server per client, without nats-py's reconnect: its
reconnect buffers publishes while disconnected and sends them later, so an op
reported as failed could still take effect.  A closed connection is opened again
at the next op instead.

Outcome rules (Jepsen's ok / fail / info):
- no connection could be opened (refused, connect timed out): ``fail``, nothing was sent;
- a read that errs or times out is ``fail``: reads change nothing;
- "no responders": the server found no stream listening on the subject, so the
  message reached nobody: ``fail``;
- a cas whose expected last sequence was wrong: ``fail`` with ``cas-mismatch``;
- any other error or timeout once a write was handed to the connection: ``info``;
  before that (connecting, the read half of a cas) it is ``fail``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import nats
import nats.errors
import nats.js.errors

from splitbrain import FAIL, INFO, OK

from .loop import LoopThread

try:
    from splitbrain import CAS_MISMATCH
except ImportError:  # splitbrain before the API exported it: the history format's value
    CAS_MISMATCH = "cas-mismatch"

# JetStream's API error codes for "wrong last sequence" on an expected-sequence
# publish (JSStreamWrongLastSequenceErrF; 10164 is the constant form of newer servers).
_WRONG_LAST_SEQUENCE = (10071, 10164)

# nats-py's own rule for a key (nats.js.kv._is_key_valid): what a subject token allows.
_KEY = re.compile(r"^[-/_=.a-zA-Z0-9]+$")


class NotSent(Exception):
    """The op was refused before anything was sent (no connection, a bad key)."""


def _encode(v: Any) -> bytes:
    return json.dumps(v, separators=(",", ":")).encode()


def _decode(b: bytes) -> Any:
    try:
        return json.loads(b)
    except ValueError:
        return b.decode(errors="replace")


def _error(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:200]


def _is_wrong_last_sequence(e: BaseException) -> bool:
    if isinstance(e, nats.js.errors.KeyWrongLastSequenceError):
        return True
    return isinstance(e, nats.js.errors.APIError) and e.err_code in _WRONG_LAST_SEQUENCE


class KVClient:
    """One connection to one server, one bucket; the ops of a workload are ``op_<f>``."""

    # what a key of the workload becomes inside the bucket
    prefix = ""

    def __init__(self, ip: str, port: int, bucket: str = "splitbrain", *, node_name: str = "",
                 create_replicas: int = 0) -> None:
        """``create_replicas``: create the bucket with that many replicas when it is
        missing (for a cluster started by something else than NatsTarget, such as
        the generic ``process`` target); 0 leaves creating it to the target."""
        self.url = f"nats://{ip}:{port}"
        self.bucket = bucket
        self.stream = f"KV_{bucket}"
        # the node the history records; None lets the target that built the client set it
        self.node = node_name or None
        self.create_replicas = create_replicas
        self._loop = LoopThread(f"nats-client-{node_name or ip}")
        self._nc: Any = None
        self._kv: Any = None
        # Set just before a write is handed to the connection: until then any
        # error (a connect that timed out included) means nothing was sent.
        self._handed = False

    # -- connection --------------------------------------------------------------
    async def _drop(self) -> None:
        nc, self._nc, self._kv = self._nc, None, None
        if nc is not None and not nc.is_closed:
            try:
                await nc.close()
            except Exception:  # noqa: BLE001 - a broken connection closes as well as it can
                pass

    async def _ready(self, timeout: float) -> Any:
        """The bucket handle, connecting first when needed (NotSent if that fails)."""
        if self._nc is not None and self._nc.is_connected and self._kv is not None:
            return self._kv
        await self._drop()

        async def quiet(_e: Exception) -> None:
            # nats-py logs every socket error by default; the op's outcome records it.
            return None

        try:
            # nats-py retries a refused server until max_reconnect_attempts is passed
            # (0 would retry forever, even with allow_reconnect off): 1 means two quick
            # tries, each given half the op's time.
            self._nc = await nats.connect(servers=[self.url], allow_reconnect=False,
                                          max_reconnect_attempts=1, reconnect_time_wait=0,
                                          connect_timeout=max(0.05, timeout / 2),
                                          error_cb=quiet, name=f"splitbrain-{self.node or self.url}")
            js = self._nc.jetstream(timeout=max(0.1, timeout))
            # KeyValue's constructor reads the bucket's stream info (to learn whether
            # gets go direct): a request, but one that changes nothing.
            try:
                self._kv = await js.key_value(self.bucket)
            except nats.js.errors.BucketNotFoundError:
                if not self.create_replicas:
                    raise
                # identical config: a no-op when another client made it first
                self._kv = await js.create_key_value(bucket=self.bucket, history=1,
                                                     replicas=self.create_replicas)
        except Exception as e:  # noqa: BLE001 - any failure here sent no op
            await self._drop()
            raise NotSent(f"not connected: {_error(e)}") from None
        return self._kv

    def _key(self, key: Any) -> str:
        k = f"{self.prefix}{'default' if key is None else key}"
        if not _KEY.match(k):
            raise NotSent(f"key {k!r} is not a valid NATS KV key")
        return k

    # -- ops ---------------------------------------------------------------------
    def invoke(self, f: str, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        handler = getattr(self, "op_" + f.replace("-", "_"), None)
        if handler is None:
            return FAIL, None, f"unsupported f {f!r} for {type(self).__name__}"
        self._handed = False
        try:
            return self._loop.run(handler(key, value, timeout), timeout)
        except NotSent as e:
            return FAIL, None, str(e)
        except (nats.errors.NoRespondersError, nats.js.errors.NoStreamResponseError):
            # a 503 status: the server found no subscriber (no stream leader) for the
            # subject and dropped the message
            return FAIL, None, "no responders: no stream leader took the message"
        except BaseException as e:  # noqa: BLE001 - classify every outcome, never crash a worker
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            # a timeout may leave the connection half-used: start afresh at the next op
            self._loop_drop()
            return (INFO if self._handed else FAIL), None, _error(e)

    def _loop_drop(self) -> None:
        try:
            self._loop.run(self._drop(), 2.0)
        except BaseException:  # noqa: BLE001 - dropping is best effort
            self._nc = self._kv = None

    async def _get(self, k: str) -> tuple[Any, int]:
        """Value and revision of one key (None, 0 when absent or deleted)."""
        try:
            entry = await self._kv.get(k)
        except nats.js.errors.KeyNotFoundError:
            return None, 0
        return _decode(entry.value or b""), int(entry.revision or 0)

    def close(self) -> None:
        try:
            self._loop.run(self._drop(), 2.0)
        except BaseException:  # noqa: BLE001 - close never raises
            pass
        self._loop.close()


class RegisterClient(KVClient):
    """read / write / cas, one KV key per register key (register, multi-register)."""

    prefix = "r."

    async def op_read(self, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        k = self._key(key)
        await self._ready(timeout)
        v, _ = await self._get(k)
        return OK, v, None

    async def op_write(self, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        k = self._key(key)
        kv = await self._ready(timeout)
        self._handed = True
        await kv.put(k, _encode(value))
        return OK, value, None

    async def op_cas(self, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        old, new = value
        k = self._key(key)
        kv = await self._ready(timeout)
        try:
            current, revision = await self._get(k)
        except Exception as e:  # noqa: BLE001 - the read half failed: nothing was written
            return FAIL, value, f"read before update: {_error(e)}"
        if current != old:
            # the stream leader's answer inside the op's window (values are unique,
            # so a different value means a different write): an observation
            return FAIL, value, CAS_MISMATCH
        self._handed = True
        try:
            # KV update = publish with Nats-Expected-Last-Subject-Sequence: the leader
            # refuses it unless the key's last revision is still the one just read.
            await kv.update(k, _encode(new), last=revision)
        except Exception as e:  # noqa: BLE001 - classified below / by invoke
            if _is_wrong_last_sequence(e):
                # a later revision of the key exists, holding another (unique) value
                return FAIL, value, CAS_MISMATCH
            raise
        return OK, value, None


class SetClient(KVClient):
    """Set: each element is its own key ``s.<set>.<element>``; a read lists the
    subjects the stream holds under the set's prefix (stream info, from the leader)."""

    prefix = "s."

    async def op_add(self, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        k = self._key(f"{key}.{value}")
        kv = await self._ready(timeout)
        self._handed = True
        await kv.put(k, b"1")
        return OK, value, None

    async def op_read(self, key: Any, value: Any, timeout: float) -> tuple[str, Any, Any]:
        k = self._key(key)
        await self._ready(timeout)
        subject = f"$KV.{self.bucket}.{k}."
        info = await self._nc.jetstream(timeout=max(0.1, timeout)).stream_info(
            self.stream, subjects_filter=subject + ">")
        subjects = (info.state.subjects or {}) if info.state else {}
        elems = [_decode(s[len(subject):].encode()) for s in subjects]
        try:
            return OK, sorted(elems), None
        except TypeError:
            return OK, sorted(elems, key=repr), None


CLIENTS: dict[str, type[KVClient]] = {
    "register": RegisterClient,
    "multi-register": RegisterClient,
    "set": SetClient,
}
