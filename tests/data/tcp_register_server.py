"""A tiny TCP register server for the process target's tests (client: tcp_register_client.py).

Written for splitbrain (Apache-2.0).  One line per request, one per reply:
``r KEY`` -> ``v VALUE`` | ``nil``; ``w KEY VALUE`` -> ``ok``; ``c KEY OLD NEW``
-> ``ok`` | ``mismatch``.  Each server is one copy of its own: several nodes
share nothing, so a register test across them must be found not linearizable.
State is written (fsynced, renamed) to DATA_DIR/state.json before a write is
acknowledged, so a single node survives kill -9.

    python3 tcp_register_server.py PORT DATA_DIR
"""

from __future__ import annotations

import json
import os
import socketserver
import sys
import threading
from typing import Any

def serve(port: int, data_dir: str) -> None:
    path = os.path.join(data_dir, "state.json")
    state: dict[str, str] = json.load(open(path)) if os.path.exists(path) else {}
    lock = threading.Lock()

    def persist() -> None:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            for raw in self.rfile:
                words = raw.decode().split()
                with lock:
                    if words[:1] == ["r"]:
                        v = state.get(words[1])
                        reply = "nil" if v is None else f"v {v}"
                    elif words[:1] == ["w"]:
                        state[words[1]] = words[2]
                        persist()
                        reply = "ok"
                    elif words[:1] == ["c"] and state.get(words[1]) == words[2]:
                        state[words[1]] = words[3]
                        persist()
                        reply = "ok"
                    else:
                        reply = "mismatch"
                self.wfile.write(reply.encode() + b"\n")

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    socketserver.ThreadingTCPServer.daemon_threads = True
    with socketserver.ThreadingTCPServer(("0.0.0.0", port), Handler) as srv:
        srv.serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
