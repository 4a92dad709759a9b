#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: every panel of every dashboard in dashboards/ returns data from a real
# Prometheus (Debian's) that scraped a running agent while test workloads ran
# in three Kubernetes-shaped containers of namespace "demo" (containerd
# metadata): a frontend (CPU, syscalls ok and failing, page faults, TCP to
# the backend, failed connects), a backend (TCP echo server) and a batch job
# (CPU bursts, disk reads). tests/e2e/dashboards/check.py checks the
# dashboards' structure, that each variable offers the test's values, and
# that each query, variables substituted, returns a finite value; queries
# are retried until a deadline. Panels that need what this host cannot give a
# test cgroup are exempt only when the controller is really missing, with the
# reason; an exempt panel that has data fails (stale exemption). The
# dashboards must also be what scripts/dashboards.py generates, and
# tests/e2e/dashboards/render.py must draw every panel from the recorded data.
#
# CGS_DASHBOARD_PICTURES=1: run the workloads for CGS_DASHBOARD_SECONDS
# (default 360) and write the pictures to docs/dashboards/ (committed).
source "$(dirname "$0")/../lib/common.sh"
cgs_init
D="$CGS_SRC/tests/e2e/dashboards"
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
command -v prometheus >/dev/null || { echo "FAIL: prometheus is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }
if ! "$PY" -c 'import matplotlib' 2>/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-matplotlib >/dev/null 2>&1 || true
	"$PY" -c 'import matplotlib' 2>/dev/null ||
		{ echo "FAIL: python3-matplotlib is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }
fi
PICTURES=${CGS_DASHBOARD_PICTURES:-}
SECONDS_RUN=${CGS_DASHBOARD_SECONDS:-360}

# The committed dashboards are the generator's output.
mkdir -p "$CGS_TMP/generated"
if "$PY" "$CGS_SRC/scripts/dashboards.py" "$CGS_TMP/generated" && diff -r "$CGS_TMP/generated" "$CGS_SRC/dashboards" >/dev/null; then
	cgs_pass "dashboards/ is what scripts/dashboards.py generates"
else
	cgs_fail "dashboards/ drifted from scripts/dashboards.py: regenerate with scripts/dashboards.py"
fi

# Three pod containers as containerd's CRI plugin lays them out.
cgs_test_cgroup_root
NS=demo
CS="$CGS_TMP/containerd"
declare -A POD=([frontend]=frontend-7c9d8f6b5-q2x8v [backend]=backend-5d8b9c7f4-m4k7z [batch]=batch-28491730-j6wqd)
declare -A QOS=([frontend]=besteffort [backend]=besteffort [batch]=burstable)
declare -A CG
for c in frontend backend batch; do
	id=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	uid=$(cat /proc/sys/kernel/random/uuid)
	mkdir -p "$CS/k8s.io/$id"
	printf '{"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.container-name":"%s","io.kubernetes.cri.sandbox-name":"%s","io.kubernetes.cri.sandbox-namespace":"%s","io.kubernetes.cri.sandbox-uid":"%s","io.kubernetes.cri.image-name":"registry.example/demo/%s:1.4.2"}}' \
		"$c" "${POD[$c]}" "$NS" "$uid" "$c" >"$CS/k8s.io/$id/config.json"
	CG[$c]="$ROOT/kubepods/${QOS[$c]}/pod$uid/$id"
	mkdir -p "${CG[$c]}"
done

# Controllers this host lets a test cgroup have (a hybrid host keeps cpu,
# memory and io in v1, which belongs to the machine: never written there).
# Where one is available it is enabled down to the containers and the batch
# job gets limits, so its panels must show data.
HAVE=" $(cat "$ROOT/cgroup.controllers") "
enable() { # enable CONTROLLER: in every cgroup from ROOT down to the pods
	local c=$1 d
	while read -r d; do
		echo "+$c" >"$d/cgroup.subtree_control" || { echo "FAIL: cannot enable $c in $d" >&2; exit 1; }
	done < <(find "$ROOT" -mindepth 0 -maxdepth 3 -type d | sort)
}
MIB=8
for c in cpu memory io; do [[ $HAVE == *" $c "* ]] && enable "$c"; done
if [[ $HAVE == *" cpu "* ]]; then echo "50000 100000" >"${CG[batch]}/cpu.max"; fi
if [[ $HAVE == *" memory "* ]]; then echo $((64 << 20)) >"${CG[batch]}/memory.max"; MIB=128; fi
cgs_log "controllers for test cgroups:${HAVE% }"

# panel title, or "title [refId]" -> controller|why it is empty without it
declare -A NEEDS=(
	["CPU throttled (share of periods)"]="cpu|needs a CPU quota (cpu.max)"
	["Working set"]="memory|needs memory.current"
	["Memory [B]"]="memory|page cache needs memory.stat"
	["Memory [C]"]="memory|working set needs memory.current"
	["Memory limit"]="memory|needs memory.max"
	["Reclaim stalls"]="memory|needs memory-cgroup reclaim, i.e. a memory limit"
	["Disk read / write"]="io|needs io.stat"
)
EXEMPT="$CGS_TMP/exempt.tsv"
: >"$EXEMPT"
for k in "${!NEEDS[@]}"; do
	ctl=${NEEDS[$k]%%|*}; why=${NEEDS[$k]#*|}
	[[ $HAVE == *" $ctl "* ]] ||
		printf '%s\t%s: the test cgroups have no %s controller (cgroup v2 lacks it here; v1 is the machine'"'"'s)\n' \
			"$k" "$why" "$ctl" >>"$EXEMPT"
done

cgs_start_agent --interval 1s --containerd-state-dir "$CS"
RUN=$((PICTURES ? SECONDS_RUN + 300 : 600)) # upper bound; ended by PID at the end
PORT=$(cgs_free_port); DEAD=$(cgs_free_port)
"$PY" "$D/workload.py" backend "${CG[backend]}" "$RUN" "$PORT" & CGS_PIDS+=($!)
for _ in $(seq 100); do
	"$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$PORT" 2>/dev/null && break
	sleep 0.1
done
"$PY" "$D/workload.py" frontend "${CG[frontend]}" "$RUN" "$PORT" "$DEAD" & CGS_PIDS+=($!)
# The batch job's file on a disk (/tmp may be a tmpfs, which io.stat never sees).
DISKDIR=$(mktemp -d /var/tmp/cgs-dashboards.XXXXXX)
cgs_cleanup_hook() { rm -rf "$DISKDIR"; }
"$PY" "$D/workload.py" batch "${CG[batch]}" "$RUN" "$DISKDIR/batch.dat" "$MIB" & CGS_PIDS+=($!)

cgs_start_prometheus
PROM="http://127.0.0.1:$PPORT"
for i in $(seq 120); do
	curl -sf "$PROM/-/ready" >/dev/null && break
	[ "$i" = 120 ] && { tail -5 "$CGS_TMP/prometheus.log" >&2; echo "FAIL: Prometheus not ready within 60 s" >&2; exit 1; }
	sleep 0.5
done
START=$(date +%s)
cgs_log "Prometheus on port $PPORT scrapes the agent every second"

SEL="$CGS_TMP/selection.json"
pods=$(printf '"%s",' "${POD[@]}"); pods=${pods%,}
printf '{"select": {"namespace": ["%s"], "pod": [%s], "container": ["frontend","backend","batch"], "name": []},
 "expect": {"namespace": ["%s"], "pod": [%s], "container": ["frontend","backend","batch"]}}\n' \
	"$NS" "$pods" "$NS" "$pods" >"$SEL"
# Rates need a few scrapes of each workload: retried for up to 120 s (a loaded machine scrapes late).
if "$PY" "$D/check.py" "$PROM" "$CGS_SRC/dashboards" "$EXEMPT" "$SEL" 120 >"$CGS_TMP/check.out" 2>&1; then
	cgs_pass "every panel query has data: $(tail -1 "$CGS_TMP/check.out")"
else
	cgs_fail "panel queries: $(tail -1 "$CGS_TMP/check.out")"
fi
grep -E '^(FAIL|EXEMPT)' "$CGS_TMP/check.out" >&2 || true

# Pictures: "All" pods and containers of the namespace, as a user would open the dashboards.
printf '{"select": {"namespace": ["%s"], "pod": [], "container": [], "name": []}}\n' "$NS" >"$CGS_TMP/all.json"
OUT="$CGS_TMP/pictures"
# At least 20 s recorded: a rate panel over a shorter range (the checks can
# pass within seconds) may hold no two scrapes in any of its 8 s windows.
REC=20
if [ -n "$PICTURES" ]; then
	OUT="$CGS_SRC/docs/dashboards"
	REC=$SECONDS_RUN
fi
left=$((START + REC - $(date +%s)))
if [ "$left" -gt 0 ]; then
	cgs_log "recording for $left s more before drawing the pictures"
	sleep "$left"
fi
# $__rate_interval as Grafana derives it from a 2 s scrape interval setting of the data source: 8 s.
if "$PY" "$D/render.py" "$PROM" "$CGS_SRC/dashboards" "$OUT" "$((START + 2))" "$(date +%s)" "$CGS_TMP/all.json" \
	"$EXEMPT" 2 >"$CGS_TMP/render.out" 2>&1; then
	cgs_pass "every panel drawn from the recorded data ($(grep -c '^wrote' "$CGS_TMP/render.out") pictures in $OUT)"
else
	cgs_fail "drawing the dashboards: $(grep -E 'EMPTY|Error' "$CGS_TMP/render.out" | head -5 | tr '\n' ' ')$(tail -3 "$CGS_TMP/render.out")"
fi
kill -0 "$CGS_AGENT_PID" 2>/dev/null && cgs_pass "agent still running" || { tail -20 "$CGS_TMP/agent.log" >&2; cgs_fail "agent exited"; }
cgs_finish
