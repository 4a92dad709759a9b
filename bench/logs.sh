#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Log pipeline benchmark.
#  1. Throughput: LINES lines of 200 bytes (CRI format, Kubernetes layout,
#     FILES files) already on disk are shipped to a local Forward sink with
#     acks required; lines/s from the sink's first to last frame, and the
#     agent's CPU over the same run (lines per CPU-second = what one core
#     does). Variants: a minimal acking C sink (bench/logs_sink.c: frames
#     unpacked, entries not decoded, so the agent is what is measured), the
#     same with gzip, and the real FluentServer (Node, decodes every entry:
#     the peer's own speed). Baseline in the same run: `cat` of the same
#     files (reading them is the floor of any shipper); ratio = cat / agent.
#  2. Memory: NFILES (10,000) files open at once (10 lines each), all
#     shipped; agent RSS against the same agent with logs off.
# Each variant runs RUNS times, interleaved; medians are reported.
# Targets: >= 150,000 lines/s on one core; RSS <= 64 MB with 10,000 files.
# Usage: bench/logs.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CGS_BIN=${CGS_BIN:-$here/../${1:-build}/cgsight}
export CGS_BIN
source "$here/../tests/lib/common.sh"
source "$here/../tests/e2e/fluent/lib.sh"
cgs_init
# The agent sees only an empty cgroup subtree: the node's other containers are not measured.
cgs_test_cgroup_root
FILES=${CGS_BENCH_FILES:-50}
LINES=${CGS_BENCH_LINES:-2000000}
NFILES=${CGS_BENCH_NFILES:-10000}
RUNS=${CGS_BENCH_RUNS:-3}
hz=$(getconf CLK_TCK)

cc -O2 -Wall -Wextra -o "$CGS_TMP/sink" "$here/logs_sink.c" $(pkg-config --cflags --libs msgpack)
D=$CGS_TMP/data
"$PY" - "$D" "$FILES" "$LINES" <<'PY'
import os, sys
root, files, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = lines // files
for k in range(files):
    d = "%s/var/log/pods/ns_pod-%d_%08x-0000-4000-8000-%012x/app" % (root, k, k, k)
    os.makedirs(d, exist_ok=True)
    pad = "x" * (200 - 1 - len("2024-03-01T10:00:00.000000000Z stdout F f=0000 n=00000000 "))
    with open(d + "/0.log", "w") as f:
        f.write("".join("2024-03-01T10:00:00.%09dZ stdout F f=%04d n=%08d %s\n" % (n, k, n, pad) for n in range(per)))
PY
bytes=$(du -sb "$D" | cut -f1)
cgs_log "data: $LINES lines of 200 bytes in $FILES files ($((bytes / 1048576)) MiB)"

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
median() { "$PY" -c 'import sys, statistics; print("%.0f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

# One shipping run: ship SINK_KIND [agent options...]; prints "lines/s cpu_s"
ship() {
	local kind=$1 port out n state=$CGS_TMP/state.$RANDOM
	shift
	port=$(cgs_free_port)
	n=$LINES
	if [ "$kind" = fluent ]; then
		rm -f "$CGS_TMP/fl.out"
		fl_start "$CGS_TMP/fl.out" "$port"
	else
		"$CGS_TMP/sink" "$port" "$n" >"$CGS_TMP/sink.json" &
		SINK=$!
		CGS_PIDS+=("$SINK")
		sleep 0.2
	fi
	local paths="$D/var/log/pods/*/app/0.log"
	[ "$kind" = fluent ] && paths="$D/var/log/pods/ns_pod-[0-4]_*/app/0.log"
	cgs_start_agent --bpf false --cgroup-root "$ROOT" --logs true --log-paths "$paths" --log-position-file "$state/pos" \
		--log-spool-dir "$state/spool" --fluentd-address "127.0.0.1:$port" "$@" >/dev/null
	local c0 t0 c1 t1
	c0=$(ticks "$CGS_AGENT_PID"); t0=$(date +%s%N)
	if [ "$kind" = fluent ]; then
		# 5 of the files (the Node server is the slow side)
		n=$(( LINES / FILES * 5 ))
		for _ in $(seq 3000); do
			[ "$(wc -l <"$CGS_TMP/fl.out" 2>/dev/null || echo 0)" -ge "$n" ] && break
			sleep 0.2
		done
		t1=$(date +%s%N); c1=$(ticks "$CGS_AGENT_PID")
		fl_stop "$FL_PID"
		echo "$("$PY" -c "print('%.0f' % ($n / (($t1 - $t0) / 1e9)))") $("$PY" -c "print('%.3f' % (($c1 - $c0) / $hz))")"
	else
		wait "$SINK"
		c1=$(ticks "$CGS_AGENT_PID")
		"$PY" - "$CGS_TMP/sink.json" "$c0" "$c1" "$hz" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("%.0f %.3f" % (r["records"] / r["seconds"], (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4])))
PY
	fi
	kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true
	rm -rf "$state"
}

declare -a R_AGENT=() C_AGENT=() R_GZ=() C_GZ=() R_CAT=()
for r in $(seq "$RUNS"); do
	t0=$(date +%s%N); cat "$D"/var/log/pods/*/app/0.log >/dev/null; t1=$(date +%s%N)
	R_CAT+=("$("$PY" -c "print('%.0f' % ($LINES / (($t1 - $t0) / 1e9)))")")
	read -r rate cpu < <(ship c)
	R_AGENT+=("$rate"); C_AGENT+=("$cpu")
	read -r rate cpu < <(ship c --fluentd-compress true)
	R_GZ+=("$rate"); C_GZ+=("$cpu")
	cgs_log "run $r: cat ${R_CAT[-1]}/s, agent ${R_AGENT[-1]}/s (cpu ${C_AGENT[-1]} s), gzip ${R_GZ[-1]}/s (cpu ${C_GZ[-1]} s)"
done
fl_install >/dev/null
read -r fl_rate fl_cpu < <(ship fluent)

agent=$(median "${R_AGENT[@]}"); gz=$(median "${R_GZ[@]}"); cat_=$(median "${R_CAT[@]}")
cpu=$("$PY" -c 'import sys, statistics; print("%.3f" % statistics.median(float(x) for x in sys.argv[1:]))' "${C_AGENT[@]}")
gzcpu=$("$PY" -c 'import sys, statistics; print("%.3f" % statistics.median(float(x) for x in sys.argv[1:]))' "${C_GZ[@]}")
per_core=$("$PY" -c "print('%.0f' % ($LINES / $cpu))")
gz_core=$("$PY" -c "print('%.0f' % ($LINES / $gzcpu))")

# ---- 10,000 open files -------------------------------------------------------
M=$CGS_TMP/many
"$PY" - "$M" "$NFILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for k in range(n):
    d = "%s/var/log/pods/ns_pod-%d_%08x-0000-4000-8000-%012x/app" % (root, k, k, k)
    os.makedirs(d, exist_ok=True)
    with open(d + "/0.log", "w") as f:
        f.write("".join("2024-03-01T10:00:00.%09dZ stdout F pod %d line %d\n" % (i, k, i) for i in range(10)))
PY
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
cgs_start_agent --bpf false --cgroup-root "$ROOT" >/dev/null
sleep 2
base_rss=$(rss "$CGS_AGENT_PID")
kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true
port=$(cgs_free_port)
"$CGS_TMP/sink" "$port" $((NFILES * 10)) >"$CGS_TMP/many.json" &
SINK=$!
CGS_PIDS+=("$SINK")
sleep 0.2
t0=$(date +%s%N)
cgs_start_agent --bpf false --cgroup-root "$ROOT" --logs true --log-paths "$M/var/log/pods/*/app/0.log" \
	--log-position-file "$CGS_TMP/mstate/pos" --log-spool-dir "$CGS_TMP/mstate/spool" \
	--fluentd-address "127.0.0.1:$port" >/dev/null
wait "$SINK"
t1=$(date +%s%N)
sleep 2
fds=$(ls "/proc/$CGS_AGENT_PID/fd" | wc -l)
many_rss=$(rss "$CGS_AGENT_PID"); many_hwm=$(hwm "$CGS_AGENT_PID")
open=$(mval "$(cgs_metrics)" cgsight_logs_files 'state="open"')
kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true

mb() { "$PY" -c "print('%.1f' % ($1 / 1024))"; }
echo
echo "cgsight log pipeline benchmark: $LINES lines of 200 bytes in $FILES files, acks required, $RUNS runs (medians)"
printf '  agent -> C sink          %9s lines/s   %9s lines per CPU-second (%s s CPU)   target >= 150000\n' "$agent" "$per_core" "$cpu"
printf '  agent -> C sink, gzip    %9s lines/s   %9s lines per CPU-second (%s s CPU)\n' "$gz" "$gz_core" "$gzcpu"
printf '  agent -> FluentServer    %9s lines/s   (%s lines; Node decodes every entry: the peer is the bound)\n' "$fl_rate" "$((LINES / FILES * 5))"
printf '  baseline: cat of the files %7s lines/s   ratio cat/agent %s\n' "$cat_" "$("$PY" -c "print('%.1f' % ($cat_ / $agent))")"
echo "  $NFILES files open at once: $open followed, $fds fds, all $((NFILES * 10)) lines shipped in $("$PY" -c "print('%.1f' % (($t1 - $t0) / 1e9))") s"
printf '  RSS %s MB (peak %s MB); the same agent with logs off: %s MB; difference %s MB   target <= 64 MB\n' \
	"$(mb "$many_rss")" "$(mb "$many_hwm")" "$(mb "$base_rss")" "$(mb $((many_rss - base_rss)))"
