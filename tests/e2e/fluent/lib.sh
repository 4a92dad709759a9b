# SPDX-License-Identifier: Apache-2.0
#
# Helpers for the log pipeline's end-to-end tests (sourced after
# tests/lib/common.sh): a real Forward server (@fluent-org/logger's
# FluentServer, installed with `npm ci` from the committed lock file into the
# build tree, never into the source tree), the load writer/checker, and the
# agent with the logs collector on.

FL_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FL_DIR=${CGS_BUILD:-$CGS_TMP}/e2e-fluent

# The scriptable faulty Forward server (python3-msgpack) of the fault tests, and its checks.
FF=$FL_SRC/../../helpers/forward_fault.py
ff_require() {
	"$PY" -c 'import msgpack' 2>/dev/null || apt-get install -y python3-msgpack >/dev/null 2>&1 || true
	"$PY" -c 'import msgpack' || { echo "FAIL: python3-msgpack is needed (Debian python3-msgpack)" >&2; exit 1; }
}
# ff_start DIR MODE [PORT [serve options...]]: the server in the background (PID in FF_PID, its port in
# FF_PORT), writing DIR/out.jsonl (what it acknowledged), DIR/stats.json and DIR/server.log.
ff_start() {
	local dir=$1 mode=$2 port=${3:-0}
	shift 3 || shift $#
	rm -f "$dir/ready"
	"$PY" "$FF" serve --port "$port" --ready "$dir/ready" --out "$dir/out.jsonl" --stats "$dir/stats.json" \
		--mode "$mode" "$@" >>"$dir/server.log" 2>&1 &
	FF_PID=$!
	CGS_PIDS+=("$FF_PID")
	for _ in $(seq 50); do [ -s "$dir/ready" ] && break; sleep 0.1; done
	[ -s "$dir/ready" ] || { cat "$dir/server.log" >&2; echo "FAIL: forward_fault.py did not start" >&2; exit 1; }
	FF_PORT=$(cat "$dir/ready")
}
ff_stop() { local pid=${1:-$FF_PID}; kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; } # [PID]

# Installs FluentServer (once per lock file) into $FL_DIR.
fl_install() {
	command -v node >/dev/null && command -v npm >/dev/null ||
		{ echo "FAIL: node and npm are needed (Debian nodejs npm)" >&2; exit 1; }
	if ! cmp -s "$FL_SRC/package-lock.json" "$FL_DIR/package-lock.json" ||
		[ ! -f "$FL_DIR/node_modules/@fluent-org/logger/package.json" ]; then
		rm -rf "$FL_DIR"
		mkdir -p "$FL_DIR"
		cp "$FL_SRC/package.json" "$FL_SRC/package-lock.json" "$FL_DIR/"
		(cd "$FL_DIR" && npm ci --no-audit --no-fund --loglevel=error >"$CGS_TMP/npm.log" 2>&1) ||
			{ cat "$CGS_TMP/npm.log" >&2; echo "FAIL: npm ci of @fluent-org/logger failed" >&2; exit 1; }
	fi
	cp "$FL_SRC/server.js" "$FL_DIR/server.js"
	cgs_log "FluentServer $(node -p 'require(process.argv[1]).version' "$FL_DIR/node_modules/@fluent-org/logger/package.json") (node $(node --version))"
}

# fl_start OUT PORT [server.js options...]: starts FluentServer; sets FL_PID and FL_PORT.
fl_start() {
	local out=$1 port=$2 ready="$CGS_TMP/fl.ready.$RANDOM"
	shift 2
	rm -f "$ready"
	node "$FL_DIR/server.js" --port "$port" --out "$out" --ready "$ready" "$@" >>"$CGS_TMP/fluent.log" 2>&1 &
	FL_PID=$!
	CGS_PIDS+=("$FL_PID")
	for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.1; done
	[ -s "$ready" ] || { cat "$CGS_TMP/fluent.log" >&2; echo "FAIL: FluentServer did not start" >&2; exit 1; }
	FL_PORT=$(cat "$ready")
}

fl_stop() { # PID: SIGTERM, then wait until it has flushed its output
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# fl_wait_lines FILE RUN N TIMEOUT_S: until FILE holds N entries of run RUN (or the timeout); prints the count.
fl_wait_lines() {
	local n=0 end=$((SECONDS + $4))
	while [ $SECONDS -lt $end ]; do
		n=$(grep -c "run=$2 " "$1" 2>/dev/null || true)
		[ "${n:-0}" -ge "$3" ] && break
		sleep 0.5
	done
	echo "${n:-0}"
}

# The value of an agent series: mval METRICS 'name' ['label="value"'].
mval() {
	awk -v n="$2" -v l="${3:-}" '
		$1 == n || (index($1, n "{") == 1 && (l == "" || index($1, l))) { print $NF; exit }' <<<"$1"
}

fl_load() { "$PY" "$FL_SRC/logs_load.py" "$@"; }
# The same in the background only (`fl_load_bg ... &`): the exec makes $! the writer's own PID, so a
# test that stops it by that PID (CGS_PIDS) stops the writer, not just the subshell around it.
fl_load_bg() { exec "$PY" "$FL_SRC/logs_load.py" "$@"; }

# logs_agent ROOT STATE PORT [options...]: the agent tailing ROOT's /var/log/containers. With
# LOGS_CGROUP_ROOT (e.g. a test's own empty cgroup from cgs_test_cgroup_root), the agent sees only
# the containers below it: the node's other cgroups do not weigh on its loop or its memory.
logs_agent() {
	local root=$1 state=$2 port=$3
	shift 3
	cgs_start_agent --bpf false --interval 1s --logs true --node-name e2e-node \
		${LOGS_CGROUP_ROOT:+--cgroup-root "$LOGS_CGROUP_ROOT"} \
		--log-paths "$root/var/log/containers/*.log" --log-link-roots "$root/var/log/pods" \
		--log-position-file "$state/pos" --log-spool-dir "$state/spool" \
		--fluentd-address "127.0.0.1:$port" --log-commit-interval 100ms \
		--fluentd-retry-wait 200ms --fluentd-retry-max-wait 2s "$@"
}

agent_stop() {
	kill -TERM "$CGS_AGENT_PID" 2>/dev/null
	wait "$CGS_AGENT_PID" 2>/dev/null || true
}

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
