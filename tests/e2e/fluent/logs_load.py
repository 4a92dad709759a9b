#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Load and check for the log pipeline tests.

write: writes CRI lines into a Kubernetes node layout under ROOT
  (var/log/pods/<ns>_<pod>_<uid>/<container>/0.log, linked from
  var/log/containers/<pod>_<ns>_<container>-<id>.log), round-robin over FILES
  files at RATE lines/s, and rotates every file every ROTATE lines written in
  total: by rename + create (as kubelet does) and by copytruncate
  (as logrotate does), alternately. Each line says "run=R f=K n=SEQ".

check: reads the JSON lines a Forward server wrote and checks, per file, that
  every line of run R arrived (at least once), how many arrived more than
  once, whether they arrived in order, and that each record carries the
  metadata of its file. Prints a JSON summary; exit 1 when a check fails.
"""
import argparse, json, os, shutil, sys, time

PAD = "x" * 120


def layout(root, k):
    ns, pod, cont = "ns%d" % (k % 3), "pod-%d" % k, "app"
    uid = "%08x-0000-4000-8000-%012x" % (k, k)
    cid = ("%064x" % (0xC0FFEE0000 + k))
    pdir = os.path.join(root, "var/log/pods", "%s_%s_%s" % (ns, pod, uid), cont)
    link = os.path.join(root, "var/log/containers", "%s_%s_%s-%s.log" % (pod, ns, cont, cid))
    return ns, pod, uid, cont, cid, pdir, link


def write(a):
    os.makedirs(os.path.join(a.root, "var/log/containers"), exist_ok=True)
    files = []
    for k in range(a.files):
        ns, pod, uid, cont, cid, pdir, link = layout(a.root, k)
        os.makedirs(pdir, exist_ok=True)
        path = os.path.join(pdir, "0.log")
        if not os.path.lexists(link):
            os.symlink(path, link)
        files.append([path, open(path, "a", buffering=1 << 16), 0])
    written, gen, t0 = 0, 0, time.monotonic()
    batch = max(1, a.rate // 100)
    while written < a.lines:
        for _ in range(min(batch, a.lines - written)):
            f = files[written % a.files]
            t = time.time_ns()
            f[1].write("%s.%09dZ stdout F run=%s f=%d n=%d %s\n" % (
                time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 10**9)), t % 10**9,
                a.run, written % a.files, f[2], PAD))
            f[2] += 1
            written += 1
            if a.rotate and written % a.rotate == 0 and written < a.lines:
                gen += 1
                for g in files:
                    g[1].flush()
                    old = "%s.%d" % (g[0], gen)
                    if gen % 2:  # rename + create
                        g[1].close()
                        os.rename(g[0], old)
                        g[1] = open(g[0], "a", buffering=1 << 16)
                    else:  # copytruncate: the writer keeps its (O_APPEND) file
                        shutil.copyfile(g[0], old)
                        os.truncate(g[0], 0)
        for f in files:
            f[1].flush()
        ahead = written / a.rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)
    for f in files:
        f[1].close()
    print(json.dumps({"written": written, "rotations": gen, "seconds": round(time.monotonic() - t0, 2)}))


def check(a):
    seen = {}  # file -> list of n in arrival order
    bad_meta = 0
    for line in open(a.out):
        e = json.loads(line)
        log = e["record"].get("log", "")
        parts = log.split(" ")
        if len(parts) < 3 or parts[0] != "run=" + a.run:
            continue
        k, n = int(parts[1][2:]), int(parts[2][2:])
        seen.setdefault(k, []).append(n)
        ns, pod, uid, cont, cid, _, _ = layout("", k)
        m = e["record"].get("kubernetes", {})
        if (e["tag"] != "kube.%s.%s.%s" % (ns, pod, cont) or m.get("namespace_name") != ns or
                m.get("pod_name") != pod or m.get("pod_id") != uid or m.get("container_name") != cont or
                m.get("docker_id") != cid or e["record"].get("stream") != "stdout" or
                (a.node and m.get("host") != a.node)):
            bad_meta += 1
    received = sum(len(v) for v in seen.values())
    missing = dups = disorder = 0
    for k in range(a.files):
        got = seen.get(k, [])
        want = a.lines // a.files + (1 if k < a.lines % a.files else 0)
        s = set(got)
        missing += sum(1 for n in range(want) if n not in s)
        dups += len(got) - len(s)
        disorder += sum(1 for i in range(1, len(got)) if got[i] <= got[i - 1])
    r = {"received": received, "missing": missing, "duplicates": dups, "out_of_order": disorder,
         "bad_metadata": bad_meta}
    print(json.dumps(r))
    ok = (missing == 0 and bad_meta == 0 and (a.max_dups < 0 or dups <= a.max_dups) and
          (not a.in_order or disorder == 0))
    sys.exit(0 if ok else 1)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write")
    w.add_argument("--root", required=True)
    w.add_argument("--files", type=int, default=50)
    w.add_argument("--lines", type=int, default=100000)
    w.add_argument("--rotate", type=int, default=10000)
    w.add_argument("--rate", type=int, default=20000)
    w.add_argument("--run", required=True)
    c = sub.add_parser("check")
    c.add_argument("--out", required=True)
    c.add_argument("--run", required=True)
    c.add_argument("--files", type=int, default=50)
    c.add_argument("--lines", type=int, default=100000)
    c.add_argument("--max-dups", type=int, default=0)
    c.add_argument("--in-order", action="store_true")
    c.add_argument("--node", default="")
    a = ap.parse_args()
    write(a) if a.cmd == "write" else check(a)


if __name__ == "__main__":
    main()
