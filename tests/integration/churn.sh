#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root + BPF): 1,000 container cgroups, then churn: 100 created
# and 100 removed per second for 10 s, twice. Afterwards the exposition holds
# exactly the live containers (no series left for removed ones), and the
# agent's RSS did not grow from the first churn round to the second (no leak).
source "$(dirname "$0")/../lib/common.sh"
cgs_init

cgs_test_cgroup_root
mkdir -p "$ROOT/docker"
hexid() { printf '%064x' "$1"; }
# Without forks: sets HEX to the id of container $1.
hexvar() { printf -v HEX '%064x' "$1"; }

for i in $(seq 1 1000); do mkdir "$ROOT/docker/$(hexid "$i")"; done
cgs_start_agent --interval 1s --rescan-interval 5s
sleep 2
count_series() { local m; m=$(cgs_metrics); grep -c "^container_cpu_usage_seconds_total{.*id=\"$REL/docker/" <<<"$m" || true; }
n=$(count_series)
[ "$n" = 1000 ] && cgs_pass "1000 containers exported" || cgs_fail "$n containers exported, want 1000"

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$CGS_AGENT_PID/status"; }
next=1001
oldest=1
churn_round() { # 10 s at 100 creations + 100 removals per second
	for _ in $(seq 10); do
		local t0; t0=$(date +%s%N)
		for _ in $(seq 100); do
			hexvar "$next"; mkdir "$ROOT/docker/$HEX"; next=$((next + 1))
			hexvar "$oldest"; rmdir "$ROOT/docker/$HEX"; oldest=$((oldest + 1))
		done
		local left=$(( 1000000000 - ($(date +%s%N) - t0) ))
		if [ "$left" -gt 0 ]; then sleep "0.$(printf '%09d' "$left")"; fi
	done
}
churn_round
sleep 3
rss1=$(rss)
churn_round
sleep 3
rss2=$(rss)
cgs_log "RSS after round 1: ${rss1} kB, after round 2: ${rss2} kB"
[ "$rss2" -le $(( rss1 + rss1 / 10 )) ] && cgs_pass "RSS flat across churn rounds (${rss1} -> ${rss2} kB)" ||
	cgs_fail "RSS grew across churn rounds (${rss1} -> ${rss2} kB)"

live=$(find "$ROOT/docker" -mindepth 1 -maxdepth 1 -type d | wc -l)
n=$(count_series)
[ "$n" = "$live" ] && cgs_pass "exposition holds exactly the $live live containers" ||
	cgs_fail "exposition holds $n containers, $live live"
stale=0
for i in 1 500 1500 2000; do
	rc=0; cgs_metrics_has "$(hexid "$i")" || rc=$?
	[ "$rc" = 1 ] || stale=$((stale + 1))
done
[ "$stale" = 0 ] && cgs_pass "no series for removed containers" || cgs_fail "$stale removed containers still exported"
# The registry (the API) holds exactly the live ones of this test (other
# containers on the machine may exist too: count only ours).
tracked=$(cgs_api | "$PY" -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin)["containers"] if c["id"].startswith(sys.argv[1] + "/")))' "$REL")
[ "$tracked" = "$live" ] && cgs_pass "registry tracks the $tracked live containers" || cgs_fail "registry tracks $tracked, want $live"
kill -0 "$CGS_AGENT_PID" && cgs_pass "agent alive after churn" || cgs_fail "agent died"
cgs_finish
