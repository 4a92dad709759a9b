#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Workloads for the dashboard test. Each mode first moves itself into the
cgroup given as argument, then runs for `seconds`:
  server CGROUP SECONDS PORT        TCP echo server on 127.0.0.1:PORT
  client CGROUP SECONDS PORT DEAD   CPU, syscalls (ok and failing), page faults,
                                    TCP exchanges with the server, failed connects to DEAD
"""
import os
import socket
import sys
import threading
import time


def join(cgroup):
    with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))


def server(port, end):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(64)
    s.settimeout(0.5)

    def handle(c):
        with c:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)
    while time.time() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def client(port, dead, end):
    payload = b"x" * 16384
    while time.time() < end:
        t = time.time() + 0.05
        while time.time() < t:  # CPU
            sum(range(1000))
        for _ in range(200):
            os.getppid()
        try:
            open("/nonexistent/cgsight-dashboards", "rb")
        except OSError:
            pass
        bytearray(4 * 1024 * 1024)  # fresh pages: page faults
        time.sleep(0.002)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                c.sendall(payload)
                got = 0
                while got < len(payload):
                    got += len(c.recv(65536))
        except OSError:
            pass
        try:
            socket.create_connection(("127.0.0.1", dead), timeout=1).close()
        except OSError:
            pass


def main():
    mode, cgroup, seconds, port = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    join(cgroup)
    end = time.time() + seconds
    if mode == "server":
        server(port, end)
    else:
        client(port, int(sys.argv[5]), end)


if __name__ == "__main__":
    main()
