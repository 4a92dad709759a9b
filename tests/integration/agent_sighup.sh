#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# SIGHUP and SIGTERM, as the README documents them: SIGHUP reads the
# configuration file again and applies log_level at once (debug messages
# appear, then stop); other changed keys are named in the log and wait for a
# restart; a file that no longer parses changes nothing and the agent keeps
# running; a burst of SIGHUPs is harmless. SIGTERM exits 0 within 5 s.
# The debug messages watched are the log pipeline's "reconnecting to ..."
# (Fluentd at a port where nothing listens, retried every 100-200 ms).
source "$(dirname "$0")/../lib/common.sh"
cgs_init
cgs_test_cgroup_root

mkdir -p "$CGS_TMP/logs" "$CGS_TMP/state"
printf '2024-03-01T10:00:00.000000001Z stdout F hello\n' >"$CGS_TMP/logs/a.log"
CLOSED=$(cgs_free_port) # nothing listens there
CFG=$CGS_TMP/cgsight.yaml
config() { # LOG_LEVEL INTERVAL
	cat >"$CFG.tmp" <<EOF
log_level: $1
interval: $2
bpf: false
cgroup_root: "$ROOT"
logs: true
log_paths: ["$CGS_TMP/logs/*.log"]
log_position_file: "$CGS_TMP/state/pos"
log_spool_dir: ""
fluentd_address: "127.0.0.1:$CLOSED"
fluentd_retry_wait: 100ms
fluentd_retry_max_wait: 200ms
EOF
	mv "$CFG.tmp" "$CFG"
}
LOG=$CGS_TMP/agent.log
debug_lines() { grep -c ' debug .*reconnecting to ' "$LOG" || true; }
has() { grep -q -- "$1" "$LOG"; }
hup() { kill -HUP "$CGS_AGENT_PID"; sleep 0.5; }
alive() { kill -0 "$CGS_AGENT_PID" 2>/dev/null && curl -sf "http://127.0.0.1:$CGS_PORT/healthz" >/dev/null; }

config info 1s
cgs_start_agent --config "$CFG"
sleep 1.5
[ "$(debug_lines)" = 0 ] && cgs_pass "log_level info: no debug messages" || cgs_fail "debug messages at info"

hup
has "SIGHUP: configuration read again; log_level unchanged (info)" && alive &&
	cgs_pass "SIGHUP, file unchanged: read again, nothing to apply" || cgs_fail "SIGHUP unchanged: $(tail -3 "$LOG")"

config debug 1s
hup
sleep 1
n1=$(debug_lines)
has "SIGHUP: log_level info -> debug" && [ "$n1" -gt 0 ] &&
	cgs_pass "SIGHUP applies log_level debug: $n1 debug messages since" || cgs_fail "log_level debug not applied ($n1 debug lines)"

config warn 5s
hup
n2=$(debug_lines)
sleep 1
n3=$(debug_lines)
has "SIGHUP: log_level debug -> warn" && [ "$n2" = "$n3" ] &&
	cgs_pass "SIGHUP applies log_level warn: debug messages stop ($n3 in all)" || cgs_fail "log_level warn: $n2 -> $n3 debug lines"
has "SIGHUP: changed, not applied until a restart: interval" &&
	cgs_pass "a changed interval is named as waiting for a restart" || cgs_fail "no message about interval: $(grep SIGHUP "$LOG" | tail -2)"

printf 'log_level: loud\n' >"$CFG"
hup
has "SIGHUP: configuration error: .*log_level.*nothing changed" && alive &&
	cgs_pass "a bad file on SIGHUP: error logged, agent still up" || cgs_fail "bad file: $(tail -3 "$LOG")"
config debug 1s
for _ in $(seq 10); do kill -HUP "$CGS_AGENT_PID"; done
sleep 1
alive && [ "$(grep -c 'SIGHUP: log_level warn -> debug' "$LOG")" = 1 ] && cgs_pass "ten SIGHUPs in a row: still up, applied once" ||
	cgs_fail "SIGHUP burst: $(grep -c 'SIGHUP' "$LOG") SIGHUP lines"

t0=$(date +%s%N)
kill -TERM "$CGS_AGENT_PID"
rc=0; wait "$CGS_AGENT_PID" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$rc" = 0 ] && [ "$ms" -le 5000 ] && cgs_pass "SIGTERM: exit 0 in $ms ms" || cgs_fail "SIGTERM: exit $rc after $ms ms"
cgs_finish
