#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Request tracing's cost: wrk against nginx (one worker), both in container
# cgroups on loopback, so every request makes a SERVER and a CLIENT span.
# Variants, interleaved in random order round by round (this machine is
# noisy and shared), medians of per-round ratios against that round's "off":
#  - off:    no cgsight;
#  - agent:  the agent as built, traces off (what the other collectors cost);
#  - red:    traces on, no OTLP endpoint (capture + pairing + RED metrics);
#  - otlp:   traces on at 100 % sampling, no span budget, spans exported to
#            an OTLP/HTTP receiver on loopback (tests/e2e/l7/receiver.js in
#            count-only mode, so the receiver costs the machine little);
#  - nosys:  otlp with the syscall collector off (CGSIGHT_TEST_DISABLE):
#            tracing and the per-packet and scheduler collectors, without
#            the per-syscall latency histograms (optional);
#  - floor:  no cgsight, two empty BPF programs on raw_syscalls
#            sys_enter/sys_exit (bench/syscalls_empty.bpf.c via
#            cgs_bench_syscalls): the cost of merely hooking every syscall,
#            below which no tracer built on syscall tracepoints can go here
#            (optional);
#  - floorio: the same on the read/write family's own tracepoints only
#            (syscalls:sys_enter_read etc., 16 of them; other syscalls run
#            no program): the floor of the design that leaves epoll_wait
#            and the rest alone (optional; in a private mount namespace
#            with tracefs, as classic tracepoints need it).
# Target (issue 7): otlp loses <= 5 % of off's requests/s, and no span is
# lost at that rate (or the loss is counted and explained). Spans lost are
# counted from the agent's own counters (only this benchmark's containers are
# traced, traces_cgroups): answered requests (container_http_requests_total,
# both directions) minus spans exported, with the reasons (queue full,
# budget, capture records lost).
# Also: CPU per request of the two containers (cgroup cpu.stat: includes the
# BPF programs, which run in their syscalls) and of the agent (/proc).
# Usage: bench/l7.sh [BUILD_DIR]   (CGS_BENCH_ROUNDS=5, CGS_BENCH_SECONDS=8,
#   CGS_BENCH_VARIANTS="off agent red otlp": the variants to run, off always
#   (nosys, floor and floorio on request);
#   CGS_BENCH_PERF=DIR: a machine-wide `perf record -g` of each wrk run into
#   DIR/ROUND-VARIANT.data, for `perf report`; it slows every variant alike;
#   CGS_BENCH_BPF_STATS=1: kernel BPF run-time statistics on for the run
#   (kernel.bpf_stats_enabled, restored at exit; adds ~30 ns per program
#   run to every variant but off): each program's runs per request and ns
#   per run)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$here/.." && cd "${1:-build}" && pwd)
CGS_BIN=${CGS_BIN:-$build/cgsight}
export CGS_BIN
source "$here/../tests/lib/common.sh"
cgs_init
ROUNDS=${CGS_BENCH_ROUNDS:-5}
SECS=${CGS_BENCH_SECONDS:-8}
for tool in nginx wrk node npm; do
	command -v "$tool" >/dev/null || { echo "bench/l7.sh needs $tool (scripts/install-deps.sh --test, nginx-light, wrk)" >&2; exit 1; }
done

NPMDIR="$build/l7-npm"
mkdir -p "$NPMDIR"
cp "$here/../tests/e2e/l7/package.json" "$here/../tests/e2e/l7/package-lock.json" "$here/../tests/e2e/l7/receiver.js" "$NPMDIR/"
(cd "$NPMDIR" && npm ci --silent --no-audit --no-fund --ignore-scripts >"$CGS_TMP/npm.log" 2>&1) ||
	{ cat "$CGS_TMP/npm.log" >&2; echo "npm ci of the receiver failed" >&2; exit 1; }

cgs_test_cgroup_root
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
SRV="$ROOT/docker/$(hex64)"
CLI="$ROOT/docker/$(hex64)"
mkdir -p "$SRV" "$CLI"

PORT=$(cgs_free_port)
NG="$CGS_TMP/nginx"
mkdir -p "$NG/html" "$NG/tmp"
head -c 612 /dev/zero | tr '\0' 'x' >"$NG/html/index.html"
cat >"$NG/nginx.conf" <<EOF
worker_processes 1;
pid $NG/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $NG/tmp; proxy_temp_path $NG/tmp; fastcgi_temp_path $NG/tmp;
	uwsgi_temp_path $NG/tmp; scgi_temp_path $NG/tmp;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$PORT;
		root $NG/html;
	}
}
EOF
sh -c 'echo $$ > "$1/cgroup.procs"; exec nginx -p "$2" -c "$2/nginx.conf" -g "daemon off;"' _ "$SRV" "$NG" 2>"$NG/log" &
CGS_PIDS+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done

mkdir -p "$CGS_TMP/recv"
node "$NPMDIR/receiver.js" "$CGS_TMP/recv" --no-decode >"$CGS_TMP/recv/log" 2>&1 &
CGS_PIDS+=($!)
for _ in $(seq 100); do RPORT=$(awk '/^listening/ { print $2 }' "$CGS_TMP/recv/log"); [ -n "$RPORT" ] && break; sleep 0.1; done
[ -n "$RPORT" ] || { echo "receiver did not start" >&2; exit 1; }

cpu_us() { awk '$1 == "usage_usec" { s += $2 } END { print s }' "$SRV/cpu.stat" "$CLI/cpu.stat"; }
stat_cpu_us() { # utime + stime from a /proc stat file, microseconds
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000000 / hz }' "$1" 2>/dev/null || echo 0
}
proc_cpu_us() { # ... of a process
	[ -n "${1:-}" ] || { echo 0; return; }
	stat_cpu_us "/proc/$1/stat"
}
l7_thread_us() { # ... of the agent's span pipeline thread (named cgsight-l7)
	local t
	[ -n "${1:-}" ] || { echo 0; return; }
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = cgsight-l7 ] || continue
		stat_cpu_us "$t/stat"
		return
	done
	echo 0
}
# "name run_cnt run_time_ns" of every BPF program the agent holds (bpftool; stats on).
bpf_stats() {
	[ -n "${CGS_BENCH_BPF_STATS:-}" ] && [ -n "${1:-}" ] || return 0
	local ids
	ids=$(awk '/^prog_id:/ { print $2 }' /proc/"$1"/fdinfo/* 2>/dev/null | sort -un)
	for id in $ids; do
		bpftool prog show id "$id" -j 2>/dev/null
		echo
	done | "$PY" -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    p = json.loads(line)
    print("%s:%s" % (p.get("id", "?"), p.get("name", "?")), p.get("run_cnt", 0), p.get("run_time_ns", 0))'
}
if [ -n "${CGS_BENCH_BPF_STATS:-}" ]; then
	command -v bpftool >/dev/null || { echo "CGS_BENCH_BPF_STATS needs bpftool" >&2; exit 1; }
	BPF_STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled)
	cgs_cleanup_hook() { sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_WAS"; }
	sysctl -qw kernel.bpf_stats_enabled=1
fi
wrk_run() { # "requests/s requests containers_cpu_us agent_cpu_us pipeline_thread_cpu_us"
	local c0 c1 a0 a1 t0 t1 out
	local pp=
	if [ -n "${CGS_BENCH_PERF:-}" ]; then
		perf record -q -a -g -o "$CGS_BENCH_PERF/$r-$v.data" -- sleep "$SECS" 2>/dev/null &
		pp=$!
		CGS_PIDS+=("$pp")
	fi
	bpf_stats "$VPID" >"$CGS_TMP/bpf0"
	c0=$(cpu_us); a0=$(proc_cpu_us "$VPID"); t0=$(l7_thread_us "$VPID")
	out=$(sh -c 'echo $$ > "$1/cgroup.procs"; exec wrk -t1 -c32 -d"$2"s "$3"' _ "$CLI" "$SECS" "http://127.0.0.1:$PORT/")
	c1=$(cpu_us); a1=$(proc_cpu_us "$VPID"); t1=$(l7_thread_us "$VPID")
	bpf_stats "$VPID" >"$CGS_TMP/bpf1"
	[ -z "$pp" ] || wait "$pp" || true
	awk -v c=$((c1 - c0)) -v a="$(awk -v x="$a1" -v y="$a0" 'BEGIN { print x - y }')" \
		-v t="$(awk -v x="$t1" -v y="$t0" 'BEGIN { print x - y }')" \
		'/requests in/ { n = $1 } /^Requests\/sec:/ { r = $2 } END { print r, n, c, a, t }' <<<"$out"
}

VPID=
start_variant() {
	VPID=
	case $1 in
	off) ;;
	floor)
		"$build/cgs_bench_syscalls" empty >/dev/null &
		VPID=$!
		CGS_PIDS+=("$VPID")
		;;
	floorio)
		unshare -m --propagation private sh -c 'mount -t tracefs nodev /sys/kernel/tracing && exec "$1" empty-io' \
			_ "$build/cgs_bench_syscalls" >/dev/null &
		VPID=$!
		CGS_PIDS+=("$VPID")
		;;
	agent) cgs_start_agent $AGENT_ARGS; VPID=$CGS_AGENT_PID ;;
	red) cgs_start_agent $AGENT_ARGS --traces true --traces-cgroups "$REL/*"; VPID=$CGS_AGENT_PID ;;
	otlp | nosys)
		[ "$1" = otlp ] || export CGSIGHT_TEST_DISABLE=collector:syscalls
		cgs_start_agent $AGENT_ARGS --traces true --traces-cgroups "$REL/*" --otlp-endpoint "http://127.0.0.1:$RPORT" \
			--traces-sample-percent 100 --traces-span-budget 0 --otlp-batch-spans 2048 \
			--otlp-queue-spans 1000000 --otlp-flush-interval 500ms
		VPID=$CGS_AGENT_PID
		unset CGSIGHT_TEST_DISABLE
		;;
	esac
	sleep 1
}
# The series this benchmark reads (the exposition of a busy node is large: keep it out of shell variables).
scrape() {
	curl -sf -o "$CGS_TMP/metrics.txt" "http://127.0.0.1:$CGS_PORT/metrics" || return 1
	grep -E '^(cgsight_spans_|cgsight_events_lost_total|container_http_requests_total)' "$CGS_TMP/metrics.txt" || true
}
# Spans of the run, from the agent's counters once the queue drained and the
# container series counted the run (at least 2 x N answered, N = wrk's count):
# "answered exported dropped incomplete records_lost".
span_account() {
	local want=$((2 * $1)) m q a
	for _ in $(seq 100); do
		m=$(scrape) || break
		q=$(awk '$1 == "cgsight_spans_queued" { print $2 }' <<<"$m")
		[ "${q:-1}" = 0 ] && break
		sleep 0.2
	done
	# Container series change only with a collection pass (every interval).
	for _ in $(seq 60); do
		m=$(scrape) || break
		a=$(awk 'index($0, "container_http_requests_total{") == 1 { s += $NF } END { print s + 0 }' <<<"$m")
		[ "$a" -ge "$want" ] && break
		sleep 1
	done
	awk '
		index($0, "container_http_requests_total{") == 1 { ans += $NF }
		index($0, "cgsight_spans_total{result=\"exported\"}") == 1 { exported += $NF }
		index($0, "cgsight_spans_total{result=\"dropped") == 1 || index($0, "cgsight_spans_total{result=\"rejected\"}") == 1 { drop += $NF }
		index($0, "cgsight_spans_incomplete_total{") == 1 { inc += $NF }
		index($0, "cgsight_events_lost_total{collector=\"l7\"}") == 1 { lost += $NF }
		END { print ans + 0, exported + 0, drop + 0, inc + 0, lost + 0 }' <<<"$m"
}
stop_variant() {
	[ -n "$VPID" ] || return 0
	kill "$VPID"
	wait "$VPID" 2>/dev/null || true
}

# The agent's default collection interval (15 s): what a node runs. Enough BPF
# slots that this benchmark's containers get one however many the node holds
# (a node full of containers also makes every collection pass long).
AGENT_ARGS=${CGS_BENCH_AGENT_ARGS:---bpf-max-containers 8192}
read -ra VARIANTS <<<"off ${CGS_BENCH_VARIANTS:-agent red otlp}"
VARIANTS=(off $(printf '%s\n' "${VARIANTS[@]:1}" | grep -vx off || true))
[ -z "${CGS_BENCH_PERF:-}" ] || mkdir -p "$CGS_BENCH_PERF"
declare -A RPS CPU ACPU TCPU
SPANS=()
cgs_log "nginx on 127.0.0.1:$PORT, OTLP receiver on $RPORT; $ROUNDS rounds of ${SECS}s wrk -t1 -c32 per variant, in random order"
for r in $(seq "$ROUNDS"); do
	for v in $(printf '%s\n' "${VARIANTS[@]}" | shuf); do
		start_variant "$v"
		read -r x n c a t < <(wrk_run)
		acct=
		[ "$v" = otlp ] || [ "$v" = nosys ] && acct=$(span_account "$n")
		stop_variant
		RPS[$r,$v]=$x
		CPU[$r,$v]=$("$PY" -c "print('%.2f' % ($c / $n))")
		ACPU[$r,$v]=$("$PY" -c "print('%.2f' % ($a / $n))")
		[ -n "$acct" ] && SPANS+=("$n $acct")
		TCPU[$r,$v]=$("$PY" -c "print('%.2f' % ($t / $n))")
		cgs_log "round $r $v: $x req/s, ${CPU[$r,$v]} us container CPU/req, ${ACPU[$r,$v]} us agent CPU/req (${TCPU[$r,$v]} in its span pipeline thread)${acct:+; answered exported dropped incomplete lost: $acct}"
		if [ -n "${CGS_BENCH_BPF_STATS:-}" ] && [ -s "$CGS_TMP/bpf1" ]; then
			# Per program over the wrk run: runs per request, ns per run, ns per request.
			awk -v n="$n" 'NR == FNR { c[$1] = $2; t[$1] = $3; next }
				{ dc = $2 - c[$1]; dt = $3 - t[$1]; if (dc > 0) printf "    bpf %-28s %6.2f runs/req %7.1f ns/run %8.1f ns/req\n", $1, dc / n, dt / dc, dt / n }' \
				"$CGS_TMP/bpf0" "$CGS_TMP/bpf1" >&2
		fi
	done
done

ratio_loss() { # VARIANT [BASE]: median over rounds of 1 - v/base, %
	local v=$1 b=${2:-off} l=()
	for r in $(seq "$ROUNDS"); do l+=("${RPS[$r,$b]}" "${RPS[$r,$v]}"); done
	"$PY" -c 'import sys,statistics as s; v=list(map(float,sys.argv[1:])); print("%.2f" % s.median((1 - v[i+1]/v[i]) * 100 for i in range(0, len(v), 2)))' "${l[@]}"
}
median_of() { # ARRAY_NAME VARIANT
	local -n arr=$1
	local v=$2 l=()
	for r in $(seq "$ROUNDS"); do l+=("${arr[$r,$v]}"); done
	"$PY" -c 'import sys,statistics; print("%.2f" % statistics.median(float(x) for x in sys.argv[1:]))' "${l[@]}"
}
echo
echo "cgsight request tracing benchmark: $ROUNDS interleaved rounds, nginx (1 worker) <- wrk -t1 -c32 ${SECS}s, loopback, both in container cgroups"
printf '  %-6s %10s req/s  %6s us CPU/req (containers)  %6s us CPU/req (agent)\n' off "$(median_of RPS off)" "$(median_of CPU off)" "-"
for v in "${VARIANTS[@]:1}"; do
	printf '  %-6s %10s req/s  %6s us CPU/req (containers)  %6s us CPU/req (agent; %s in its span thread)   loss vs off: %6s %%\n' \
		"$v" "$(median_of RPS $v)" "$(median_of CPU $v)" "$(median_of ACPU $v)" "$(median_of TCPU $v)" "$(ratio_loss $v)"
done
has() { [[ " ${VARIANTS[*]} " == *" $1 "* ]]; }
for v in red otlp nosys; do
	has agent && has $v && echo "  tracing's own share: $v vs agent $(ratio_loss $v agent) % (median per-round loss)"
done
echo "  spans per otlp run (wrk requests, answered requests both directions, exported, dropped, incomplete, capture records lost):"
for s in "${SPANS[@]}"; do
	read -r n ans ex dr inc lost <<<"$s"
	printf '    wrk %8d  answered %8d  exported %8d  dropped %6d  incomplete %4d  records lost %4d  => unaccounted %d%s\n' \
		"$n" "$ans" "$ex" "$dr" "$inc" "$lost" $((ans - ex - dr)) "$([ "$ans" -ge $((2 * n)) ] || echo '  (NOT TRACED: no BPF slot?)')"
done
echo "  (target: otlp loss <= 5 %; answered = exported, i.e. no span lost, at 100 % sampling)"
echo
# The userspace side alone, without kernel or network (bench/l7_pipeline.c).
"$build/cgs_bench_l7_pipeline" 200000 5
