#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""TCP workloads with exact byte and connection counts for the net and tcp
integration tests. Every command first moves this process into the cgroup
given with --cgroup (writes its pid to cgroup.procs), so every socket it
opens belongs to that cgroup. Run it under `nsenter --net=...` to place it in
a network namespace (nsenter leaves the mounts, hence the cgroup2 tree,
alone).

  serve    --bind A --port P --conns N [--ready F] [--out F]
           accept N connections, read each to EOF; write the byte total to F
  send     --host H --port P --bytes N
           send exactly N bytes on one connection, wait for the peer to close;
           prints "mss=<TCP_MAXSEG after connect> mss_end=<after sending>"
  connect  --host H --port P --count N --hold F --release F
           open N connections, write F, wait for F2 to exist, close them all
  refuse   --host H --port P --count N
           N connects to a closed port; prints "refused=<n>"

Addresses may be IPv6 (--bind ::1, --host ::1 or ::ffff:127.0.0.1).
"""
import argparse
import os
import selectors
import socket
import sys
import time


def join_cgroup(path):
    if path:
        with open(os.path.join(path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))


def write_file(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(a):
    ls = socket.socket(family(a.bind), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((a.bind, a.port))
    ls.listen(1024)
    ls.setblocking(False)
    if a.ready:
        write_file(a.ready, "ready\n")
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    accepted = done = total = 0
    while done < a.conns:
        for key, _ in sel.select(timeout=60):
            if key.data is None:
                while accepted < a.conns:
                    try:
                        c, _ = ls.accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    sel.register(c, selectors.EVENT_READ, "c")
                    accepted += 1
                if accepted >= a.conns:
                    sel.unregister(ls)
                continue
            c = key.fileobj
            try:
                b = c.recv(1 << 20)
            except BlockingIOError:
                continue
            except ConnectionError:
                b = b""
            if b:
                total += len(b)
                continue
            sel.unregister(c)
            c.close()
            done += 1
    ls.close()
    if a.out:
        write_file(a.out, "%d\n" % total)


def send(a):
    s = socket.create_connection((a.host, a.port))
    mss = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
    chunk = b"x" * (1 << 16)
    left = a.bytes
    while left > 0:
        n = s.send(chunk[: min(left, len(chunk))])
        left -= n
    mss_end = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
    s.shutdown(socket.SHUT_WR)
    while s.recv(1 << 16):
        pass
    s.close()
    print("mss=%d mss_end=%d" % (mss, mss_end))


def connect(a):
    socks = [socket.create_connection((a.host, a.port)) for _ in range(a.count)]
    write_file(a.hold, "%d\n" % len(socks))
    deadline = time.time() + 120
    while not os.path.exists(a.release) and time.time() < deadline:
        time.sleep(0.02)
    for s in socks:
        s.close()


def refuse(a):
    refused = 0
    for _ in range(a.count):
        s = socket.socket(family(a.host), socket.SOCK_STREAM)
        try:
            s.connect((a.host, a.port))
        except ConnectionRefusedError:
            refused += 1
        finally:
            s.close()
    print("refused=%d" % refused)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["serve", "send", "connect", "refuse"])
    p.add_argument("--cgroup")
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--conns", type=int, default=1)
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--ready")
    p.add_argument("--out")
    p.add_argument("--hold")
    p.add_argument("--release")
    a = p.parse_args()
    join_cgroup(a.cgroup)
    {"serve": serve, "send": send, "connect": connect, "refuse": refuse}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
