#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A minimal acking Fluentd Forward sink (python3-msgpack) for the log
benchmark and for quick checks: answers {"ack": chunk} for every frame that
asks for one, counts records (the frame's "size" option, or the decoded
entries with --decode) and bytes, and prints a JSON summary line on SIGTERM
or when --expect records have arrived. With --out FILE every entry is
written as a JSON line {"tag", "time", "record"} (implies --decode).

usage: logs_sink.py --port N [--expect N] [--decode] [--out FILE] [--no-ack]
"""
import argparse, gzip, json, os, signal, socket, selectors, sys, time
import msgpack


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--expect", type=int, default=0)
    ap.add_argument("--decode", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--no-ack", action="store_true")
    ap.add_argument("--ready-file")
    a = ap.parse_args()
    decode = a.decode or a.out
    out = open(a.out, "a") if a.out else None
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(64)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    st = {"records": 0, "frames": 0, "bytes": 0, "first": None, "last": None}
    done = [False]
    signal.signal(signal.SIGTERM, lambda *_: done.__setitem__(0, True))
    signal.signal(signal.SIGINT, lambda *_: done.__setitem__(0, True))
    if a.ready_file:
        open(a.ready_file, "w").write(str(os.getpid()))
    unpackers = {}
    while not done[0]:
        for key, _ in sel.select(0.2):
            s = key.fileobj
            if s is ls:
                c, _ = ls.accept()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                unpackers[c] = msgpack.Unpacker(raw=False, max_buffer_size=1 << 30)
                continue
            try:
                data = s.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
                unpackers.pop(s, None)
                continue
            st["bytes"] += len(data)
            up = unpackers[s]
            up.feed(data)
            for msg in up:
                if not isinstance(msg, list) or len(msg) < 2:
                    continue
                tag, body = msg[0], msg[1]
                opt = msg[2] if len(msg) > 2 and isinstance(msg[2], dict) else {}
                n = opt.get("size", 0)
                if decode and isinstance(body, (bytes, bytearray)):
                    if opt.get("compressed") == "gzip":
                        body = gzip.decompress(body)
                    n = 0
                    for ent in entries(body):
                        n += 1
                        if out:
                            t, rec = ent
                            out.write(json.dumps({"tag": tag, "time": t, "record": rec}) + "\n")
                st["records"] += n
                st["frames"] += 1
                now = time.monotonic()
                if st["first"] is None:
                    st["first"] = now
                st["last"] = now
                if out:
                    out.flush()  # readers poll the file while we run
                if "chunk" in opt and not a.no_ack:
                    try:
                        s.sendall(msgpack.packb({"ack": opt["chunk"]}))
                    except OSError:
                        pass
            if a.expect and st["records"] >= a.expect:
                done[0] = True
    if out:
        out.close()
    span = (st["last"] - st["first"]) if st["first"] is not None else 0
    print(json.dumps({"records": st["records"], "frames": st["frames"], "bytes": st["bytes"],
                      "seconds": round(span, 6)}), flush=True)


def ext(code, data):
    if code == 0 and len(data) == 8:
        return int.from_bytes(data[:4], "big") + int.from_bytes(data[4:], "big") / 1e9
    return msgpack.ExtType(code, data)


def entries(body):
    up = msgpack.Unpacker(raw=False, ext_hook=ext, max_buffer_size=1 << 30)
    up.feed(body)
    return up


if __name__ == "__main__":
    main()
