#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Workloads for the dashboard test. Each mode first moves itself into the
cgroup given as argument, then runs for at most `seconds` (the test ends it
earlier, by PID). The load varies over time so that the rendered dashboards
show changes, not flat lines.
  backend CGROUP SECONDS PORT          TCP echo server on 127.0.0.1:PORT
  frontend CGROUP SECONDS PORT DEAD    CPU, syscalls (ok and failing), page faults,
                                       persistent and new TCP connections to the
                                       backend, failed connects to DEAD (nothing listens)
  batch CGROUP SECONDS FILE MIB        CPU bursts (two processes) and, during them,
                                       reads of FILE (MIB MiB, created first) with the
                                       page cache dropped after each pass: real disk
                                       reads, and memory-cgroup reclaim where the
                                       container's memory limit is below MIB
"""
import ctypes
import math
import mmap
import os
import signal
import socket
import sys
import threading
import time


def join(cgroup):
    with open(os.path.join(cgroup, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))


def wave(t0, period):
    """0..1, a sine of the given period (seconds) since t0."""
    return 0.5 + 0.5 * math.sin(2 * math.pi * (time.time() - t0) / period)


def backend(port, end):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    s.settimeout(0.5)

    def handle(c):
        with c:
            try:
                while True:
                    d = c.recv(65536)
                    if not d:
                        return
                    c.sendall(d)
            except OSError:
                return
    while time.time() < end:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def exchange(c, payload):
    c.sendall(payload)
    got = 0
    while got < len(payload):
        d = c.recv(65536)
        if not d:
            raise OSError("closed")
        got += len(d)


def frontend(port, dead, end):
    t0 = time.time()
    payload = b"x" * 16384
    fill = memoryview(b"\1" * (8 << 20))
    pool = []
    while time.time() < end:
        w = wave(t0, 90)
        t = time.time() + 0.01 + 0.05 * w
        while time.time() < t:  # CPU
            sum(range(1000))
        for _ in range(100 + int(300 * w)):
            os.getppid()
        try:
            open("/nonexistent/cgsight-dashboards", "rb")
        except OSError:
            pass
        # Fresh anonymous pages, written: page faults (malloc would reuse its heap).
        with mmap.mmap(-1, (2 + int(6 * w)) << 20) as m:
            m.write(fill[:len(m)])
        # A few long-lived connections (established), and a new one per round.
        try:
            while len(pool) < 2 + int(4 * w):
                pool.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            while len(pool) > 2 + int(4 * w):
                pool.pop().close()
            for c in pool:
                exchange(c, payload[:1024])
            with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
                exchange(c, payload)
        except OSError:
            for c in pool:
                c.close()
            pool = []
        try:
            socket.create_connection(("127.0.0.1", dead), timeout=1).close()
        except OSError:
            pass
        time.sleep(0.02 + 0.05 * (1 - w))


def batch(path, mib, end):
    chunk = 1 << 20
    with open(path, "wb") as f:
        for _ in range(mib):
            f.write(os.urandom(chunk))
        f.flush()
        os.fsync(f.fileno())
    child = os.fork()
    if child == 0:  # a second burner in the same cgroup, ended with its parent
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(0)
        while time.time() < end:
            if int(time.time()) % 30 < 15:
                sum(range(10000))
            else:
                time.sleep(0.2)
        os._exit(0)

    def stop(*_):
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    fd = os.open(path, os.O_RDONLY)
    while time.time() < end:
        if int(time.time()) % 30 >= 15:  # idle half of the cycle
            time.sleep(0.2)
            continue
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.lseek(fd, 0, os.SEEK_SET)
        while time.time() < end and os.read(fd, chunk):
            t = time.time() + 0.02
            while time.time() < t:  # CPU between reads
                sum(range(1000))
            time.sleep(0.1)  # about 8 MiB/s: the disk is shared
    os.close(fd)
    stop()


def main():
    mode, cgroup, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    join(cgroup)
    end = time.time() + seconds
    if mode == "backend":
        backend(int(sys.argv[4]), end)
    elif mode == "frontend":
        frontend(int(sys.argv[4]), int(sys.argv[5]), end)
    elif mode == "batch":
        batch(sys.argv[4], int(sys.argv[5]), end)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
