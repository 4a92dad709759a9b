#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Scheduler-collector overhead: `perf bench sched pipe` (two processes
# ping-ponging through pipes, pinned to one CPU: a context-switch storm,
# two switches and two wakeups per op) in a container cgroup, run
#   - alone (the baseline),
#   - with cgsight's scheduler collector loaded alone (tests/helpers/
#     sched_harness.c: the agent's registry and slots, the sched collector and
#     nothing else), doing its full per-container work for the benchmark,
#   - with libbpf-tools `runqlat` (Debian libbpf-tools) tracing run-queue
#     latency system-wide, the comparable peer.
# Variants are interleaved (rotating order) REPS times; medians of usecs/op.
# Targets: cgsight slows the benchmark by less than runqlat, and by <= 10 %.
# Usage: bench/sched.sh [BUILD_DIR]   (root; env CGS_BENCH_REPS, CGS_BENCH_LOOPS, CGS_BENCH_CPU)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$here/.." && cd "${1:-build}" && pwd)
CGS_BIN=${CGS_BIN:-$build/cgsight}
export CGS_BIN
source "$here/../tests/lib/common.sh"
cgs_init
HARNESS=$build/tests/cgs_sched_harness
RUNQLAT=${CGS_RUNQLAT:-/usr/sbin/runqlat}
REPS=${CGS_BENCH_REPS:-9}
LOOPS=${CGS_BENCH_LOOPS:-200000}
CPU=${CGS_BENCH_CPU:-1}
[ -x "$HARNESS" ] || { echo "FAIL: $HARNESS not built (cmake --build $build --target cgs_sched_harness)" >&2; exit 1; }
command -v perf >/dev/null || { echo "FAIL: perf missing (apt-get install linux-perf)" >&2; exit 1; }
[ -x "$RUNQLAT" ] || { echo "FAIL: $RUNQLAT missing (apt-get install libbpf-tools)" >&2; exit 1; }

cgs_test_cgroup_root
ID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
CG="$ROOT/docker/$ID"
mkdir -p "$CG"

# One benchmark run in the container cgroup: "wall_usecs/op cpu_usecs/op" into
# $CGS_TMP/x. Wall: perf's own figure. CPU: the container's cpu.stat usage over
# the run (the two benchmark processes, kernel time and the tracing programs
# that run in their context included; waiting behind other load excluded).
usage() { awk '$1 == "usage_usec" { print $2 }' "$CG/cpu.stat"; }
bench() {
	local u0 u1 w
	u0=$(usage)
	w=$(sh -c 'echo $$ > "$1/cgroup.procs" && exec taskset -c "$2" perf bench sched pipe -l "$3"' _ "$CG" "$CPU" "$LOOPS" |
		awk '/usecs\/op/ { print $1 }')
	u1=$(usage)
	echo "$w $("$PY" -c "print('%.4f' % (($u1 - $u0) / $LOOPS))")" >"$CGS_TMP/x"
}

cgsight_run() {
	local out
	coproc H { exec "$HARNESS" --collector sched 2>"$CGS_TMP/harness.err"; }
	CGS_PIDS+=("$H_PID")
	echo "dump $REL/" >&"${H[1]}"
	read -r -t 30 out <&"${H[0]}" # loaded, container found
	bench
	echo "dump $REL/" >&"${H[1]}"
	read -r -t 30 out <&"${H[0]}"
	eval "exec ${H[1]}>&-"
	wait "$H_PID" 2>/dev/null || true
	echo "$out" >"$CGS_TMP/last_dump" # what the collector saw of the benchmark
}

runqlat_run() {
	stdbuf -oL "$RUNQLAT" 3600 1 >"$CGS_TMP/runqlat.out" 2>&1 &
	local pid=$!
	CGS_PIDS+=("$pid")
	for _ in $(seq 100); do grep -q Tracing "$CGS_TMP/runqlat.out" && break; sleep 0.05; done
	grep -q Tracing "$CGS_TMP/runqlat.out" || { cat "$CGS_TMP/runqlat.out" >&2; echo "FAIL: runqlat did not start" >&2; exit 1; }
	bench
	kill -INT "$pid"
	wait "$pid" 2>/dev/null || true
}

declare -A R=([base]="" [cgsight]="" [runqlat]="") C=([base]="" [cgsight]="" [runqlat]="")
order=(base cgsight runqlat)
# Other tracers of the scheduler already loaded (other agents on a shared machine) slow every variant alike.
others() { bpftool prog show 2>/dev/null | grep -cE 'name [a-z_]*sched_switch ' || true; }
others0=$(others)
bench # warm-up
for ((i = 0; i < REPS; i++)); do
	for ((k = 0; k < 3; k++)); do
		v=${order[$(((i + k) % 3))]}
		case $v in
		base) bench ;;
		cgsight) cgsight_run ;;
		runqlat) runqlat_run ;;
		esac
		read -r w c <"$CGS_TMP/x"
		R[$v]+="$w "
		C[$v]+="$c "
		cgs_log "run $((i + 1))/$REPS $v: $w usecs/op wall, $c usecs/op CPU"
	done
done
others1=$(others)
seen=$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
c = [c for c in d["containers"] if c["id"] == sys.argv[2]][0]["samples"]
print(int(c["container_context_switches_total{voluntary}"] + c["container_context_switches_total{involuntary}"]),
      int(sum(c["container_cpu_runqueue_latency_seconds{}"]["counts"])))' "$CGS_TMP/last_dump" "${CG#"$CG2"}")

"$PY" - "$LOOPS" "$REPS" "$CPU" "$seen" "$others0 $others1" "${R[base]}" "${R[cgsight]}" "${R[runqlat]}" \
	"${C[base]}" "${C[cgsight]}" "${C[runqlat]}" <<'EOF'
import statistics as st, sys
loops, reps, cpu, seen, others = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(), sys.argv[5].split()
def report(title, b, c, r):
    mb, mc, mr = st.median(b), st.median(c), st.median(r)
    # Per round (the three variants ran back to back): robust to slow changes in the machine's load.
    rc, rr = st.median(x / y for x, y in zip(c, b)), st.median(x / y for x, y in zip(r, b))
    runs = lambda v: " ".join("%.2f" % x for x in v)
    print("  %s, median usecs/op:" % title)
    print("    alone                     %8.3f                                     (%s)" % (mb, runs(b)))
    print("    cgsight sched collector   %8.3f  ratio %.3f (%+5.1f %%), per round %.3f  (%s)" % (mc, mc / mb, (mc / mb - 1) * 100, rc, runs(c)))
    print("    libbpf-tools runqlat      %8.3f  ratio %.3f (%+5.1f %%), per round %.3f  (%s)" % (mr, mr / mb, (mr / mb - 1) * 100, rr, runs(r)))
    return mc / mb, mr / mb
v = [[float(x) for x in a.split()] for a in sys.argv[6:12]]
print()
print("perf bench sched pipe -l %s, pinned to CPU %s, in a container cgroup; %s interleaved rounds" % (loops, cpu, reps))
wc, wr = report("wall time (perf's figure)", *v[0:3])
report("CPU time of the benchmark (its cgroup's cpu.stat)", *v[3:6])
print("  other BPF programs on sched_switch already loaded (other tracers on the machine): %s at the start, %s at the end" % tuple(others))
print("  cgsight attributed %s context switches and %s run-queue waits to the benchmark's container in one run (%s loops: 2 per loop)" % (seen[0], seen[1], loops))
print("  target (wall): cgsight < runqlat and <= 1.10x alone: %s" % ("met" if wc < wr and wc <= 1.10 else "NOT met"))
EOF
