#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A scriptable faulty Fluentd Forward server (python3-msgpack) for the log
pipeline's fault-injection tests, and the checks that compare what it
acknowledged with the log files the test wrote.

serve --port N [--ready F] --out F [--stats F] --mode MODE [--delay S] [--frames-per-conn N] [--ack-first N]
  MODE  ack       acknowledges every frame at once (a healthy server)
        noack     reads every frame, never acknowledges
        badack    answers every frame with a wrong ack: an id of another
                  agent, an id with our prefix but a sequence never sent,
                  and a string that is no chunk id at all, in turn
        midframe  acknowledges --frames-per-conn frames per connection, then
                  closes (RST) the connection in the middle of the next frame
        slow      acknowledges each frame --delay seconds after it arrived
  --ack-first N: the first N frames are acknowledged at once whatever the mode.
  SIGUSR1 heals the server: from then on it acknowledges every frame at once
  (frames received unacknowledged before stay so: the client must resend).
  SIGTERM/SIGINT: flush, exit 0.
  Only acknowledged entries are delivered: each is appended to --out as a
  JSON line {"tag", "time": [s, ns], "record", "chunk"} when its ack is
  written. --stats is rewritten after every frame (JSON counters).

check --out F --root R [--dropped-bytes N]
  The ground truth is the CRI files under R/var/log/pods (what the test
  wrote, read back from disk): every line must have been delivered with its
  exact message, stream, timestamp and pod, at least once, unless the
  bytes of the lines missing are counted as dropped (--dropped-bytes, from
  cgsight_logs_dropped_bytes_total). A delivered record that was never
  written is always a failure. Prints a JSON summary; exit 1 on failure.

offsets --out F --root R --pos POSFILE
  For every file: the offset the agent committed (the position file) must
  be the end of the longest prefix of the file's lines the server
  acknowledged: nothing unacknowledged committed, nothing acknowledged left
  out. Prints a JSON summary; exit 1 on failure.
"""
import argparse, base64, gzip, json, os, selectors, signal, socket, struct, sys, time
import msgpack

READ = 16384  # small reads: a frame is seen in pieces, so a close can land inside one


def ext(code, data):
    if code == 0 and len(data) == 8:
        return [int.from_bytes(data[:4], "big"), int.from_bytes(data[4:], "big")]
    return msgpack.ExtType(code, data)


def frame_entries(body, opt):
    if isinstance(body, list):  # Forward mode
        return body
    if opt.get("compressed") == "gzip":
        body = gzip.decompress(body)
    up = msgpack.Unpacker(raw=False, ext_hook=ext, max_buffer_size=1 << 30)
    up.feed(body)
    return list(up)


def wrong_ack(chunk, n):
    """Three kinds of wrong ids, in turn."""
    kind = n % 3
    if kind == 0:
        return base64.b64encode(os.urandom(16)).decode()  # another agent's id
    if kind == 1:
        try:
            raw = bytearray(base64.b64decode(chunk))
            raw[8] ^= 0x80  # our prefix, a sequence number never sent
            return base64.b64encode(bytes(raw)).decode()
        except Exception:
            return "AAAAAAAAAAAAAAAAAAAAAA=="
    return "not-a-chunk-id"


class Server:
    def __init__(self, a):
        self.a = a
        self.mode = a.mode
        self.out = open(a.out, "a")
        self.sel = selectors.DefaultSelector()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", a.port))
        self.ls.listen(64)
        self.ls.setblocking(False)
        self.sel.register(self.ls, selectors.EVENT_READ)
        self.conns = {}    # socket -> {"up": Unpacker, "frames": n}
        self.pending = []  # slow acks: [due, socket, chunk, tag, entries]
        self.st = {"connections": 0, "frames": 0, "acks": 0, "acked_entries": 0, "bad_acks": 0,
                   "midframe_closes": 0, "unacked_frames": 0, "mode": self.mode}
        self.done = False
        self.heal = False
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "done", True))
        signal.signal(signal.SIGINT, lambda *_: setattr(self, "done", True))
        signal.signal(signal.SIGUSR1, lambda *_: setattr(self, "heal", True))
        if a.ready:
            with open(a.ready + ".tmp", "w") as f:
                f.write(str(self.ls.getsockname()[1]))
            os.rename(a.ready + ".tmp", a.ready)

    def stats(self):
        if self.a.stats:
            with open(self.a.stats + ".tmp", "w") as f:
                json.dump(self.st, f)
            os.rename(self.a.stats + ".tmp", self.a.stats)

    def close(self, s, rst=False):
        if s not in self.conns:
            return
        self.sel.unregister(s)
        del self.conns[s]
        if rst:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()

    def ack(self, s, chunk, tag, entries):
        try:
            s.sendall(msgpack.packb({"ack": chunk}))
        except OSError:
            return  # not acknowledged: not delivered
        for t, rec in entries:
            self.out.write(json.dumps({"tag": tag, "time": t, "record": rec, "chunk": chunk}) + "\n")
        self.out.flush()
        self.st["acks"] += 1
        self.st["acked_entries"] += len(entries)

    def frame(self, s, msg):
        if not isinstance(msg, list) or len(msg) < 2:
            return
        tag, body = msg[0], msg[1]
        opt = msg[2] if len(msg) > 2 and isinstance(msg[2], dict) else {}
        entries = frame_entries(body, opt)
        chunk = opt.get("chunk")
        self.st["frames"] += 1
        self.conns[s]["frames"] += 1
        if chunk is None:
            return
        if self.mode == "ack" or self.mode == "midframe" or self.st["acks"] < self.a.ack_first:
            self.ack(s, chunk, tag, entries)
        elif self.mode == "slow":
            self.pending.append([time.monotonic() + self.a.delay, s, chunk, tag, entries])
        elif self.mode == "badack":
            try:
                s.sendall(msgpack.packb({"ack": wrong_ack(chunk, self.st["bad_acks"])}))
                self.st["bad_acks"] += 1
            except OSError:
                pass
            self.st["unacked_frames"] += 1
        else:
            self.st["unacked_frames"] += 1

    def readable(self, s):
        c = self.conns[s]
        try:
            data = s.recv(READ)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.close(s)
            return
        up = c["up"]
        if self.mode == "midframe" and c["frames"] >= self.a.frames_per_conn:
            up.feed(data)
            try:
                up.unpack()
                complete = True
            except msgpack.OutOfData:
                complete = False
            if not complete:
                self.st["midframe_closes"] += 1
                self.close(s, rst=True)
                self.stats()
                return
            # A whole frame in one read (small frames): handled, the close waits for a piece.
            self.close(s, rst=True)
            return
        up.feed(data)
        for msg in up:
            self.frame(s, msg)
        self.stats()

    def run(self):
        while not self.done:
            if self.heal:
                self.heal = False
                self.mode = self.st["mode"] = "ack"
                self.stats()
            timeout = 0.2
            if self.pending:
                timeout = max(0.0, min(timeout, self.pending[0][0] - time.monotonic()))
            for key, _ in self.sel.select(timeout):
                s = key.fileobj
                if s is self.ls:
                    try:
                        c, _ = self.ls.accept()
                    except OSError:
                        continue
                    c.setblocking(False)
                    self.sel.register(c, selectors.EVENT_READ)
                    self.conns[c] = {"up": msgpack.Unpacker(raw=False, max_buffer_size=1 << 30), "frames": 0}
                    self.st["connections"] += 1
                elif s in self.conns:
                    self.readable(s)
            now = time.monotonic()
            while self.pending and self.pending[0][0] <= now:
                _, s, chunk, tag, entries = self.pending.pop(0)
                if s in self.conns:
                    s.setblocking(True)
                    self.ack(s, chunk, tag, entries)
                    s.setblocking(False)
                    self.stats()
        self.stats()
        self.out.close()


# ---- checks ---------------------------------------------------------------------------

def cri_lines(path):
    """(start offset, end offset, time [s, ns], stream, message) of each complete CRI line."""
    out, off = [], 0
    with open(path, "rb") as f:
        data = f.read()
    for raw in data.split(b"\n")[:-1]:
        line = raw.decode()
        ts, stream, _tag, msg = line.split(" ", 3)
        out.append((off, off + len(raw) + 1, ts, stream, msg))
        off += len(raw) + 1
    return out


def cri_time(ts):
    """RFC 3339 UTC with nanoseconds -> [s, ns]."""
    import calendar
    day, frac = ts.rstrip("Z").split(".")
    sec = calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S"))
    return [sec, int(frac.ljust(9, "0")[:9])]


def written(root):
    """{pod: (path, [lines])} for every CRI file under root's var/log/pods."""
    files = {}
    base = os.path.join(root, "var/log/pods")
    for d in sorted(os.listdir(base)):
        ns, pod, _uid = d.split("_", 2)
        for cont in os.listdir(os.path.join(base, d)):
            for name in os.listdir(os.path.join(base, d, cont)):
                p = os.path.join(base, d, cont, name)
                files.setdefault(pod, []).append((p, cri_lines(p)))
    return files


def delivered(out):
    got = {}
    for line in open(out):
        e = json.loads(line)
        pod = e["record"].get("kubernetes", {}).get("pod_name", "")
        key = (e["record"].get("log"), e["record"].get("stream"), tuple(e["time"]))
        got.setdefault(pod, {})
        got[pod][key] = got[pod].get(key, 0) + 1
    return got


def check(a):
    files, got = written(a.root), delivered(a.out)
    n = missing = missing_bytes = dups = unexpected = 0
    examples = []
    for pod, fl in files.items():
        want = {}
        for _p, lines in fl:
            for s, e, ts, stream, msg in lines:
                want[(msg, stream, tuple(cri_time(ts)))] = e - s
        n += len(want)
        have = got.get(pod, {})
        for k, size in want.items():
            c = have.get(k, 0)
            if not c:
                missing += 1
                missing_bytes += size
                if len(examples) < 3:
                    examples.append({"missing": [pod, k[0][:60]]})
            dups += max(0, c - 1)
        for k in have:
            if k not in want:
                unexpected += 1
                if len(examples) < 3:
                    examples.append({"unexpected": [pod, str(k)[:80]]})
    for pod in got:
        if pod not in files:
            unexpected += sum(got[pod].values())
    r = {"written": n, "missing": missing, "missing_bytes": missing_bytes, "dropped_bytes": a.dropped_bytes,
         "duplicates": dups, "unexpected": unexpected}
    if examples:
        r["examples"] = examples
    print(json.dumps(r))
    sys.exit(0 if unexpected == 0 and missing_bytes <= a.dropped_bytes else 1)


def offsets(a):
    files, got = written(a.root), delivered(a.out)
    pos = {}
    for line in open(a.pos):
        if line.startswith("#") or not line.strip():
            continue
        f = line.split(" ", 6)
        pos[int(f[1])] = int(f[4])  # inode -> committed offset
    bad, checked, total = [], 0, 0
    for pod, fl in files.items():
        have = got.get(pod, {})
        for p, lines in fl:
            acked = 0
            for s, e, ts, stream, msg in lines:
                if not have.get((msg, stream, tuple(cri_time(ts)))):
                    break
                acked = e
            committed = pos.get(os.stat(p).st_ino, 0)
            checked += 1
            total += committed
            if committed != acked:
                bad.append({"file": p, "committed": committed, "acked_prefix": acked, "size": os.path.getsize(p)})
    print(json.dumps({"files": checked, "committed_bytes": total, "mismatches": bad[:5]}))
    sys.exit(0 if not bad and checked else 1)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--ready")
    s.add_argument("--out", required=True)
    s.add_argument("--stats")
    s.add_argument("--mode", choices=["ack", "noack", "badack", "midframe", "slow"], default="ack")
    s.add_argument("--delay", type=float, default=1.0)
    s.add_argument("--frames-per-conn", type=int, default=2)
    s.add_argument("--ack-first", type=int, default=0)
    c = sub.add_parser("check")
    c.add_argument("--out", required=True)
    c.add_argument("--root", required=True)
    c.add_argument("--dropped-bytes", type=int, default=0)
    o = sub.add_parser("offsets")
    o.add_argument("--out", required=True)
    o.add_argument("--root", required=True)
    o.add_argument("--pos", required=True)
    a = ap.parse_args()
    if a.cmd == "serve":
        Server(a).run()
    elif a.cmd == "check":
        check(a)
    else:
        offsets(a)


if __name__ == "__main__":
    main()
