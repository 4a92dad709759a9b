#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e with a real Forward server (@fluent-org/logger's FluentServer, from npm):
# the agent tails a Kubernetes node layout (/var/log/containers links into
# /var/log/pods) while a writer appends CRI lines to 50 files and rotates
# them every 10,000 lines (rename + create and copytruncate, alternately).
#   1. no fault: 100,000 lines arrive, each once, in order per file, with
#      their pod's metadata and tag;
#   2. kill -9 of the agent mid-stream and a restart: every line arrives at
#      least once; duplicates stay within the unacknowledged window;
#   3. the server stopped for 30 s mid-stream and restarted: every line
#      arrives (the outage spills into the spool);
#   4. a server that never acks: nothing is committed, the agent keeps
#      resending, reading pauses, and its memory stays within the budget;
#   5. the shared-key handshake: the right key ships, a wrong one does not.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/fluent/lib.sh"
cgs_init
fl_install
cgs_test_cgroup_root
LOGS_CGROUP_ROOT=$ROOT

FILES=50
LINES=100000
RATE=20000

# ---- 1. no fault -------------------------------------------------------------
R=$CGS_TMP/r1; OUT=$CGS_TMP/out1.jsonl
fl_start "$OUT" 0
logs_agent "$R" "$R/state" "$FL_PORT"
fl_load write --root "$R" --files $FILES --lines $LINES --rotate 10000 --rate $RATE --run 1 >"$CGS_TMP/w1.json"
cgs_log "writer: $(cat "$CGS_TMP/w1.json")"
n=$(fl_wait_lines "$OUT" 1 $LINES 60)
sleep 1
M=$(cgs_metrics)
if res=$(fl_load check --out "$OUT" --run 1 --files $FILES --lines $LINES --max-dups 0 --in-order --node e2e-node); then
	cgs_pass "no fault: $LINES lines over $FILES files with 9 rotations: $res"
else
	cgs_fail "no fault: $res"
fi
acked=$(mval "$M" cgsight_logs_acked_records_total)
[ "$acked" = "$LINES" ] && cgs_pass "cgsight_logs_acked_records_total = $acked" || cgs_fail "acked records $acked, want $LINES"
rn=$(mval "$M" cgsight_logs_rotations_total 'kind="rename"'); tr=$(mval "$M" cgsight_logs_rotations_total 'kind="truncate"')
[ "${rn:-0}" -ge $((5 * FILES)) ] && [ "${tr:-0}" -ge $((4 * FILES)) ] &&
	cgs_pass "rotations followed: $rn renames, $tr truncations" || cgs_fail "rotations: $rn renames, $tr truncations"
grep -q '^cgsight_logs_forward_up 1' <<<"$M" && cgs_pass "forward up" || cgs_fail "cgsight_logs_forward_up not 1"
agent_stop
fl_stop "$FL_PID"

# ---- 2. kill -9 mid-stream, restart ---------------------------------------------
R=$CGS_TMP/r2; OUT=$CGS_TMP/out2.jsonl
WIN=262144; CHUNK=65536
fl_start "$OUT" 0
logs_agent "$R" "$R/state" "$FL_PORT" --fluentd-window-bytes $WIN --log-chunk-bytes $CHUNK
fl_load_bg write --root "$R" --files $FILES --lines $LINES --rotate 10000 --rate $RATE --run 2 >"$CGS_TMP/w2.json" &
WP=$!
CGS_PIDS+=("$WP")
sleep 2.5
before=$(grep -c "run=2 " "$OUT" || true)
kill -9 "$CGS_AGENT_PID"
wait "$CGS_AGENT_PID" 2>/dev/null || true
cgs_log "agent killed with SIGKILL after $before records arrived"
sleep 1
logs_agent "$R" "$R/state" "$FL_PORT" --fluentd-window-bytes $WIN --log-chunk-bytes $CHUNK
wait "$WP"
cgs_log "writer: $(cat "$CGS_TMP/w2.json")"
fl_wait_lines "$OUT" 2 $LINES 60 >/dev/null
sleep 2
# Unacknowledged at the kill: open chunks (log_flush_interval 200 ms of lines), what reading may run
# ahead of sending (2 windows) and the window in flight, plus what was acked after the last commit (100 ms).
BOUND=$(( (3 * WIN + CHUNK) / 300 + RATE * 300 / 1000 ))
if res=$(fl_load check --out "$OUT" --run 2 --files $FILES --lines $LINES --max-dups $BOUND --node e2e-node); then
	cgs_pass "kill -9 and restart: every line at least once, duplicates within $BOUND: $res"
else
	cgs_fail "kill -9 and restart (duplicates allowed: $BOUND): $res"
fi
agent_stop
fl_stop "$FL_PID"

# ---- 3. server down for 30 s ---------------------------------------------------
R=$CGS_TMP/r3; OUT=$CGS_TMP/out3.jsonl
fl_start "$OUT" 0
PORT3=$FL_PORT
logs_agent "$R" "$R/state" "$PORT3" --log-buffer-bytes 1048576
fl_load_bg write --root "$R" --files $FILES --lines $LINES --rotate 10000 --rate 5000 --run 3 >"$CGS_TMP/w3.json" &
WP=$!
CGS_PIDS+=("$WP")
sleep 2
fl_stop "$FL_PID"
cgs_log "FluentServer stopped after $(grep -c 'run=3 ' "$OUT" || true) records"
spool_max=0
for _ in $(seq 30); do
	sleep 1
	s=$(mval "$(cgs_metrics)" cgsight_logs_buffer_bytes 'where="spool"')
	[ "${s%.*}" -gt "$spool_max" ] 2>/dev/null && spool_max=${s%.*}
done
M=$(cgs_metrics)
fl_start "$OUT" "$PORT3"
cgs_log "FluentServer back on port $FL_PORT"
wait "$WP"
cgs_log "writer: $(cat "$CGS_TMP/w3.json")"
fl_wait_lines "$OUT" 3 $LINES 90 >/dev/null
sleep 2
if res=$(fl_load check --out "$OUT" --run 3 --files $FILES --lines $LINES --max-dups -1 --node e2e-node); then
	cgs_pass "server down 30 s: every line arrived: $res"
else
	cgs_fail "server down 30 s: $res"
fi
[ "$spool_max" -gt 0 ] && cgs_pass "the outage spilled into the spool (up to $spool_max bytes)" ||
	cgs_fail "the spool was not used during the outage"
e=$(( $(mval "$M" cgsight_logs_forward_errors_total 'reason="connect"') + $(mval "$M" cgsight_logs_forward_errors_total 'reason="closed"') ))
[ "$e" -gt 0 ] && cgs_pass "connection failures counted ($e)" || cgs_fail "no connection failure counted"
M=$(cgs_metrics)
[ "$(mval "$M" cgsight_logs_buffer_bytes 'where="spool"')" = 0 ] && cgs_pass "spool empty once acknowledged" ||
	cgs_fail "spool not empty: $(mval "$M" cgsight_logs_buffer_bytes 'where="spool"')"
agent_stop
fl_stop "$FL_PID"

# ---- 4. a server that never acks -------------------------------------------------
R=$CGS_TMP/r4; OUT=$CGS_TMP/out4.jsonl
BUDGET=2097152; WIN4=1048576
fl_start "$OUT" 0 --no-ack
logs_agent "$R" "$R/state" "$FL_PORT" --log-buffer-bytes $BUDGET --fluentd-window-bytes $WIN4 \
	--log-spool-dir "" --fluentd-ack-timeout 2s
sleep 1
base=$(rss_kb "$CGS_AGENT_PID")
fl_load write --root "$R" --files $FILES --lines 50000 --rotate 0 --rate 25000 --run 4 >"$CGS_TMP/w4.json"
peak=$base
for _ in $(seq 20); do
	r=$(rss_kb "$CGS_AGENT_PID")
	[ "$r" -gt "$peak" ] && peak=$r
	sleep 0.5
done
M=$(cgs_metrics)
got=$(grep -c "run=4 " "$OUT" || true)
[ "$got" -gt 0 ] && cgs_pass "records reach the server ($got entries, resends included)" || cgs_fail "nothing reached the server"
[ "$(mval "$M" cgsight_logs_acked_records_total)" = 0 ] && cgs_pass "nothing acknowledged" || cgs_fail "acked: $(mval "$M" cgsight_logs_acked_records_total)"
entries=$(grep -vc '^#' "$R/state/pos" 2>/dev/null || true)
[ "${entries:-0}" = 0 ] && cgs_pass "nothing committed to the position store" || cgs_fail "$entries positions committed: $(cat "$R/state/pos")"
retried=$(mval "$M" cgsight_logs_retried_records_total); timeouts=$(mval "$M" cgsight_logs_forward_errors_total 'reason="ack_timeout"')
[ "${retried%.*}" -gt 0 ] && [ "$timeouts" -ge 2 ] && cgs_pass "keeps retrying: $retried records resent after $timeouts ack timeouts" ||
	cgs_fail "retries: $retried records, $timeouts ack timeouts"
bp=$(mval "$M" cgsight_logs_backpressure_seconds_total)
"$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 1 else 1)' "$bp" && cgs_pass "reading paused for $bp s (backpressure)" ||
	cgs_fail "backpressure seconds $bp"
grow=$(( (peak - base) * 1024 ))
limit=$(( BUDGET + WIN4 + 8 * 1048576 ))
[ "$grow" -le "$limit" ] && cgs_pass "RSS grew by $((grow / 1024)) KiB (budget $((BUDGET / 1024)) KiB + window $((WIN4 / 1024)) KiB, 8 MiB slack)" ||
	cgs_fail "RSS grew by $((grow / 1024)) KiB, over $((limit / 1024)) KiB"
mem=$(mval "$M" cgsight_logs_buffer_bytes 'where="memory"')
[ "${mem%.*}" -le $((BUDGET + WIN4)) ] && cgs_pass "buffer $mem bytes within budget" || cgs_fail "buffer $mem bytes"
agent_stop
fl_stop "$FL_PID"

# ---- 5. shared key -----------------------------------------------------------
R=$CGS_TMP/r5; OUT=$CGS_TMP/out5.jsonl
printf 'e2e-shared-secret\n' >"$CGS_TMP/key"; printf 'wrong\n' >"$CGS_TMP/badkey"
fl_start "$OUT" 0 --shared-key e2e-shared-secret --server-hostname fluent-e2e
logs_agent "$R" "$R/state" "$FL_PORT" --fluentd-shared-key-file "$CGS_TMP/key" --fluentd-hostname cgsight-e2e
fl_load write --root "$R" --files 5 --lines 1000 --rotate 0 --rate 10000 --run 5 >/dev/null
n=$(fl_wait_lines "$OUT" 5 1000 20)
[ "$n" = 1000 ] && cgs_pass "shared-key handshake: 1000 lines shipped" || cgs_fail "shared key: $n of 1000 lines"
agent_stop
logs_agent "$R" "$CGS_TMP/r5b" "$FL_PORT" --fluentd-shared-key-file "$CGS_TMP/badkey" --fluentd-hostname cgsight-e2e
sleep 3
M=$(cgs_metrics)
n2=$(grep -c 'run=5 ' "$OUT" || true)
hs=$(mval "$M" cgsight_logs_forward_errors_total 'reason="handshake"')
[ "$n2" = 1000 ] && [ "$hs" -ge 1 ] && cgs_pass "a wrong key ships nothing ($hs handshake failures)" ||
	cgs_fail "wrong key: $n2 entries, $hs handshake failures"
grep -q "refused our shared key\|does not know our shared key" "$CGS_TMP/agent.log" &&
	cgs_pass "the refusal is logged" || cgs_fail "no handshake message in the log"
agent_stop
fl_stop "$FL_PID"

cgs_finish
