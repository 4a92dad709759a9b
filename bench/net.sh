#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Network collectors' overhead: what the net (cgroup_skb on the cgroup2 root)
# and tcp (inet_sock_set_state, tcp_retransmit_skb) collectors cost the
# traffic of containers, on loopback, with both ends in container cgroups (so
# every packet takes the full accounting path):
#  - HTTP: wrk against nginx (one worker, keep-alive), requests/s;
#  - bulk: one TCP stream of 1 GiB, MB/s.
# Variants, interleaved in short rounds (off, on, on, off, ...: this machine
# is shared and noisy), compared round by round:
#  - off:      no cgsight;
#  - net+tcp:  only these two collectors (tests/helpers/net_loader.c: the
#              agent's slots, registry and a collection pass every second);
#  - agent:    with CGS_BENCH_AGENT=1, the whole agent as built (every
#              registered collector), for reference.
# Then the programs' own cost, with BPF run-time statistics on and the
# cgroup_skb programs attached to the benchmark's cgroup subtree only:
# nanoseconds per run, per request and per GiB, against the CPU time the two
# containers used for them (cpu.stat) — an estimate of the loss that does not
# depend on what else the machine is doing.
# Targets: net+tcp loses <= 3 % of requests/s and <= 3 % of bulk throughput.
# Usage: bench/net.sh [BUILD_DIR]   (CGS_BENCH_ROUNDS=10, CGS_BENCH_SECONDS=4)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$here/.." && cd "${1:-build}" && pwd)
CGS_BIN=${CGS_BIN:-$build/cgsight}
export CGS_BIN
source "$here/../tests/lib/common.sh"
cgs_init
LOADER="$build/tests/cgs_net_loader"
HELPER="$here/../tests/helpers/net_workload.py"
ROUNDS=${CGS_BENCH_ROUNDS:-10}
SECS=${CGS_BENCH_SECONDS:-4}
BULK=$((1024 * 1024 * 1024))
for tool in nginx wrk bpftool; do
	command -v "$tool" >/dev/null || { echo "bench/net.sh needs $tool (Debian: nginx-light wrk bpftool)" >&2; exit 1; }
done
[ -x "$LOADER" ] || { echo "no $LOADER: build the tests first" >&2; exit 1; }

cgs_test_cgroup_root
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
SRV="$ROOT/docker/$(hex64)"
CLI="$ROOT/docker/$(hex64)"
mkdir -p "$SRV" "$CLI"

# nginx on loopback, in the server container's cgroup.
PORT=$(cgs_free_port)
NG="$CGS_TMP/nginx"
mkdir -p "$NG/html" "$NG/logs" "$NG/tmp"
head -c 612 /dev/zero | tr '\0' 'x' >"$NG/html/index.html"
cat >"$NG/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/logs/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $NG/tmp;
	proxy_temp_path $NG/tmp;
	fastcgi_temp_path $NG/tmp;
	uwsgi_temp_path $NG/tmp;
	scgi_temp_path $NG/tmp;
	keepalive_requests 1000000;
	server {
		listen 127.0.0.1:$PORT;
		root $NG/html;
	}
}
EOF
sh -c 'echo $$ > "$1/cgroup.procs"; exec nginx -p "$2" -c "$2/nginx.conf" -g "daemon off;"' _ "$SRV" "$NG" &
CGS_PIDS+=($!)
for _ in $(seq 200); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.05; done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/" || { cat "$NG/logs/error.log" >&2; echo "nginx did not start" >&2; exit 1; }

cpu_us() { # CPU time of both containers' cgroups, microseconds
	awk '$1 == "usage_usec" { s += $2 } END { print s }' "$SRV/cpu.stat" "$CLI/cpu.stat"
}
wrk_run() { # wrk in the client container's cgroup: "requests/s requests cpu_us"
	local c0 c1 out
	c0=$(cpu_us)
	out=$(sh -c 'echo $$ > "$1/cgroup.procs"; exec wrk -t1 -c32 -d"$2"s "$3"' _ "$CLI" "$SECS" "http://127.0.0.1:$PORT/")
	c1=$(cpu_us)
	awk -v c=$((c1 - c0)) '/requests in/ { n = $1 } /^Requests\/sec:/ { r = $2 } END { print r, n, c }' <<<"$out"
}
bulk_run() { # 1 GiB, receiver in the server's cgroup, sender in the client's: "MB/s cpu_us"
	local port t0 t1 c0 c1 spid
	port=$(cgs_free_port)
	rm -f "$CGS_TMP/bready"
	"$PY" "$HELPER" serve --cgroup "$SRV" --port "$port" --ready "$CGS_TMP/bready" &
	spid=$!
	for _ in $(seq 600); do [ -f "$CGS_TMP/bready" ] && break; sleep 0.05; done
	c0=$(cpu_us)
	t0=$(date +%s%N)
	"$PY" "$HELPER" send --cgroup "$CLI" --port "$port" --bytes "$BULK" >/dev/null
	t1=$(date +%s%N)
	wait "$spid"
	c1=$(cpu_us)
	"$PY" -c "print('%.1f %d' % ($BULK / (($t1 - $t0) / 1e9) / 1e6, $c1 - $c0))"
}

VPID=
start_variant() { # VARIANT [--stats]
	VPID=
	case $1 in
	off) ;;
	net+tcp)
		: >"$CGS_TMP/loader.out"
		"$LOADER" ${2:-} 1000 >"$CGS_TMP/loader.out" 2>"$CGS_TMP/loader.err" &
		VPID=$!
		for _ in $(seq 200); do grep -q ready "$CGS_TMP/loader.out" && break; sleep 0.05; done
		grep -q ready "$CGS_TMP/loader.out" || { cat "$CGS_TMP/loader.err" >&2; echo "loader failed" >&2; exit 1; }
		;;
	agent)
		cgs_start_agent --interval 1s
		VPID=$CGS_AGENT_PID
		;;
	esac
	sleep 1
}
stop_variant() {
	[ -n "$VPID" ] || return 0
	kill "$VPID"
	wait "$VPID" 2>/dev/null || true
}
prog_stats() { # PID: "name run_cnt run_time_ns" of the programs the process holds through links
	local ids
	ids=$(for f in /proc/"$1"/fdinfo/*; do
		awk '$1 == "link_type:" { t = 1 } $1 == "prog_id:" { p = $2 } END { if (t) print p }' "$f" 2>/dev/null
	done | sort -u)
	for id in $ids; do
		bpftool -j prog show id "$id" | "$PY" -c 'import json,sys; p=json.load(sys.stdin); print(p["name"], p.get("run_cnt",0), p.get("run_time_ns",0))'
	done
}

foreign=$(bpftool cgroup show "$CG2" 2>/dev/null | awk 'NR > 1' | wc -l)
VARIANTS=(off net+tcp)
[ -n "${CGS_BENCH_AGENT:-}" ] && VARIANTS+=(agent)
declare -A RPS CPR BUL
cgs_log "nginx on 127.0.0.1:$PORT; $ROUNDS rounds of ${SECS}s wrk + 1 GiB bulk per variant; load average $(cut -d' ' -f1-3 /proc/loadavg); $foreign programs already attached to the cgroup2 root by others"
for r in $(seq "$ROUNDS"); do
	order=("${VARIANTS[@]}")
	# off first in odd rounds, last in even ones: drift of the machine's load cancels out.
	if [ $((r % 2)) = 0 ]; then
		order=()
		for ((i = ${#VARIANTS[@]} - 1; i >= 0; i--)); do order+=("${VARIANTS[$i]}"); done
	fi
	for v in "${order[@]}"; do
		start_variant "$v"
		read -r x n c < <(wrk_run)
		read -r y _ < <(bulk_run)
		stop_variant
		RPS[$r,$v]=$x
		CPR[$r,$v]=$("$PY" -c "print('%.2f' % ($c / $n))")
		BUL[$r,$v]=$y
		cgs_log "round $r $v: $x req/s (${CPR[$r,$v]} us CPU per request), bulk $y MB/s"
	done
done

# Program cost, apart: BPF run-time statistics on, net+tcp alone, the
# cgroup_skb programs attached to this benchmark's own cgroup subtree (same
# programs, same per-packet path, but no other socket on the machine runs
# them, so their run counts and times are this workload's alone).
coproc LOAD { exec "$LOADER" --stats --manual 2 --attach "$ROOT" 2>"$CGS_TMP/loader.err"; }
LPID=$LOAD_PID # bash unsets LOAD_PID when the coprocess ends
CGS_PIDS+=("$LPID")
read -r line <&"${LOAD[0]}"
[ "$line" = ready ] || { cat "$CGS_TMP/loader.err" >&2; echo "loader failed" >&2; exit 1; }
for x in "srv $SRV" "cli $CLI"; do echo "map $x" >&"${LOAD[1]}"; read -r line <&"${LOAD[0]}"; done
mapfile -t S0 < <(prog_stats "$LPID")
read -r x n c < <(wrk_run)
mapfile -t S1 < <(prog_stats "$LPID")
read -r y bc < <(bulk_run)
mapfile -t S2 < <(prog_stats "$LPID")
exec {LOAD[1]}>&-
wait "$LPID" || true

series() { # ARRAY_NAME VARIANT: the per-round values
	local -n a=$1
	for r in $(seq "$ROUNDS"); do printf '%s ' "${a[$r,$2]}"; done
}
echo
echo "cgsight network collectors benchmark ($ROUNDS interleaved rounds; nginx 1 worker, wrk -t1 -c32 ${SECS}s, keep-alive; 1 GiB TCP stream; loopback; both ends in container cgroups; load average $(cut -d' ' -f1-3 /proc/loadavg))"
args=()
for v in "${VARIANTS[@]}"; do args+=("$(series RPS "$v")" "$(series BUL "$v")" "$(series CPR "$v")"); done
"$PY" - "$ROUNDS" "${VARIANTS[@]}" -- "${args[@]}" <<'PY'
import statistics as st
import sys
args = sys.argv[1:]
rounds, sep = int(args[0]), args.index("--")
variants = args[1:sep]
vals = args[sep + 1:]
data = {}
for i, v in enumerate(variants):
    data[v] = [list(map(float, vals[3 * i + k].split())) for k in range(3)]
def q(xs):
    xs = sorted(xs)
    return st.median(xs), xs[len(xs) // 4], xs[(3 * len(xs)) // 4]
o = data["off"]
print("  %-8s %10.0f req/s  %8.1f MB/s bulk  %6.1f us CPU/request   (medians)" % ("off", st.median(o[0]), st.median(o[1]), st.median(o[2])))
for v in variants[1:]:
    d = data[v]
    lr = [(1 - d[0][i] / o[0][i]) * 100 for i in range(rounds)]
    lb = [(1 - d[1][i] / o[1][i]) * 100 for i in range(rounds)]
    print("  %-8s %10.0f req/s  %8.1f MB/s bulk  %6.1f us CPU/request" % (v, st.median(d[0]), st.median(d[1]), st.median(d[2])))
    print("           loss vs off in the same round: req/s %+.2f %% (quartiles %+.1f .. %+.1f), bulk %+.2f %% (quartiles %+.1f .. %+.1f)"
          % (q(lr)[0], q(lr)[1], q(lr)[2], q(lb)[0], q(lb)[1], q(lb)[2]))
PY
echo "  program cost, BPF run-time statistics on (they add ~60 ns per run themselves); cgroup_skb runs are this workload's packets only:"
"$PY" - "$n" "$c" "$bc" "${#S0[@]}" "${S0[@]}" "${S1[@]}" "${S2[@]}" <<'PY'
import sys
n, cpu_us, bulk_cpu_us, k = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rows = [l.split() for l in sys.argv[5:]]
s0, s1, s2 = rows[:k], rows[k:2 * k], rows[2 * k:]
def delta(a, b):
    return {x[0]: (int(y[1]) - int(x[1]), int(y[2]) - int(x[2])) for x, y in zip(a, b)}
w, b = delta(s0, s1), delta(s1, s2)
skb = ("handle_ingress", "handle_egress")
for name, (cnt, ns) in sorted(w.items()):
    print("    %-22s %9d runs during wrk, %6.1f ns per run%s" % (name, cnt, ns / cnt if cnt else 0,
          "" if name in skb else " (every TCP socket on the host)"))
wns = sum(v[1] for k, v in w.items() if k in skb)
bns = sum(v[1] for k, v in b.items() if k in skb)
print("    wrk:  %.0f ns of BPF per request = %.2f %% of the %.1f us CPU the containers used per request"
      % (wns / n, wns / n / (cpu_us / n * 1000) * 100, cpu_us / n))
print("    bulk: %.2f ms of BPF per GiB = %.2f %% of the %.0f ms CPU the containers used for it"
      % (bns / 1e6, bns / (bulk_cpu_us * 1000) * 100, bulk_cpu_us / 1000))
PY
echo "  targets for net+tcp: <= 3 % loss of requests/s and of bulk throughput"
