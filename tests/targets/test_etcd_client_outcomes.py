"""How the etcd client classifies outcomes, against real loopback sockets: a
request that never left is fail, a write that may have arrived is info, a read
is never info, and every call returns within its timeout."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from targets.etcd.client import CounterClient, RegisterClient


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def silent_server():
    """Accepts connections and reads requests but never answers (a hung member)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    conns = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                conns.append(c)
            except OSError:
                continue
    th = threading.Thread(target=accept, daemon=True)
    th.start()
    yield srv.getsockname()[1]
    stop.set()
    th.join(2)
    for c in conns:
        c.close()
    srv.close()


@pytest.fixture
def error_server():
    """Answers every POST with an etcd-style gateway error."""
    class H(BaseHTTPRequestHandler):
        message = "etcdserver: request timed out"

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.dumps({"error": H.message, "code": 14, "message": H.message}).encode()
            self.send_response(503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield srv.server_address[1], H
    srv.shutdown()
    srv.server_close()


def test_refused_is_fail_for_every_f():
    c = RegisterClient("127.0.0.1", _closed_port())
    for f, v in (("read", None), ("write", 1), ("cas", [1, 2])):
        typ, _, err = c.invoke(f, "k", v, 1.0)
        assert typ == "fail" and "refused" in err


def test_hung_member_write_is_info_read_is_fail_within_timeout(silent_server):
    c = RegisterClient("127.0.0.1", silent_server)
    for f, v, want in (("write", 1, "info"), ("cas", [1, 2], "info"), ("read", None, "fail")):
        t0 = time.monotonic()
        typ, _, err = c.invoke(f, "k", v, 0.5)
        took = time.monotonic() - t0
        assert (typ, err) == (want, "timeout")
        assert 0.4 < took < 1.0


def test_server_errors(error_server):
    port, handler = error_server
    c = RegisterClient("127.0.0.1", port)
    assert c.invoke("write", "k", 1, 1.0)[0] == "info"       # may have been proposed
    assert c.invoke("read", "k", None, 1.0)[0] == "fail"
    handler.message = "etcdserver: too many requests"          # refused before raft
    assert c.invoke("write", "k", 1, 1.0) == ("fail", None, "etcdserver: too many requests")
    # a cas refused before raft failed, but compared nothing: not a cas-mismatch
    assert c.invoke("cas", "k", [1, 2], 1.0) == ("fail", None, "etcdserver: too many requests")
    # the quota error comes after etcd applied the write: it may be there
    handler.message = "etcdserver: mvcc: database space exceeded"
    assert c.invoke("write", "k", 1, 1.0)[0] == "info"
    assert c.invoke("cas", "k", [1, 2], 1.0)[0] == "info"


def test_counter_add_read_half_failing_is_definite(silent_server):
    c = CounterClient("127.0.0.1", silent_server)
    typ, _, err = c.invoke("add", "c", 1, 0.3)
    assert typ == "fail" and "read before txn" in err


def test_read_mode_is_checked():
    with pytest.raises(ValueError, match="read_mode"):
        RegisterClient("127.0.0.1", 1, read_mode="eventual")
