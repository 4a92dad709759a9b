#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Foundation benchmark: 1,000 container cgroups on this node.
#  - /metrics latency (gzip, as Prometheus asks) over 200 scrapes: median and p90,
#    with the agent's own /healthz on the same server as the baseline
#    (ratio = what the exposition adds over an HTTP round trip);
#  - agent RSS after warm-up;
#  - agent CPU over 60 s with the default 15 s interval, scraped every 15 s,
#    as % of one core.
# Targets: median < 20 ms, RSS < 30 MB, CPU < 0.5 % of one core.
# Usage: bench/foundation.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CGS_BIN=${CGS_BIN:-$here/../${1:-build}/cgsight}
export CGS_BIN
source "$here/../tests/lib/common.sh"
cgs_init
N=${CGS_BENCH_CONTAINERS:-1000}
SECS=${CGS_BENCH_SECONDS:-60}

cgs_test_cgroup_root
mkdir -p "$ROOT/kubepods/burstable"
for i in $(seq 1 "$N"); do
	pod=$(printf 'pod%08x-0000-4000-8000-%012x' "$i" "$i")
	mkdir -p "$ROOT/kubepods/burstable/$pod/$(printf '%064x' "$i")"
done
cgs_start_agent
sleep 3
series=$(cgs_metrics | grep -vc '^#')
bytes=$(cgs_metrics | wc -c)
gzbytes=$(curl -s -H 'Accept-Encoding: gzip' "http://127.0.0.1:$CGS_PORT/metrics" | wc -c)

timeit() { # URL COUNT -> prints per-request seconds, one per line
	for _ in $(seq "$2"); do
		curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{time_total}\n' "$1"
	done
}
stats() { "$PY" -c 'import sys,statistics as s; v=sorted(float(x) for x in sys.stdin); print("%.3f %.3f" % (s.median(v)*1e3, v[int(len(v)*0.9)]*1e3))'; }
read -r m_med m_p90 < <(timeit "http://127.0.0.1:$CGS_PORT/metrics" 200 | stats)
read -r h_med h_p90 < <(timeit "http://127.0.0.1:$CGS_PORT/healthz" 200 | stats)
rss_kb=$(awk '/^VmRSS/ { print $2 }' "/proc/$CGS_AGENT_PID/status")

# CPU: utime+stime over SECS with a scrape every 15 s (the agent's own interval is 15 s).
ticks() { awk '{ print $14 + $15 }' "/proc/$CGS_AGENT_PID/stat"; }
hz=$(getconf CLK_TCK)
t0=$(ticks); s0=$(date +%s%N)
end=$(( $(date +%s) + SECS ))
while [ "$(date +%s)" -lt "$end" ]; do
	curl -s -o /dev/null -H 'Accept-Encoding: gzip' "http://127.0.0.1:$CGS_PORT/metrics"
	sleep 15
done
t1=$(ticks); s1=$(date +%s%N)
cpu_pct=$("$PY" -c "print('%.3f' % (($t1 - $t0) / $hz / (($s1 - $s0) / 1e9) * 100))")

echo
echo "cgsight foundation benchmark: $N containers, $series series, exposition ${bytes} bytes (${gzbytes} gzipped)"
printf '  /metrics (gzip) median %8s ms  p90 %8s ms   target < 20 ms\n' "$m_med" "$m_p90"
printf '  /healthz baseline   %8s ms  p90 %8s ms   ratio metrics/healthz %s\n' "$h_med" "$h_p90" \
	"$("$PY" -c "print('%.1f' % ($m_med / $h_med))")"
printf '  RSS                 %8s MB                 target < 30 MB\n' "$("$PY" -c "print('%.1f' % ($rss_kb / 1024))")"
printf '  CPU                 %8s %% of one core (%s s, scrape every 15 s, interval 15 s)   target < 0.5 %%\n' "$cpu_pct" "$SECS"
