#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root + BPF): 1,000 container cgroups, then churn: 100 created
# and 100 removed per second for CGS_CHURN_SECONDS (20 in CI; 600 for the
# ten-minute run of the hardening checklist), while /metrics is scraped ten
# times a second and log lines are written to tailed files and shipped to a
# Forward server (tests/helpers/forward_fault.py, acking). Afterwards:
#  - every scrape answered;
#  - the exposition holds exactly the live containers (no series left for
#    removed ones) and the registry tracks exactly them;
#  - the agent's RSS after the first quarter of the run (warm-up) stayed
#    within 10 % of its level then (no leak): median and high of the last
#    quarter against those of the second (CGS_CHURN_RSS_OUT=FILE keeps the
#    per-second samples);
#  - the collectors hold per-container state for no more containers than the
#    agent tracks (cgsight_collector_containers <= cgsight_containers);
#  - every log line written was delivered (checked against the files).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../e2e/fluent/lib.sh"
cgs_init
SECS=${CGS_CHURN_SECONDS:-20}
ff_require

cgs_test_cgroup_root
mkdir -p "$ROOT/docker"
hexid() { printf '%064x' "$1"; }
# Without forks: sets HEX to the id of container $1.
hexvar() { printf -v HEX '%064x' "$1"; }

for i in $(seq 1 1000); do mkdir "$ROOT/docker/$(hexid "$i")"; done

# The Forward server and the agent shipping a node layout's logs to it.
L=$CGS_TMP/logs
mkdir -p "$L/r" "$L/state"
ff_start "$L" ack 0
# Many more BPF slots than live containers: slots are handed out in FIFO
# order, so every new container lands on a slot never used before, and
# whatever the collectors kept per slot until its reuse (rather than
# freeing at the container's end) shows as growth.
cgs_start_agent --interval 1s --rescan-interval 5s --logs true --traces true --bpf-max-containers 16384 \
	--log-paths "$L/r/var/log/containers/*.log" --log-link-roots "$L/r/var/log/pods" \
	--log-position-file "$L/state/pos" --log-spool-dir "$L/state/spool" \
	--fluentd-address "127.0.0.1:$FF_PORT" --log-commit-interval 200ms
sleep 2
count_series() { local m; m=$(cgs_metrics); grep -c "^container_cpu_usage_seconds_total{.*id=\"$REL/docker/" <<<"$m" || true; }
n=$(count_series)
[ "$n" = 1000 ] && cgs_pass "1000 containers exported" || cgs_fail "$n containers exported, want 1000"

# Ten scrapes a second (as fast as they answer, at most) for the whole churn; every failure counted.
(
	ok=0 bad=0
	while [ ! -e "$CGS_TMP/churn-done" ]; do
		if curl -sf -o /dev/null -m 5 "http://127.0.0.1:$CGS_PORT/metrics"; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
		sleep 0.1
	done
	echo "$ok $bad" >"$CGS_TMP/scrapes"
) &
SCRAPER=$!
CGS_PIDS+=("$SCRAPER")
# Log lines all along: 4 files, 50 lines a second.
LINES=$((SECS * 50))
fl_load_bg write --root "$L/r" --files 4 --lines "$LINES" --rotate 0 --rate 50 --run churn >"$CGS_TMP/writer.json" &
WRITER=$!
CGS_PIDS+=("$WRITER")

# The churn itself, paced by the clock (a shell loop forks a mkdir and an
# rmdir per container, which on a small VM cannot keep 200 a second): 100
# created + 100 removed per second, the agent's RSS sampled every second.
# Prints "next oldest seconds_late": the next id, the oldest live id, and how
# far behind its schedule the churn ended.
"$PY" - "$ROOT/docker" "$SECS" "$CGS_AGENT_PID" "$CGS_TMP/rss" >"$CGS_TMP/churn" <<'PYEOF' &
import os, sys, time
base, secs, pid, rss_path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def path(i): return os.path.join(base, "%064x" % i)
def rss():
    with open("/proc/%s/status" % pid) as f:
        return next(l.split()[1] for l in f if l.startswith("VmRSS"))
nxt, oldest, t0 = 1001, 1, time.monotonic()
with open(rss_path, "w") as out:
    for s in range(secs):
        for _ in range(100):
            os.mkdir(path(nxt)); nxt += 1
            os.rmdir(path(oldest)); oldest += 1
        out.write(rss() + "\n"); out.flush()
        left = t0 + s + 1 - time.monotonic()
        if left > 0:
            time.sleep(left)
print(nxt, oldest, "%.1f" % max(0.0, time.monotonic() - t0 - secs))
PYEOF
CHURNER=$!
CGS_PIDS+=("$CHURNER")
SECONDS=0
wait "$CHURNER" || cgs_fail "the churn itself failed"
CHURN_WALL=$SECONDS
read -r next oldest late <"$CGS_TMP/churn"
touch "$CGS_TMP/churn-done"
wait "$SCRAPER"
# The writer ended on its own long ago; its PID may since have been reused
# (the scraper forks thousands of curls), so its report says how it ended.
wait "$WRITER" 2>/dev/null || true
written=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["written"])' "$CGS_TMP/writer.json" 2>/dev/null || echo none)
[ "$written" = "$LINES" ] || cgs_fail "the log writer wrote $written lines, want $LINES"
sleep 3
awk '/^VmRSS/ { print $2 }' "/proc/$CGS_AGENT_PID/status" >>"$CGS_TMP/rss"

read -r sok sbad <"$CGS_TMP/scrapes"
cgs_log "churn of $SECS rounds took $CHURN_WALL s (100 mkdir + 100 rmdir each), ${late} s behind schedule at the end"
[ "$sbad" = 0 ] && [ "$sok" -ge "$CHURN_WALL" ] && cgs_pass "$sok scrapes during the churn ($CHURN_WALL s), all answered" ||
	cgs_fail "scrapes during the churn ($CHURN_WALL s): $sok answered, $sbad failed"
# RSS swings by the size of a scrape's exposition (about 10 MB with 1000
# containers) from one second to the next, so a leak is told from the swing by
# levels, not by one sample: the second quarter of the run (just after the
# warm-up) against the last quarter, by their medians and their highs.
read -r wmed wmax emed emax < <("$PY" - "$CGS_TMP/rss" <<'PYEOF'
import statistics, sys
v = [int(x) for x in open(sys.argv[1]) if x.strip()]
q = max(1, len(v) // 4)
w, e = v[q:2 * q], v[-q:]
print(int(statistics.median(w)), max(w), int(statistics.median(e)), max(e))
PYEOF
)
cgs_log "RSS (kB) just after warm-up: median ${wmed}, high ${wmax}; last quarter: median ${emed}, high ${emax}"
if cgs_sanitized; then
	cgs_log "RSS bound not checked in a sanitizer build"
else
	[ "$emed" -le $(( wmed + wmed / 10 )) ] && [ "$emax" -le $(( wmax + wmax / 10 )) ] &&
		cgs_pass "RSS flat after warm-up (median ${wmed} -> ${emed} kB, high ${wmax} -> ${emax} kB, within 10 %)" ||
		cgs_fail "RSS grew after warm-up (median ${wmed} -> ${emed} kB, high ${wmax} -> ${emax} kB)"
fi
if [ -n "${CGS_CHURN_RSS_OUT:-}" ]; then cp "$CGS_TMP/rss" "$CGS_CHURN_RSS_OUT"; fi

live=$(find "$ROOT/docker" -mindepth 1 -maxdepth 1 -type d | wc -l)
n=$(count_series)
[ "$n" = "$live" ] && cgs_pass "exposition holds exactly the $live live containers" ||
	cgs_fail "exposition holds $n containers, $live live"
stale=0
for i in 1 $((oldest / 2)) $((oldest - 1)); do # removed ones
	rc=0; cgs_metrics_has "$(hexid "$i")" || rc=$?
	[ "$rc" = 1 ] || stale=$((stale + 1))
done
[ "$stale" = 0 ] && cgs_pass "no series for removed containers" || cgs_fail "$stale removed containers still exported"
# The registry (the API) holds exactly the live ones of this test.
tracked=$(cgs_api | "$PY" -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin)["containers"] if c["id"].startswith(sys.argv[1] + "/")))' "$REL")
[ "$tracked" = "$live" ] && cgs_pass "registry tracks the $tracked live containers" || cgs_fail "registry tracks $tracked, want $live"
# Per-container state of the collectors follows the live containers (freed
# when a container goes, not when its slot comes round again).
M=$(cgs_metrics)
ctr=$(mval "$M" cgsight_containers)
for col in syscalls l7; do
	held=$(mval "$M" cgsight_collector_containers "collector=\"$col\"")
	[ -n "$held" ] && [ "${held%.*}" -le "${ctr%.*}" ] &&
		cgs_pass "$col holds state for $held containers, $ctr tracked ($((live + oldest - 1)) created in all)" ||
		cgs_fail "$col holds state for ${held:-?} containers, only $ctr tracked"
done

# Every line written was delivered.
for _ in $(seq 60); do
	[ "$(grep -c '"record"' "$L/out.jsonl" 2>/dev/null || echo 0)" -ge "$LINES" ] && break
	sleep 0.5
done
if res=$("$PY" "$FF" check --out "$L/out.jsonl" --root "$L/r"); then
	cgs_pass "all $LINES log lines written during the churn delivered: $res"
else
	cgs_fail "log lines during the churn: $res"
fi
kill -0 "$CGS_AGENT_PID" && cgs_pass "agent alive after churn" || cgs_fail "agent died"
cgs_finish
