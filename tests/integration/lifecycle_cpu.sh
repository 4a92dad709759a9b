#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root + BPF): container-shaped cgroups in the real v2 hierarchy
# are found by the BPF lifecycle tracker within 1 s of creation; the CPU they
# burn (in the container cgroup and in a nested one) shows in
# container_cpu_usage_seconds_total within 2 % of the cgroup's own cpu.stat;
# their series vanish after removal. Then the same discovery with BPF off
# (the rescan safety net).
source "$(dirname "$0")/../lib/common.sh"
cgs_init

cgs_test_cgroup_root
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
ID_D=$(hex64); ID_K=$(hex64); ID_P=$(hex64)
POD=$(cat /proc/sys/kernel/random/uuid)
declare -A PATHS=(
	[$ID_D]="$REL/docker/$ID_D"
	[$ID_K]="$REL/kubepods/besteffort/pod$POD/$ID_K"
	[$ID_P]="$REL/libpod_parent/libpod-$ID_P"
)

cgs_start_agent --interval 1s --rescan-interval 60s --log-level debug

# Least privilege: after loading BPF the agent keeps only CAP_DAC_READ_SEARCH (2) and
# CAP_SYS_PTRACE (19); everything below (discovery through BPF events) runs without the rest.
capeff=$(awk '/^CapEff/ { print $2 }' "/proc/$CGS_AGENT_PID/status")
[ "$capeff" = 0000000000080004 ] && cgs_pass "capabilities dropped after BPF load (CapEff $capeff)" ||
	cgs_fail "CapEff after start is $capeff, want 0000000000080004"

api_has() { cgs_api | "$PY" -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(c["container_id"]==sys.argv[1] for c in d["containers"]) else 1)' "$1"; }

# 1. Discovery within 1 s of mkdir.
for id in "$ID_D" "$ID_K" "$ID_P"; do
	t0=$(date +%s%N)
	mkdir -p "$CG2${PATHS[$id]}"
	found=
	while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 3000 ]; do
		if api_has "$id"; then found=$(( ($(date +%s%N) - t0) / 1000000 )); break; fi
		sleep 0.02
	done
	if [ -n "$found" ] && [ "$found" -lt 1000 ]; then
		cgs_pass "container ${PATHS[$id]} found ${found} ms after mkdir"
	else
		cgs_fail "container ${PATHS[$id]} not found within 1 s (${found:-never} ms)"
	fi
done
mkdir "$CG2${PATHS[$ID_D]}/nested"

# 2. CPU burners: in the docker container's cgroup, in its nested cgroup, and in the pod container.
burn() { # burn CGROUP_DIR SECONDS
	bash -c 'echo $BASHPID > "$1/cgroup.procs"; end=$((SECONDS + $2)); while [ $SECONDS -lt $end ]; do :; done' _ "$1" "$2" &
	CGS_PIDS+=($!)
}
burn "$CG2${PATHS[$ID_D]}" 3
burn "$CG2${PATHS[$ID_D]}/nested" 3
burn "$CG2${PATHS[$ID_K]}" 3
wait "${CGS_PIDS[@]:1}" 2>/dev/null || true
sleep 2.5 # two collections after the burners ended

M=$(cgs_metrics)
for id in "$ID_D" "$ID_K"; do
	got=$(cgs_value "$M" container_cpu_usage_seconds_total "id=\"${PATHS[$id]}\"")
	want=$(awk '$1 == "usage_usec" { printf "%.6f", $2 / 1e6 }' "$CG2${PATHS[$id]}/cpu.stat")
	if [ -z "$got" ]; then
		cgs_fail "no container_cpu_usage_seconds_total for ${PATHS[$id]}"
		continue
	fi
	if "$PY" -c 'import sys; g,w=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if w > 0.2 and abs(g-w) <= 0.02*w else 1)' "$got" "$want"; then
		cgs_pass "cpu usage of ${PATHS[$id]}: agent $got s, cpu.stat $want s"
	else
		cgs_fail "cpu usage of ${PATHS[$id]}: agent $got s, cpu.stat $want s (want within 2 %, > 0.2 s)"
	fi
done
# The nested burner counts for its container: the container's figure holds the nested cgroup's.
got=$(cgs_value "$M" container_cpu_usage_seconds_total "id=\"${PATHS[$ID_D]}\"")
nested=$(awk '$1 == "usage_usec" { printf "%.6f", $2 / 1e6 }' "$CG2${PATHS[$ID_D]}/nested/cpu.stat")
"$PY" -c 'import sys; g,n=float(sys.argv[1]),float(sys.argv[2]); sys.exit(0 if n > 0.2 and g >= n * 1.2 else 1)' "${got:-0}" "$nested" &&
	cgs_pass "nested cgroup's CPU ($nested s) counted in its container's ($got s)" ||
	cgs_fail "nested cgroup's CPU ($nested s) not counted in its container's ($got s)"
# Labels: the kubepods container carries its pod uid path; podman one its id.
grep -qF "container_cpu_usage_seconds_total{container=\"\",id=\"${PATHS[$ID_P]}\",image=\"\",name=\"\",namespace=\"\",pod=\"\"}" <<<"$M" &&
	cgs_pass "podman-shaped container exported with empty metadata labels" ||
	cgs_fail "podman-shaped container series missing or mislabelled"
# No duplicate series.
dups=$(grep -v '^#' <<<"$M" | awk '{ $NF=""; print }' | sort | uniq -d | wc -l)
[ "$dups" = 0 ] && cgs_pass "no duplicate series" || cgs_fail "$dups duplicate series"

# 3. Removal: series vanish.
for id in "$ID_D" "$ID_K" "$ID_P"; do
	find "$CG2${PATHS[$id]}" -depth -type d -exec rmdir {} \;
done
t0=$(date +%s%N)
gone=
while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 3000 ]; do
	rc=0; cgs_metrics_has "$ID_D|$ID_K|$ID_P" || rc=$?
	if [ "$rc" = 1 ]; then gone=$(( ($(date +%s%N) - t0) / 1000000 )); break; fi
	sleep 0.05
done
[ -n "$gone" ] && cgs_pass "series of removed containers gone after ${gone} ms" ||
	cgs_fail "series of removed containers still exported after 3 s"
kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true

# 4. Without BPF the rescan finds containers.
cgs_start_agent --interval 1s --rescan-interval 1s --bpf false
ID_R=$(hex64)
mkdir -p "$CG2$REL/docker/$ID_R"
found=
for _ in $(seq 60); do api_has "$ID_R" && { found=1; break; }; sleep 0.1; done
[ -n "$found" ] && cgs_pass "rescan found a container with bpf off" || cgs_fail "rescan did not find the container with bpf off"
grep -q "collector lifecycle off" "$CGS_TMP/agent.log" && cgs_pass "bpf off is logged" || cgs_fail "bpf off not logged"
rmdir "$CG2$REL/docker/$ID_R"

cgs_finish
