#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Soak: the agent with every collector on (logs and traces included) under a
# realistic mixed load for CGS_SOAK_SECONDS (default 3600), sampled every
# CGS_SOAK_SAMPLE seconds (default 60; short runs: a twentieth of the run,
# at least 5 s) into a CSV, then plotted (python3-matplotlib) to a PNG.
#
# Load (all in this run's own test cgroup subtree and temporary tree):
#   - container churn: Docker-, Kubernetes- and Podman-shaped cgroups created
#     and removed all the time (about CGS_SOAK_CONTAINERS alive, each living
#     20-60 s); every one runs a worker: short CPU bursts, syscall bursts
#     (tests/helpers/sysload.c), HTTP requests over loopback to a server in
#     a long-lived container (so the net, tcp and l7 collectors see traffic),
#     and new processes (curl, sysload) all the time;
#   - logs: each container writes CRI lines (CGS_SOAK_LINES per second) to
#     its file in a Kubernetes layout (/var/log/pods + links in
#     /var/log/containers, both in the temporary tree); files are rotated by
#     rename now and then; the agent ships them to the C Forward sink of
#     bench/logs_sink.c (acks on);
#   - /metrics scraped every 5 s, /api/v1/containers every 15 s.
#
# Each sample (one CSV row): agent CPU (cumulative seconds and % of one CPU
# over the interval), RSS, open fds, containers tracked, exposition size and
# scrape time; containers each collector holds state for
# (cgsight_collector_containers, columns held_*); entries of every hash map
# the agent holds (bpftool map dump; the map ids come from the agent's
# /proc/PID/fdinfo) and their total; the
# drop and loss counters of /metrics (cgsight_events_lost_total by collector,
# cgsight_series_dropped_total, cgsight_logs_dropped_bytes_total, dropped
# spans, collector errors) and records shipped / acknowledged.
# At the end: the growth of RSS, fds and map entries over the second half
# of the run (per hour), and the counters' final values.
#
# Usage: bench/soak.sh [BUILD_DIR]   (root; CGS_SOAK_SECONDS, CGS_SOAK_SAMPLE,
#        CGS_SOAK_CONTAINERS (8), CGS_SOAK_LINES (20), CGS_SOAK_OUT (BUILD_DIR/soak),
#        CGS_SOAK_DISABLE: passed to the agent as CGSIGHT_TEST_DISABLE, to soak
#        the fallback variants, e.g. tp_btf,local_storage (thread-id and socket
#        hashes instead of local storage: their entries show in the CSV))
# Needs: bpftool, curl, python3-matplotlib (installed with apt-get when missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$here/.." && cd "${1:-build}" && pwd)
CGS_BIN=${CGS_BIN:-$build/cgsight}
export CGS_BIN
source "$here/../tests/lib/common.sh"
cgs_init
SECS=${CGS_SOAK_SECONDS:-3600}
if [ -n "${CGS_SOAK_SAMPLE:-}" ]; then SAMPLE=$CGS_SOAK_SAMPLE
elif [ "$SECS" -ge 1200 ]; then SAMPLE=60
else SAMPLE=$((SECS / 20 > 5 ? SECS / 20 : 5)); fi
NCONT=${CGS_SOAK_CONTAINERS:-8}
LINES=${CGS_SOAK_LINES:-20}
OUT=${CGS_SOAK_OUT:-$build/soak}
SYSLOAD=$build/tests/cgs_sysload
mkdir -p "$OUT"
STAMP=$(date +%Y%m%d-%H%M%S)
CSV=$OUT/soak-$STAMP.csv
PNG=$OUT/soak-$STAMP.png

[ -x "$SYSLOAD" ] || { echo "FAIL: $SYSLOAD not built (cmake --build $build)" >&2; exit 1; }
for tool in bpftool curl; do
	command -v "$tool" >/dev/null || { echo "FAIL: bench/soak.sh needs $tool (Debian: $tool)" >&2; exit 1; }
done
if ! "$PY" -c 'import matplotlib' 2>/dev/null; then
	cgs_log "installing python3-matplotlib"
	apt-get install -y -q python3-matplotlib >/dev/null ||
		{ echo "FAIL: python3-matplotlib is needed for the plot (apt-get install python3-matplotlib)" >&2; exit 1; }
fi

cgs_test_cgroup_root
T=$CGS_TMP
mkdir -p "$T/log/containers" "$T/log/pods" "$T/state" "$T/live" "$T/www"
head -c 2048 /dev/urandom | base64 >"$T/www/index.html"

# The Forward sink (C, acks; counts only) and the HTTP server in a long-lived container.
cc -O2 -Wall -Wextra -o "$T/sink" "$here/logs_sink.c" $(pkg-config --cflags --libs msgpack)
SINKPORT=$(cgs_free_port)
"$T/sink" "$SINKPORT" 0 >"$T/sink.out" 2>&1 &
CGS_PIDS+=($!)
WEBPORT=$(cgs_free_port)
WEB="$ROOT/system.slice/docker-$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n').scope"
mkdir -p "$WEB"
bash -c 'echo $BASHPID > "$1/cgroup.procs"; exec "$2" -m http.server --bind 127.0.0.1 --directory "$3" "$4"' \
	_ "$WEB" "$PY" "$T/www" "$WEBPORT" >"$T/web.log" 2>&1 &
CGS_PIDS+=($!)

[ -n "${CGS_SOAK_DISABLE:-}" ] && export CGSIGHT_TEST_DISABLE=$CGS_SOAK_DISABLE
cgs_start_agent --interval 10s --rescan-interval 30s --traces true --logs true --bpf-max-containers 16384 \
	--log-paths "$T/log/containers/*.log" --log-link-roots "$T/log/pods" --log-position-file "$T/state/pos" \
	--log-spool-dir "$T/state/spool" --fluentd-address "127.0.0.1:$SINKPORT"
AGENT=$CGS_AGENT_PID

# One container's worker: bursts of CPU, syscalls, HTTP and new processes until its deadline.
worker() { # CGROUP_DIR SECONDS
	bash -c '
		echo $BASHPID > "$1/cgroup.procs"
		end=$((SECONDS + $2))
		while [ $SECONDS -lt $end ]; do
			i=0; while [ $i -lt 20000 ]; do i=$((i + 1)); done
			"$3" "$1" getppid 20000 >/dev/null 2>&1 || true
			for _ in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$4/index.html?token=secret" || true; done
			sleep 0.$((RANDOM % 5 + 3))
		done' _ "$1" "$2" "$SYSLOAD" "$WEBPORT" >/dev/null 2>&1 &
	echo $!
}

REAP_FAILED=0
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
# Starts one container: its cgroup (one of three runtime layouts), its log file and link, its worker.
start_container() {
	local id pod ns name dir life pid
	id=$(hex64)
	pod=$(cat /proc/sys/kernel/random/uuid)
	ns=soak
	name=app-$((RANDOM % 1000))
	case $((RANDOM % 3)) in
	0) dir="$ROOT/docker/$id" ;;
	1) dir="$ROOT/kubepods/burstable/pod$pod/$id" ;;
	2) dir="$ROOT/machine.slice/libpod-$id.scope" ;;
	esac
	mkdir -p "$dir" "$T/log/pods/${ns}_${name}_$pod/c"
	: >"$T/log/pods/${ns}_${name}_$pod/c/0.log"
	ln -s "$T/log/pods/${ns}_${name}_$pod/c/0.log" "$T/log/containers/${name}_${ns}_c-$id.log"
	life=$((20 + RANDOM % 41))
	pid=$(worker "$dir" "$life")
	CGS_PIDS+=("$pid")
	# What the log writer and the reaper need: "deadline pid cgroup logdir link".
	echo "$((SECONDS + life)) $pid $dir $T/log/pods/${ns}_${name}_$pod $T/log/containers/${name}_${ns}_c-$id.log" \
		>"$T/live/$id"
}

# Removes containers past their deadline (cgroup, then, a little later, their logs as kubelet does).
reap() {
	local f deadline pid dir logdir link procs
	for f in "$T/live"/*; do
		[ -e "$f" ] || continue
		read -r deadline pid dir logdir link <"$f"
		[ "$SECONDS" -ge "$deadline" ] || continue
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		# What the worker had started (curl, sysload, sleep) is still in its cgroup: end those
		# too, by the PIDs the cgroup lists (cgroupfs files always report size 0, so read them).
		for _ in $(seq 50); do
			procs=$(cat "$dir/cgroup.procs" 2>/dev/null) || break
			[ -n "$procs" ] || break
			kill $procs 2>/dev/null || true
			sleep 0.1
		done
		find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null || true
		if [ -d "$dir" ]; then
			REAP_FAILED=$((REAP_FAILED + 1))
			cgs_log "could not remove $dir (still holds: $(tr '\n' ' ' <"$dir/cgroup.procs"))"
		fi
		rm -f "$f"
		echo "$((SECONDS + 15)) $logdir $link" >>"$T/logs-to-delete"
	done
	if [ -s "$T/logs-to-delete" ]; then
		local now=$SECONDS keep=()
		while read -r when logdir link; do
			if [ "$now" -ge "$when" ]; then rm -rf "$logdir" "$link"; else keep+=("$when $logdir $link"); fi
		done <"$T/logs-to-delete"
		printf '%s\n' "${keep[@]}" | grep . >"$T/logs-to-delete" || : >"$T/logs-to-delete"
	fi
	# Cgroups of the kubepods layout leave their pod directory behind: remove those without a
	# container left (rmdir refuses the others; a cgroup directory is never -empty: its files).
	for d in "$ROOT"/kubepods/burstable/pod*; do
		[ -d "$d" ] && rmdir "$d" 2>/dev/null || true
	done
}

# The log writer: CRI lines for every live container, rotation by rename now and then.
"$PY" - "$T/live" "$LINES" >"$T/writer.log" 2>&1 <<'PY' &
import os, random, sys, time
live, rate = sys.argv[1], int(sys.argv[2])
n = 0
last_rot = {}
while True:
    t0 = time.time()
    for idf in os.listdir(live):
        try:
            parts = open(os.path.join(live, idf)).read().split()
            logdir = parts[3]
        except (OSError, IndexError):
            continue
        path = logdir + "/c/0.log"
        if not os.path.isdir(logdir + "/c"):
            continue
        now = time.time()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%09dZ" % int((now % 1) * 1e9)
        lines = []
        for _ in range(rate):
            n += 1
            if n % 97 == 0:  # a long line in CRI pieces
                lines.append("%s stdout P %s\n%s stdout F end %d\n" % (ts, "x" * 4000, ts, n))
            else:
                lines.append("%s %s F line %d of %s %s\n" % (ts, "stderr" if n % 13 == 0 else "stdout", n, idf[:12], "y" * random.randint(10, 300)))
        try:
            with open(path, "a") as f:
                f.write("".join(lines))
        except OSError:
            continue
        if now - last_rot.setdefault(idf, now) > 25 and random.random() < 0.3:
            try:
                os.rename(path, path + "." + time.strftime("%Y%m%d-%H%M%S"))
                open(path, "a").close()
            except OSError:
                pass
            last_rot[idf] = now
    time.sleep(max(0.0, 1.0 - (time.time() - t0)))
PY
CGS_PIDS+=($!)

# Scrapers: /metrics every 5 s, the API every 15 s (what Prometheus and a dashboard do).
bash -c 'while kill -0 "$1" 2>/dev/null; do curl -s -o /dev/null "http://127.0.0.1:$2/metrics"; sleep 5; done' _ "$AGENT" "$CGS_PORT" &
CGS_PIDS+=($!)
bash -c 'while kill -0 "$1" 2>/dev/null; do curl -s -o /dev/null "http://127.0.0.1:$2/api/v1/containers"; sleep 15; done' _ "$AGENT" "$CGS_PORT" &
CGS_PIDS+=($!)

# The sampler: one CSV row every SAMPLE seconds.
"$PY" - "$AGENT" "$CGS_PORT" "$SAMPLE" "$CSV" >"$T/sampler.log" 2>&1 <<'PY' &
import csv, json, os, re, subprocess, sys, time, urllib.request
pid, port, every, out = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
hz = os.sysconf("SC_CLK_TCK")
page = os.sysconf("SC_PAGE_SIZE")
HASH = {"hash", "lru_hash", "percpu_hash", "lru_percpu_hash"}

def cpu_s():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / hz

def maps():
    ids = set()
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            m = re.search(r"^map_id:\s*(\d+)", open("/proc/%d/fdinfo/%s" % (pid, fd)).read(), re.M)
        except OSError:
            continue
        if m:
            ids.add(int(m.group(1)))
    res = {}
    for i in sorted(ids):
        try:
            info = json.loads(subprocess.run(["bpftool", "-j", "map", "show", "id", str(i)], capture_output=True, text=True, check=True).stdout)
        except (subprocess.CalledProcessError, ValueError):
            continue
        if info.get("type") not in HASH:
            continue
        dump = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(i)], capture_output=True, text=True)
        try:
            n = len(json.loads(dump.stdout or "[]"))
        except ValueError:
            n = -1
        res["map_%s_%d" % (info.get("name", "?"), i)] = n
        res["map_%s_%d_max" % (info.get("name", "?"), i)] = info.get("max_entries", 0)
    return res

def metrics():
    t0 = time.time()
    body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=30).read().decode()
    dt = time.time() - t0
    v = {"exposition_bytes": len(body), "scrape_ms": round(dt * 1000, 1)}
    sums = {}
    for line in body.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-z_]+)(\{[^}]*\})? (\S+)$", line)
        if not m:
            continue
        name, labels, val = m.group(1), m.group(2) or "", float(m.group(3))
        if name == "cgsight_events_lost_total":
            v["events_lost_" + re.search(r'collector="([^"]*)"', labels).group(1)] = val
            sums["events_lost_total"] = sums.get("events_lost_total", 0) + val
        elif name == "cgsight_collector_containers":
            v["held_" + re.search(r'collector="([^"]*)"', labels).group(1)] = val
        elif name == "cgsight_series_dropped_total":
            v["series_dropped_" + re.search(r'reason="([^"]*)"', labels).group(1)] = val
        elif name == "cgsight_logs_dropped_bytes_total":
            sums["logs_dropped_bytes"] = sums.get("logs_dropped_bytes", 0) + val
        elif name == "cgsight_spans_total" and 'result="dropped' in labels:
            sums["spans_dropped"] = sums.get("spans_dropped", 0) + val
        elif name == "cgsight_spans_incomplete_total":
            sums["spans_incomplete"] = sums.get("spans_incomplete", 0) + val
        elif name == "cgsight_collector_errors_total":
            sums["collector_errors"] = sums.get("collector_errors", 0) + val
        elif name in ("cgsight_containers", "cgsight_logs_acked_records_total", "cgsight_logs_read_records_total",
                      "cgsight_collection_duration_seconds"):
            v[name.replace("cgsight_", "")] = val
        elif name == "cgsight_logs_lag_bytes":
            sums["logs_lag_bytes"] = sums.get("logs_lag_bytes", 0) + val
        elif name == "cgsight_logs_files" and 'state="open"' in labels:
            v["logs_files_open"] = val
    v.update(sums)
    return v

t_start = time.time()
prev = None
header = None
with open(out, "w", newline="") as f:
    w = None
    while True:
        try:
            now = time.time()
            c = cpu_s()
            st = open("/proc/%d/statm" % pid).read().split()
            row = {"elapsed_s": round(now - t_start, 1), "cpu_s": round(c, 2),
                   "cpu_pct": round(100 * (c - prev[1]) / (now - prev[0]), 2) if prev else "",
                   "rss_mb": round(int(st[1]) * page / 1048576, 2), "fds": len(os.listdir("/proc/%d/fd" % pid))}
            prev = (now, c)
            row.update(metrics())
            mp = maps()
            row["map_hash_entries_total"] = sum(n for k, n in mp.items() if not k.endswith("_max") and n > 0)
            row.update(mp)
        except (OSError, ValueError) as e:
            print("sample failed: %s" % e, flush=True)
            if not os.path.exists("/proc/%d" % pid):
                break
            time.sleep(every)
            continue
        if w is None:
            header = list(row)
            w = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
            w.writeheader()
        w.writerow(row)
        f.flush()
        time.sleep(max(0.0, every - (time.time() - now)))
PY
SAMPLER=$!
CGS_PIDS+=("$SAMPLER")
cgs_log "soak: ${SECS}s, a sample every ${SAMPLE}s, ~$NCONT containers, $LINES log lines/s each; CSV $CSV"

# The churn loop.
end=$((SECONDS + SECS))
while [ "$SECONDS" -lt "$end" ]; do
	kill -0 "$AGENT" 2>/dev/null || { cgs_fail "the agent exited during the soak"; tail -20 "$CGS_TMP/agent.log" >&2; break; }
	reap
	live=$(ls "$T/live" | wc -l)
	[ "$live" -lt "$NCONT" ] && start_container
	sleep 1
done
sleep 2 # the sampler's last row
kill "$SAMPLER" 2>/dev/null || true
wait "$SAMPLER" 2>/dev/null || true
kill -0 "$AGENT" 2>/dev/null && cgs_pass "the agent ran ${SECS}s under load" || true
# The load itself: every container it removed is gone (else the agent rightly tracks more and more).
[ "$REAP_FAILED" = 0 ] && cgs_pass "the load removed every container it ended" ||
	cgs_fail "the load could not remove $REAP_FAILED containers: the run is not the load it claims"

# Figures and the plot.
"$PY" - "$CSV" "$PNG" <<'PY'
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
rows = list(csv.DictReader(open(sys.argv[1])))
if len(rows) < 2:
    sys.exit("FAIL: fewer than two samples in %s" % sys.argv[1])
def col(k):
    return [float(r[k]) if r.get(k) not in (None, "") else float("nan") for r in rows]
t = [x / 60 for x in col("elapsed_s")]
def slope(k):
    # Growth per hour over the second half (start-up allocations excluded): least squares.
    ys = col(k)
    h = len(rows) // 2
    xs, ys = [x / 60 for x in t[h:]], ys[h:]
    if len(xs) < 2:
        return float("nan")
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    d = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / d if d else float("nan")
cpu = [x for x in col("cpu_pct") if x == x]
print("samples %d over %.1f min" % (len(rows), t[-1]))
print("agent CPU: mean %.2f %%, max %.2f %% of one CPU" % (sum(cpu) / len(cpu), max(cpu)))
print("RSS: %.1f -> %.1f MB (max %.1f); second-half growth %+.2f MB/h" % (col("rss_mb")[0], col("rss_mb")[-1], max(col("rss_mb")), slope("rss_mb")))
print("fds: %d -> %d; second-half growth %+.1f /h" % (col("fds")[0], col("fds")[-1], slope("fds")))
print("BPF hash map entries: %d -> %d; second-half growth %+.1f /h" % (col("map_hash_entries_total")[0], col("map_hash_entries_total")[-1], slope("map_hash_entries_total")))
last = rows[-1]
for k in sorted(last):
    if k.startswith(("events_lost", "series_dropped", "logs_dropped", "spans_dropped", "spans_incomplete", "collector_errors", "logs_acked", "logs_read")):
        print("%s: %s" % (k, last[k]))
maps = [k for k in rows[0] if k.startswith("map_") and not k.endswith("_max") and k != "map_hash_entries_total"]
fig, ax = plt.subplots(5, 1, figsize=(10, 15), sharex=True)
ax[0].plot(t, col("cpu_pct")); ax[0].set_ylabel("agent CPU %")
ax[1].plot(t, col("rss_mb")); ax[1].set_ylabel("RSS MB")
ax[2].plot(t, col("fds"), label="open fds"); ax[2].plot(t, col("containers"), label="containers")
ax[2].plot(t, col("logs_files_open"), label="log files open"); ax[2].legend(); ax[2].set_ylabel("count")
for k in maps:
    ax[3].plot(t, col(k), label=k[4:])
ax[3].set_ylabel("BPF hash map entries"); ax[3].legend(fontsize=7)
for k in [k for k in rows[0] if k.startswith(("events_lost_", "series_dropped_", "logs_dropped", "spans_dropped", "collector_errors"))]:
    ax[4].plot(t, col(k), label=k)
ax[4].set_ylabel("drop / loss counters"); ax[4].legend(fontsize=7); ax[4].set_xlabel("minutes")
fig.suptitle("cgsight soak")
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=80)
print("plot: %s" % sys.argv[2])
PY
cgs_log "CSV: $CSV"
cgs_finish
