#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The log pipeline on a full disk: log_position_file and log_spool_dir live
# on a 1 MiB tmpfs mounted in a private mount namespace (held by a process of
# the test, gone with it), which the test fills and frees.
#   1. disk full while Fluentd acknowledges: the agent keeps shipping and
#      serving /metrics, commits nothing (the position file keeps its bytes),
#      counts the failed writes (cgsight_logs_write_errors_total) and logs the
#      condition once, not per attempt;
#   2. space back: the next commit writes every acknowledged offset, and the
#      recovery is logged once;
#   3. full again: lines acknowledged but not committed; then Fluentd gone:
#      spool writes fail (counted, logged once), chunks stay in memory within
#      the budget and reading pauses;
#   4. kill -9 while full, space freed, Fluentd and the agent back: every
#      line of every phase is delivered (at least once, exact content): what
#      was acknowledged but not committed is sent again, nothing is skipped.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../e2e/fluent/lib.sh"
cgs_init
cgs_test_cgroup_root
LOGS_CGROUP_ROOT=$ROOT

ff_require

BUDGET=1048576
WIN=262144
MNT=$CGS_TMP/disk
R=$CGS_TMP/r
OUT=$CGS_TMP/out.jsonl
mkdir -p "$MNT" "$R"

# A private mount namespace, held by a sleep of ours; the tmpfs exists only there.
unshare --mount --propagation private sleep 600 &
HOLDER=$!
CGS_PIDS+=("$HOLDER")
sleep 0.2
IN_NS=(nsenter -t "$HOLDER" -m --)
"${IN_NS[@]}" mount -t tmpfs -o size=1m,mode=0700 cgsight-test-full "$MNT" ||
	{ echo "FAIL: cannot mount a tmpfs in a private mount namespace" >&2; exit 1; }
"${IN_NS[@]}" findmnt -n "$MNT" >/dev/null && ! findmnt -n "$MNT" >/dev/null &&
	cgs_pass "1 MiB tmpfs at $MNT, in the test's mount namespace only" || cgs_fail "tmpfs not private"
fill() { "${IN_NS[@]}" dd if=/dev/zero of="$MNT/fill" bs=4k 2>/dev/null || true; }
unfill() { "${IN_NS[@]}" rm -f "$MNT/fill"; }
avail() { "${IN_NS[@]}" df --output=avail -B1 "$MNT" | tail -1 | tr -d ' '; }
pos() { "${IN_NS[@]}" cat "$MNT/pos" 2>/dev/null || true; }

num() { printf '%.0f' "${1:-0}"; }
start_agent() {
	CGS_AGENT_PREFIX=("${IN_NS[@]}")
	logs_agent "$R" "$MNT" "$FF_PORT" --log-position-file "$MNT/pos" --log-spool-dir "$MNT/spool" \
		--log-buffer-bytes $BUDGET --fluentd-window-bytes $WIN --log-chunk-bytes 65536 \
		--fluentd-ack-timeout 2s --fluentd-retry-wait 100ms --fluentd-retry-max-wait 1s
	CGS_AGENT_PREFIX=()
	# The agent runs in the namespace; the mount is not in ours.
	[ "$(readlink "/proc/$CGS_AGENT_PID/ns/mnt")" = "$(readlink "/proc/$HOLDER/ns/mnt")" ] ||
		{ echo "FAIL: the agent is not in the test's mount namespace" >&2; exit 1; }
}
write() { fl_load write --root "$R" --files 5 --lines "$1" --rotate 0 --rate 4000 --run "$2" >/dev/null; }
# Until everything written was read and acknowledged.
wait_acked() {
	local M
	for _ in $(seq 100); do
		M=$(cgs_metrics) || { sleep 0.2; continue; }
		[ "$(num "$(mval "$M" cgsight_logs_lag_bytes 'stage="unread"')")" = 0 ] &&
			[ "$(num "$(mval "$M" cgsight_logs_lag_bytes 'stage="unacked"')")" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}
sizes_committed() { # whether every file's committed offset is its size
	local p=$1 f i s c
	for f in "$R"/var/log/pods/*/app/0.log; do
		i=$(stat -c %i "$f"); s=$(stat -c %s "$f")
		c=$(awk -v i="$i" '$2 == i { print $5 }' <<<"$p")
		[ "$c" = "$s" ] || return 1
	done
}
full_msgs() { grep -c "cannot write the position file" "$CGS_TMP/agent.log" || true; }

ff_start "$CGS_TMP" ack 0
PORT=$FF_PORT
start_agent
write 5000 1
wait_acked && sleep 0.5 && sizes_committed "$(pos)" && cgs_pass "healthy: 5000 lines acknowledged and committed" ||
	cgs_fail "healthy phase not committed: $(pos)"

# ---- 1. disk full, Fluentd fine -----------------------------------------------------
fill
[ "$(avail)" = 0 ] && cgs_pass "tmpfs full" || cgs_fail "tmpfs not full: $(avail) bytes left"
P0=$(pos)
write 5000 2
wait_acked && cgs_pass "disk full: shipping goes on (every line read was acknowledged)" || cgs_fail "disk full: shipping stalled"
sleep 1 # some commit attempts
M=$(cgs_metrics) && cgs_pass "disk full: /metrics answers" || cgs_fail "disk full: /metrics failed"
curl -sf "http://127.0.0.1:$CGS_PORT/healthz" >/dev/null && cgs_pass "disk full: /healthz answers" || cgs_fail "disk full: /healthz"
[ "$(pos)" = "$P0" ] && cgs_pass "disk full: the position file kept its content (nothing committed, nothing torn)" ||
	cgs_fail "disk full: the position file changed"
werr=$(num "$(mval "$M" cgsight_logs_write_errors_total 'file="positions"')")
[ "$werr" -ge 5 ] && [ "$(full_msgs)" = 1 ] &&
	cgs_pass "disk full: $werr failed commits counted, logged once: $(grep -m1 'cannot write the position file' "$CGS_TMP/agent.log" | cut -c1-160)" ||
	cgs_fail "disk full: $werr failed commits, $(full_msgs) log lines (want one)"
tmps=$("${IN_NS[@]}" find "$MNT" -name '*.tmp')
[ -z "$tmps" ] && cgs_pass "no temporary file left on the full disk" || cgs_fail "temporary files left: $tmps"

# ---- 2. space back ------------------------------------------------------------------
unfill
for _ in $(seq 30); do sizes_committed "$(pos)" && break; sleep 0.1; done
sizes_committed "$(pos)" && cgs_pass "space back: every acknowledged offset committed" || cgs_fail "space back: not committed: $(pos)"
n=$(grep -c "position file .* written again, after [0-9]* failed attempts" "$CGS_TMP/agent.log" || true)
[ "$n" = 1 ] && cgs_pass "recovery logged once: $(grep -m1 'written again' "$CGS_TMP/agent.log" | cut -c1-160)" ||
	cgs_fail "recovery logged $n times"
# /metrics is a snapshot taken every interval (1 s): wait for it to show the
# count the recovery line states, then check it stays there for two intervals.
wrec=$(grep -m1 -o 'written again, after [0-9]* failed' "$CGS_TMP/agent.log" | grep -o '[0-9]*')
perr() { num "$(mval "$(cgs_metrics)" cgsight_logs_write_errors_total 'file="positions"')"; }
for _ in $(seq 30); do [ "$(perr)" = "$wrec" ] && break; sleep 0.1; done
w1=$(perr); sleep 2.2; w2=$(perr)
[ -n "$wrec" ] && [ "$w1" = "$wrec" ] && [ "$w2" = "$wrec" ] &&
	cgs_pass "no more failed commits ($w2 in all, as the recovery line says)" ||
	cgs_fail "failed commits: recovery line says ${wrec:-?}, /metrics $w1 then $w2"

# ---- 3. full again: lines acknowledged, not committed; then Fluentd gone: no spool ----------
fill
write 3000 3a
wait_acked || cgs_fail "phase 3a not acknowledged"
ff_stop
write 8000 3b
sleep 3
M=$(cgs_metrics)
serr=$(num "$(mval "$M" cgsight_logs_write_errors_total 'file="spool"')")
smsg=$(grep -c "cannot write spool files in" "$CGS_TMP/agent.log" || true)
[ "$serr" -ge 1 ] && [ "$smsg" = 1 ] && cgs_pass "spool on a full disk: $serr failed writes counted, logged once" ||
	cgs_fail "spool on a full disk: $serr failed writes, $smsg log lines (want one)"
mem=$(num "$(mval "$M" cgsight_logs_buffer_bytes 'where="memory"')")
bp=$(mval "$M" cgsight_logs_backpressure_seconds_total)
[ "$mem" -le $((BUDGET + WIN)) ] && "$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' "$bp" &&
	cgs_pass "chunks kept in memory within the budget ($mem bytes), reading paused ($bp s)" ||
	cgs_fail "memory $mem bytes (budget $BUDGET + window $WIN), backpressure $bp s"

# ---- 4. kill -9 while full; space, Fluentd and the agent back ----------------------------
kill -9 "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true
unfill
ff_start "$CGS_TMP" ack "$PORT"
start_agent
write 2000 4
wait_acked && sleep 0.5 || cgs_fail "restart: not everything acknowledged"
if res=$("$PY" "$FF" check --out "$OUT" --root "$R" --dropped-bytes "$(awk '/^cgsight_logs_dropped_bytes_total\{/ { s += $NF } END { printf "%d\n", s }' <<<"$(cgs_metrics)")"); then
	cgs_pass "after the restart every line of every phase was delivered, exact content, no gap: $res"
else
	cgs_fail "lines lost: $res"
fi
# The 3,000 lines acknowledged while the disk was full were not committed: sent again.
dups=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["duplicates"])' "$res" 2>/dev/null || echo 0)
[ "$dups" -ge 3000 ] && cgs_pass "acknowledged but uncommitted lines sent again after the restart ($dups duplicates)" ||
	cgs_fail "$dups duplicates: the lines acknowledged while the disk was full should have been sent again"
sizes_committed "$(pos)" && cgs_pass "everything committed in the end" || cgs_fail "final positions: $(pos)"
agent_stop
ff_stop

cgs_finish
