"""Length-prefixed pickles over pipes, between the checker and its pool workers."""

from __future__ import annotations

import pickle
import struct
from typing import Any, BinaryIO


def send(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack("<Q", len(data)))
    stream.write(data)
    stream.flush()


def recv(stream: BinaryIO) -> Any:
    head = stream.read(8)
    if len(head) < 8:
        return None
    (n,) = struct.unpack("<Q", head)
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            raise EOFError("pool pipe closed mid-message")
        buf += chunk
    return pickle.loads(bytes(buf))
