# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the script tests (sourced). Every process a test starts
# is remembered by PID and ended by PID; every cgroup it creates is removed,
# deepest first, by cgs_cleanup (installed as an EXIT trap by cgs_init).

set -euo pipefail

: "${CGS_BIN:?CGS_BIN must point at the cgsight binary}"
PY=/usr/bin/python3
CGS_PIDS=()
CGS_AGENT_PREFIX=()
CGS_CGROUPS=()
CGS_TMP=$(mktemp -d /tmp/cgs-test.XXXXXX)
CGS_FAILS=0
CGS_PASSES=0

cgs_log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }

cgs_cleanup() {
	local rc=$?
	set +e
	# A test may register more cleanup (e.g. runtimes.sh's cgs_rt_cleanup).
	declare -F cgs_cleanup_hook >/dev/null && cgs_cleanup_hook
	for pid in "${CGS_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${CGS_PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
	done
	# Deepest first.
	for ((i = ${#CGS_CGROUPS[@]} - 1; i >= 0; i--)); do
		local d=${CGS_CGROUPS[$i]}
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	[ -n "${CGS_KEEP_TMP:-}" ] || rm -rf "$CGS_TMP"
	exit $rc
}

cgs_init() {
	trap cgs_cleanup EXIT
	[ "$(id -u)" = 0 ] || { echo "FAIL: this test needs root" >&2; exit 1; }
}

# The cgroup2 mount of this host (hybrid or pure).
cgs_cg2_root() {
	awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo
}

# Creates a test subtree in the v2 hierarchy, registers it for removal, and
# sets ROOT (absolute), REL (relative to the cgroup2 root) and CG2 (the root).
# Not to be called in a subshell: the registration must reach cgs_cleanup.
cgs_test_cgroup_root() {
	CG2=$(cgs_cg2_root)
	[ -n "$CG2" ] || { echo "FAIL: no cgroup2 mount" >&2; exit 1; }
	REL="/cgsight-test-$$"
	ROOT="$CG2$REL"
	mkdir -p "$ROOT"
	CGS_CGROUPS+=("$ROOT")
}

# Starts the agent with extra args; sets CGS_AGENT_PID and CGS_PORT. With
# CGS_AGENT_PREFIX (an array), the agent runs under that command (e.g. nsenter).
cgs_start_agent() {
	local log="$CGS_TMP/agent.log"
	: >"$log"
	"${CGS_AGENT_PREFIX[@]}" "$CGS_BIN" agent --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
	CGS_AGENT_PID=$!
	CGS_PIDS+=("$CGS_AGENT_PID")
	for _ in $(seq 100); do
		CGS_PORT=$(sed -n 's/.*serving on .* (port \([0-9]*\)).*/\1/p' "$log" | head -1)
		[ -n "$CGS_PORT" ] && break
		kill -0 "$CGS_AGENT_PID" 2>/dev/null || { cat "$log" >&2; echo "FAIL: agent exited" >&2; exit 1; }
		sleep 0.1
	done
	[ -n "$CGS_PORT" ] || { cat "$log" >&2; echo "FAIL: agent did not start" >&2; exit 1; }
	cgs_log "agent pid $CGS_AGENT_PID on port $CGS_PORT"
}

cgs_metrics() { curl -sf "http://127.0.0.1:$CGS_PORT/metrics"; }

# Starts a real Prometheus (Debian package) scraping the agent every second;
# sets PPORT, its port on loopback. The caller has started the agent.
cgs_start_prometheus() {
	PPORT=$(cgs_free_port)
	cat > "$CGS_TMP/prometheus.yml" <<YML
global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: cgsight
    static_configs: [ { targets: ["127.0.0.1:$CGS_PORT"] } ]
YML
	prometheus --config.file="$CGS_TMP/prometheus.yml" --storage.tsdb.path="$CGS_TMP/tsdb" \
		--web.listen-address="127.0.0.1:$PPORT" > "$CGS_TMP/prometheus.log" 2>&1 &
	CGS_PIDS+=($!)
}

# A free TCP port on loopback.
# Whether CGS_BIN is a sanitizer build (ASan's shadow memory and quarantine make its RSS no measure of
# the agent's memory: RSS bounds are not checked there, and the test says so).
cgs_sanitized() {
	# Whole output, no early-exiting reader in a pipe: under pipefail, nm's SIGPIPE would answer "no".
	[ -n "${CGS_SANITIZED:-}" ] || { [[ $(nm -D "$CGS_BIN" 2>/dev/null) == *" __asan_init"* ]] && CGS_SANITIZED=1 || CGS_SANITIZED=0; }
	[ "$CGS_SANITIZED" = 1 ]
}
cgs_free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cgs_api() { curl -sf "http://127.0.0.1:$CGS_PORT/api/v1/containers"; }

# Whether the current exposition matches an extended regex. The body is
# captured first: `curl | grep -q` under pipefail fails when grep exits early.
# Exit 0 match, 1 no match, 2 scrape failed.
cgs_metrics_has() {
	local m
	m=$(cgs_metrics) || return 2
	grep -qE -- "$1" <<<"$m"
}

# cgs_check NAME COND_EXIT_STATUS MESSAGE: records a pass or a failure.
cgs_pass() { CGS_PASSES=$((CGS_PASSES + 1)); cgs_log "PASS: $*"; }
cgs_fail() { CGS_FAILS=$((CGS_FAILS + 1)); cgs_log "FAIL: $*"; }

cgs_finish() {
	echo "$CGS_PASSES passed, $CGS_FAILS failed"
	[ "$CGS_FAILS" = 0 ]
}

# Value of a series: cgs_value "<metrics text>" 'family' 'label matcher substring'
cgs_value() {
	awk -v f="$2{" -v m="$3" 'index($0, f) == 1 && index($0, m) { print $NF; exit }' <<<"$1"
}
