#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fault injection on the Fluentd side (tests/helpers/forward_fault.py, a
# scriptable Forward server): the agent tails five files of a Kubernetes
# node layout while the peer
#   refuse    is not there (nothing listens), then comes up;
#   noack     reads every frame and never acknowledges;
#   badack    acknowledges with wrong chunk ids (another agent's, a sequence
#             never sent, not an id at all);
#   midframe  closes each connection (RST) in the middle of a frame;
#   slow      acknowledges each frame 1.5 s after it arrived (timeout 2 s);
# then heals. In each mode the agent stays up (/healthz, /metrics answer on
# every probe), its RSS grows by no more than log_buffer_bytes +
# fluentd_window_bytes + the two read buffers + 4 MiB of allocator slack,
# and in the end every line the test wrote was delivered with its exact
# content (or its bytes are counted in cgsight_logs_dropped_bytes_total).
# Then SIGTERM mid-stream: the agent exits within 5 s and the position file
# holds exactly what the server acknowledged (the end of each file's
# acknowledged prefix), with a healthy peer (the shutdown waits for the acks
# of what is in flight) and with one that stopped acknowledging (it waits
# 2 s at most).
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../e2e/fluent/lib.sh"
cgs_init
cgs_test_cgroup_root
LOGS_CGROUP_ROOT=$ROOT

ff_require

FILES=5
LINES=12000
RATE=4000
BUDGET=1048576
WIN=262144
CHUNK=65536
SPOOL=1048576
READBUF=$((2 * 262144)) # the read buffer and its unescape twin (max(256 KiB, log_max_line_bytes) each)
SLACK=$((4 * 1048576))  # allocator slack, documented in docs/collectors/logs.md

ff_stat() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$1/stats.json" "$2" 2>/dev/null || echo 0; }
dropped_bytes() { # the sum of cgsight_logs_dropped_bytes_total over its reasons
	awk '/^cgsight_logs_dropped_bytes_total\{/ { s += $NF } END { printf "%d\n", s }' <<<"$1"
}
num() { printf '%.0f' "${1:-0}"; }

AGENT_OPTS=(--log-buffer-bytes $BUDGET --fluentd-window-bytes $WIN --log-chunk-bytes $CHUNK
	--log-spool-bytes $SPOOL --fluentd-ack-timeout 2s --fluentd-retry-wait 100ms --fluentd-retry-max-wait 1s)

# fault NAME MODE [server options...]: one fault, healed after FAULT_S seconds.
FAULT_S=4
fault() {
	local name=$1 mode=$2 port
	shift 2
	local dir=$CGS_TMP/$name
	mkdir -p "$dir"
	if [ "$mode" = refuse ]; then
		port=$(cgs_free_port)
	else
		ff_start "$dir" "$mode" 0 "$@"
		port=$FF_PORT
	fi
	logs_agent "$dir/r" "$dir/state" "$port" "${AGENT_OPTS[@]}"
	sleep 0.5
	local base peak r probes=0 bad_probes=0 t0 M
	base=$(rss_kb "$CGS_AGENT_PID")
	peak=$base
	fl_load_bg write --root "$dir/r" --files $FILES --lines $LINES --rotate 0 --rate $RATE --run "$name" >"$dir/writer.json" &
	local wp=$!
	CGS_PIDS+=("$wp")
	t0=$SECONDS
	while [ $((SECONDS - t0)) -lt $FAULT_S ]; do
		probes=$((probes + 1))
		curl -sf "http://127.0.0.1:$CGS_PORT/healthz" >/dev/null && M=$(cgs_metrics) || bad_probes=$((bad_probes + 1))
		r=$(rss_kb "$CGS_AGENT_PID")
		[ "$r" -gt "$peak" ] && peak=$r
		sleep 0.2
	done
	local FM=$M # metrics at the end of the fault
	local acked_in_fault
	acked_in_fault=$(num "$(mval "$FM" cgsight_logs_acked_records_total)")
	# Heal.
	if [ "$mode" = refuse ]; then
		ff_start "$dir" ack "$port"
	else
		kill -USR1 "$FF_PID"
	fi
	wait "$wp"
	# Until every byte read was acknowledged and nothing is left unread.
	for _ in $(seq 150); do
		probes=$((probes + 1))
		r=$(rss_kb "$CGS_AGENT_PID")
		[ "$r" -gt "$peak" ] && peak=$r
		M=$(cgs_metrics) || { bad_probes=$((bad_probes + 1)); sleep 0.2; continue; }
		[ "$(num "$(mval "$M" cgsight_logs_lag_bytes 'stage="unread"')")" = 0 ] &&
			[ "$(num "$(mval "$M" cgsight_logs_lag_bytes 'stage="unacked"')")" = 0 ] &&
			[ "$(num "$(mval "$M" cgsight_logs_read_records_total)")" -ge $LINES ] && break
		sleep 0.2
	done
	kill -0 "$CGS_AGENT_PID" 2>/dev/null && [ "$bad_probes" = 0 ] &&
		cgs_pass "$name: the agent stayed up; /healthz and /metrics answered $probes probes" ||
		cgs_fail "$name: $bad_probes of $probes probes failed (agent alive: $(kill -0 "$CGS_AGENT_PID" 2>/dev/null && echo yes || echo no))"
	local res
	if res=$("$PY" "$FF" check --out "$dir/out.jsonl" --root "$dir/r" --dropped-bytes "$(dropped_bytes "$M")"); then
		cgs_pass "$name: every line delivered with its exact content, or counted as dropped: $res"
	else
		cgs_fail "$name: lines lost or altered: $res"
	fi
	local grow=$(( (peak - base) * 1024 )) limit=$((BUDGET + WIN + READBUF + SLACK))
	if cgs_sanitized; then
		cgs_log "$name: RSS grew by $((grow / 1024)) KiB; bound not checked in a sanitizer build"
	else
		[ "$grow" -le "$limit" ] && cgs_pass "$name: RSS grew by $((grow / 1024)) KiB (limit $((limit / 1024)) KiB)" ||
			cgs_fail "$name: RSS grew by $((grow / 1024)) KiB, over $((limit / 1024)) KiB"
	fi
	local mem
	mem=$(num "$(mval "$FM" cgsight_logs_buffer_bytes 'where="memory"')")
	[ "$mem" -le $((BUDGET + WIN)) ] && cgs_pass "$name: log buffer $mem bytes at the end of the fault (budget $BUDGET + window $WIN)" ||
		cgs_fail "$name: log buffer $mem bytes over budget $BUDGET + window $WIN"
	# What the fault must have shown.
	local e_conn e_to e_closed e_proto ua
	e_conn=$(num "$(mval "$FM" cgsight_logs_forward_errors_total 'reason="connect"')")
	e_to=$(num "$(mval "$M" cgsight_logs_forward_errors_total 'reason="ack_timeout"')")
	e_closed=$(num "$(mval "$M" cgsight_logs_forward_errors_total 'reason="closed"')")
	ua=$(num "$(mval "$M" cgsight_logs_forward_errors_total 'reason="unknown_ack"')")
	case $mode in
	refuse)
		local spool
		spool=$(num "$(mval "$FM" cgsight_logs_buffer_bytes 'where="spool"')")
		[ "$e_conn" -ge 1 ] && [ "$acked_in_fault" = 0 ] && [ "$spool" -gt 0 ] &&
			cgs_pass "$name: $e_conn refused connections counted, $spool bytes spooled meanwhile" ||
			cgs_fail "$name: connect errors $e_conn, acked during the fault $acked_in_fault, spool $spool" ;;
	noack)
		[ "$acked_in_fault" = 0 ] && [ "$e_to" -ge 1 ] && [ "$(num "$(mval "$M" cgsight_logs_retried_records_total)")" -gt 0 ] &&
			cgs_pass "$name: nothing acked during the fault; $e_to ack timeouts, chunks resent" ||
			cgs_fail "$name: acked during the fault $acked_in_fault, ack timeouts $e_to" ;;
	badack)
		local sent
		sent=$(ff_stat "$dir" bad_acks)
		[ "$acked_in_fault" = 0 ] && [ "$e_to" -ge 1 ] && [ "$ua" -ge 1 ] && [ "$ua" -le "$sent" ] &&
			cgs_pass "$name: $sent wrong acks sent, $ua counted (reason=\"unknown_ack\"), none taken; $e_to ack timeouts" ||
			cgs_fail "$name: wrong acks sent $sent, counted $ua, acked during the fault $acked_in_fault, ack timeouts $e_to" ;;
	midframe)
		local mf
		mf=$(ff_stat "$dir" midframe_closes)
		[ "$mf" -ge 1 ] && [ "$e_closed" -ge 1 ] &&
			cgs_pass "$name: $mf connections reset mid-frame, $e_closed counted (reason=\"closed\")" ||
			cgs_fail "$name: mid-frame closes $mf, counted $e_closed" ;;
	slow)
		[ "$e_to" = 0 ] && [ "$(ff_stat "$dir" acks)" -gt 0 ] &&
			cgs_pass "$name: acks 1.5 s late (timeout 2 s) taken, no ack timeout" ||
			cgs_fail "$name: $e_to ack timeouts with acks within the timeout" ;;
	esac
	agent_stop
	ff_stop "$FF_PID"
}

fault refuse refuse
fault noack noack
fault badack badack
fault midframe midframe --frames-per-conn 2
fault slow slow --delay 1.5

# ---- SIGTERM mid-stream: exit within 5 s, commit exactly what was acknowledged ------------
sigterm() { # NAME MODE [server options...]
	local name=$1 mode=$2
	shift 2
	local dir=$CGS_TMP/$name
	mkdir -p "$dir"
	ff_start "$dir" "$mode" 0 "$@"
	# Positions reach the disk only at shutdown: the commit interval is longer than the test.
	logs_agent "$dir/r" "$dir/state" "$FF_PORT" "${AGENT_OPTS[@]}" --log-commit-interval 600s
	fl_load_bg write --root "$dir/r" --files $FILES --lines 40000 --rotate 0 --rate $RATE --run "$name" >/dev/null &
	local wp=$!
	CGS_PIDS+=("$wp")
	sleep 2.5
	local t0 t1
	t0=$(date +%s%N)
	kill -TERM "$CGS_AGENT_PID"
	wait "$CGS_AGENT_PID" 2>/dev/null || true
	t1=$(date +%s%N)
	kill "$wp" 2>/dev/null; wait "$wp" 2>/dev/null || true
	ff_stop "$FF_PID"
	local ms=$(( (t1 - t0) / 1000000 ))
	[ "$ms" -le 5000 ] && cgs_pass "$name: SIGTERM: exited in $ms ms" || cgs_fail "$name: SIGTERM: exit took $ms ms"
	local res
	if res=$("$PY" "$FF" offsets --out "$dir/out.jsonl" --root "$dir/r" --pos "$dir/state/pos"); then
		cgs_pass "$name: position file = the acknowledged prefix of every file: $res"
	else
		cgs_fail "$name: position file differs from what the server acknowledged: $res"
	fi
}
sigterm sigterm ack
sigterm sigterm_noack noack --ack-first 20

cgs_finish
