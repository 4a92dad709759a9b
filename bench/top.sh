#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `cgsight top` benchmark: 1,000 container cgroups on this node, an agent
# serving them, and `cgsight top` refreshing every second inside tmux
# (150x50, a 46-row table) for SECS seconds. Prints top's CPU as % of one core
# with the agent's own CPU over the same window as the baseline beside it,
# for two agents: the default 15 s collection interval (most refreshes find
# the same generation and stop reading after its first bytes) and a 1 s
# interval (every refresh downloads and parses a new 1,000-container
# document: the worst case); and the 15 s agent alone over the same window,
# so what top's polling costs the agent shows too. Each variant runs RUNS
# times, interleaved; the medians are printed.
# Target: top < 2 % of one core with 1,000 containers at a 1 s refresh.
# Usage: bench/top.sh [BUILD_DIR]   (CGS_BENCH_CONTAINERS, CGS_BENCH_SECONDS, CGS_BENCH_RUNS)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CGS_BIN=${CGS_BIN:-$here/../${1:-build}/cgsight}
export CGS_BIN
source "$here/../tests/lib/common.sh"
cgs_init
command -v tmux >/dev/null || { echo "bench/top.sh: tmux is missing (apt-get install tmux)" >&2; exit 1; }
N=${CGS_BENCH_CONTAINERS:-1000}
SECS=${CGS_BENCH_SECONDS:-60}
RUNS=${CGS_BENCH_RUNS:-3}
SOCK="cgs-top-bench-$$"
cgs_cleanup_hook() { tmux -L "$SOCK" kill-server 2>/dev/null || true; }

cgs_test_cgroup_root
mkdir -p "$ROOT/kubepods/burstable"
for i in $(seq 1 "$N"); do
	pod=$(printf 'pod%08x-0000-4000-8000-%012x' "$i" "$i")
	mkdir -p "$ROOT/kubepods/burstable/$pod/$(printf '%064x' "$i")"
done

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
pct() { "$PY" -c "import sys; print('%.2f' % (float(sys.argv[1]) / $hz / float(sys.argv[2]) * 100))" "$1" "$2"; }

# run INTERVAL: one agent + top window; prints "top% agent% top_rss_kb bytes_per_s".
run() {
	local interval=$1 top_pid t0 a0 s0 t1 a1 s1 rss
	cgs_start_agent --interval "$interval" >&2
	sleep 3
	tmux -L "$SOCK" new-session -d -s top -x 150 -y 50 \
		"exec env LANG=C.UTF-8 $CGS_BIN top --url http://127.0.0.1:$CGS_PORT --interval 1s"
	top_pid=$(tmux -L "$SOCK" list-panes -t top -F '#{pane_pid}')
	sleep 5 # warm-up: the first documents are parsed, history starts
	t0=$(ticks "$top_pid"); a0=$(ticks "$CGS_AGENT_PID"); s0=$(date +%s.%N)
	sleep "$SECS"
	t1=$(ticks "$top_pid"); a1=$(ticks "$CGS_AGENT_PID"); s1=$(date +%s.%N)
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$top_pid/status")
	local el
	el=$("$PY" -c "print($s1 - $s0)")
	local screen
	screen=$(tmux -L "$SOCK" capture-pane -p -t top)
	grep -q "containers, " <<<"$screen" || { echo "bench/top.sh: top is not showing containers:" >&2; echo "$screen" >&2; exit 1; }
	tmux -L "$SOCK" send-keys -t top q
	for _ in $(seq 50); do kill -0 "$top_pid" 2>/dev/null || break; sleep 0.1; done
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true
	echo "$(pct $((t1 - t0)) "$el") $(pct $((a1 - a0)) "$el") $rss"
}

# alone: the agent without top; prints its CPU %.
alone() {
	local a0 a1 s0 s1
	cgs_start_agent --interval 15s >&2
	sleep 8
	a0=$(ticks "$CGS_AGENT_PID"); s0=$(date +%s.%N)
	sleep "$SECS"
	a1=$(ticks "$CGS_AGENT_PID"); s1=$(date +%s.%N)
	kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true
	pct $((a1 - a0)) "$("$PY" -c "print($s1 - $s0)")"
}

declare -a T15 A15 T1 A1 R15 R1 A0
for r in $(seq "$RUNS"); do
	a=$(alone); A0+=("$a")
	cgs_log "run $r, agent alone (15s): $a %"
	read -r t a rss < <(run 15s); T15+=("$t"); A15+=("$a"); R15+=("$rss")
	cgs_log "run $r, agent interval 15s: top $t %, agent $a %"
	read -r t a rss < <(run 1s); T1+=("$t"); A1+=("$a"); R1+=("$rss")
	cgs_log "run $r, agent interval 1s: top $t %, agent $a %"
done
med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { "$PY" -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.2f' % (a / b) if b > 0 else 'n/a')" "$1" "$2"; }

t15=$(med "${T15[@]}"); a15=$(med "${A15[@]}"); t1=$(med "${T1[@]}"); a1=$(med "${A1[@]}"); a0=$(med "${A0[@]}")
echo
echo "cgsight top benchmark: $N containers, refresh 1 s, ${SECS} s windows, median of $RUNS runs"
printf '  agent interval 15s: top %6s %% of one core   agent %6s %%   top/agent %s   top RSS %s MB   target < 2 %%\n' \
	"$t15" "$a15" "$(ratio "$t15" "$a15")" "$("$PY" -c "print('%.1f' % ($(med "${R15[@]}") / 1024))")"
printf '  agent interval  1s: top %6s %% of one core   agent %6s %%   top/agent %s   top RSS %s MB   (worst case)\n' \
	"$t1" "$a1" "$(ratio "$t1" "$a1")" "$("$PY" -c "print('%.1f' % ($(med "${R1[@]}") / 1024))")"
printf '  agent alone (15s, no top):                 agent %6s %%   (what polling adds to the agent: %s points)\n' \
	"$a0" "$("$PY" -c "print('%.2f' % ($a15 - $a0))")"
