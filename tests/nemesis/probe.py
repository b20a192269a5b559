"""Run on a node: TCP-connect or UDP-send to each address given, print JSON results.

argv: mode (tcp|udp|request) port timeout token addr...
"""

import json
import socket
import sys
import threading

mode, port, timeout, token = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
addrs = sys.argv[5:]
out = {}


def one(addr: str) -> None:
    try:
        if mode == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            count = int(token.split(":")[1]) if ":" in token else 1
            for i in range(count):
                s.sendto(f"{token.split(':')[0]}-{i}".encode(), (addr, port))
            s.close()
            out[addr] = "sent"
            return
        c = socket.create_connection((addr, port), timeout=timeout)
        if mode == "request":
            c.settimeout(timeout)
            c.sendall(b"ping\n")
            reply = c.recv(100)
            out[addr] = reply.decode().strip() or "closed"
        else:
            out[addr] = "ok"
        c.close()
    except socket.timeout:
        out[addr] = "timeout"
    except OSError as e:
        out[addr] = f"error {e.errno}"


threads = [threading.Thread(target=one, args=(a,)) for a in addrs]
for t in threads:
    t.start()
for t in threads:
    t.join(timeout + 2)
print(json.dumps(out))
