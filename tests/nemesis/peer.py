"""A tiny real server for the nemesis acceptance tests, run on a node.

TCP: answers each line with "pong <boots>\n".  UDP: appends "<src-ip> <payload>" to a
log file, so a test can tell exactly which direction packets flowed.  On start it
appends a line to <data>/boots, so a restart can be shown to keep its data.
"""

import os
import socket
import sys
import threading


def main() -> None:
    port = int(sys.argv[1])
    data = sys.argv[2]
    udp_log = sys.argv[3] if len(sys.argv) > 3 else ""
    boots_path = os.path.join(data, "boots")
    try:
        with open(boots_path, "a") as f:
            f.write("boot\n")
        with open(boots_path) as f:
            boots = len(f.read().splitlines())
    except OSError:
        boots = -1

    def tcp() -> None:
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("0.0.0.0", port))
        srv.listen(64)
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                f = conn.makefile("rb")
                for _line in f:
                    conn.sendall(f"pong {boots}\n".encode())
            except OSError:
                pass

    def udp() -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", port))
        with open(udp_log, "a", buffering=1) as log:
            while True:
                payload, (src, _) = s.recvfrom(2048)
                log.write(f"{src} {payload.decode(errors='replace')}\n")

    threads = [threading.Thread(target=tcp, daemon=True)]
    if udp_log:
        threads.append(threading.Thread(target=udp, daemon=True))
    for t in threads:
        t.start()
    print("ready", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
