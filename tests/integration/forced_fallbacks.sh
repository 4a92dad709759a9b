#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root + BPF): every BPF fallback path, forced with the test knob
# CGSIGHT_TEST_DISABLE (kernel features hidden from the probe, collectors kept
# from starting), on a kernel that has everything. For each mode:
#  - the agent starts and /metrics answers;
#  - cgsight_collector_info{variant} and cgsight_collector_degraded are what
#    the mode implies for every collector (the unforced run: preferred
#    variants, nothing degraded);
#  - `cgsight check` with the same environment reports the same variant and
#    the same degradation for every collector, and exits 0;
#  - what still runs still measures a container-shaped cgroup created after
#    the start: found by the lifecycle tracker within 1 s (by the rescan when
#    the tracker is down), CPU equal to its cpu.stat (cgroupfs), context
#    switches (sched), page faults (mem), syscalls, transmitted bytes (net),
#    TCP connects (tcp) and HTTP requests (l7) from a workload in the cgroup;
#    what is down exports none of its series.
source "$(dirname "$0")/../lib/common.sh"
cgs_init
cgs_test_cgroup_root
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
# The cgroupfs variant is the host's layout: v1 controllers beside a v2 hierarchy, or v2 alone.
grep -q ' - cgroup ' /proc/self/mountinfo && CGFS=v2+v1 || CGFS=v2
PREFERRED="lifecycle=tp_btf cgroupfs=$CGFS sched=tp_btf+rq_stamps mem=tp_btf+task_storage
	syscalls=tp_btf+task_storage net=cgroup_skb tcp=tp_btf+sk_storage logs=off l7=tp_btf"

# MODE|expected differences from PREFERRED (collector=variant!, ! marking a degradation)
MODES=(
	"|"
	"tp_btf|lifecycle=raw_tp! sched=raw_tp+rq_stamps! mem=raw_tp+tid_hash! syscalls=raw_tp+task_storage! tcp=raw_tp+sock_hash! l7=raw_tp!"
	"local_storage|mem=raw_tp+tid_hash! syscalls=tp_btf+tid_hash! tcp=tp_btf+sock_hash! l7=off!"
	"ringbuf|lifecycle=off! mem=off! l7=off!"
	"sched_rq,mem_tp_btf|sched=tp_btf+task_storage! mem=raw_tp+tid_hash!"
	"sched_rq,tp_btf|lifecycle=raw_tp! sched=raw_tp+tid_hash! mem=raw_tp+tid_hash! syscalls=raw_tp+task_storage! tcp=raw_tp+sock_hash! l7=raw_tp!"
	"collector:sched,collector:tcp|sched=off! tcp=off!"
	"collector:cgroupfs,collector:lifecycle|cgroupfs=off! lifecycle=off!"
	"bpf|lifecycle=off! sched=off! mem=off! syscalls=off! net=off! tcp=off! l7=off!"
)

# The expectations of one mode: "collector variant degraded" lines.
expected() {
	local -A v d
	local kv
	for kv in $PREFERRED; do v[${kv%%=*}]=${kv#*=}; d[${kv%%=*}]=0; done
	for kv in $1; do
		local c=${kv%%=*} val=${kv#*=}
		[ "${val%!}" != "$val" ] && d[$c]=1
		v[$c]=${val%!}
	done
	for c in "${!v[@]}"; do echo "$c ${v[$c]} ${d[$c]}"; done | sort
}

# What the agent exports, in the same shape.
exported() {
	awk '
		/^cgsight_collector_info\{/ { match($0, /collector="[^"]*"/); c = substr($0, RSTART + 11, RLENGTH - 12)
			match($0, /variant="[^"]*"/); v[c] = substr($0, RSTART + 9, RLENGTH - 10) }
		/^cgsight_collector_degraded\{/ { match($0, /collector="[^"]*"/); d[substr($0, RSTART + 11, RLENGTH - 12)] = $NF }
		END { for (c in v) print c, v[c], (c in d) ? d[c] : "?" }' <<<"$1" | sort
}

# What `cgsight check` says, in the same shape.
checked() {
	awk '/^collectors:/ { on = 1; next } /^degraded:/ { on = 0 }
		on && /^  [a-z]/ { print $1, $2, /DEGRADED/ ? 1 : 0 }' "$1" | sort
}

# Sum of a family's series for the test container (empty: no series).
csum() { # METRICS FAMILY [LABEL MATCHER]
	awk -v f="$2{" -v id="id=\"$CPATH\"" -v m="${3:-}" \
		'index($0, f) == 1 && index($0, id) && index($0, m) { s += $NF; n++ } END { if (n) print s }' <<<"$1"
}

is_up() { [ "$(awk -v c="$1" '$1 == c { print $2 }' <<<"$EXP")" != off ]; }

for entry in "${MODES[@]}"; do
	mode=${entry%%|*}
	EXP=$(expected "${entry#*|}")
	name=${mode:-unforced}
	cgs_log "=== mode $name"
	rescan=60s
	is_up lifecycle || rescan=1s
	export CGSIGHT_TEST_DISABLE=$mode
	cgs_start_agent --interval 1s --rescan-interval "$rescan" --traces true --bpf-max-containers 16384
	"$CGS_BIN" check --traces true >"$CGS_TMP/check.out" 2>"$CGS_TMP/check.err" && crc=0 || crc=$?
	unset CGSIGHT_TEST_DISABLE

	M=$(cgs_metrics) && cgs_pass "$name: /metrics answers" || cgs_fail "$name: /metrics does not answer"
	got=$(exported "$M")
	if [ "$got" = "$EXP" ]; then
		cgs_pass "$name: variants and degradation in the metrics: $(grep ' 1$' <<<"$got" | cut -d' ' -f1,2 | tr '\n' ' ')"
	else
		cgs_fail "$name: metrics say (collector variant degraded):"$'\n'"$got"$'\n'"want:"$'\n'"$EXP"
	fi
	chk=$(checked "$CGS_TMP/check.out")
	if [ "$crc" = 0 ] && [ "$chk" = "$EXP" ]; then
		cgs_pass "$name: cgsight check reports the same (degraded: $(sed -n 's/^degraded: *//p' "$CGS_TMP/check.out"))"
	else
		cat "$CGS_TMP/check.out" "$CGS_TMP/check.err" >&2
		cgs_fail "$name: cgsight check (exit $crc) says:"$'\n'"$chk"$'\n'"want:"$'\n'"$EXP"
	fi
	logged=$(sed -n 's/.*degraded collectors ([^)]*)://p' "$CGS_TMP/agent.log" | tr ' ' '\n' | { grep . || true; } | sort | tr '\n' ' ')
	want_logged=$(awk '$3 == 1 { print $1 }' <<<"$EXP" | sort | tr '\n' ' ')
	[ "$logged" = "$want_logged" ] && cgs_pass "$name: the agent logs the degraded collectors: ${logged:-none}" ||
		cgs_fail "$name: the agent logs '${logged}' as degraded, want '${want_logged}'"

	# A container created after the start: found by the tracker, or by the rescan without it.
	CID=$(hex64)
	CPATH="$REL/docker/$CID"
	t0=$(date +%s%N)
	mkdir -p "$CG2$CPATH"
	found=
	while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000 ]; do
		if cgs_api | grep -qF "\"$CID\""; then found=$(( ($(date +%s%N) - t0) / 1000000 )); break; fi
		sleep 0.05
	done
	limit=1000
	is_up lifecycle || limit=3000
	if [ -n "$found" ] && [ "$found" -le "$limit" ]; then
		cgs_pass "$name: container found ${found} ms after mkdir ($(is_up lifecycle && echo lifecycle tracker || echo rescan))"
	else
		cgs_fail "$name: container not found within $limit ms (${found:-never})"
	fi
	# Workload in the container: ~1.5 s of CPU, then HTTP requests over loopback to the agent.
	bash -c 'echo $BASHPID > "$1/cgroup.procs"; end=$(( $(date +%s%N) + 1500000000 ))
		while [ "$(date +%s%N)" -lt "$end" ]; do :; done
		for i in 1 2 3 4 5; do curl -s "http://127.0.0.1:$2/healthz" >/dev/null; done' _ "$CG2$CPATH" "$CGS_PORT"
	sleep 2.5 # two collections after the workload
	M=$(cgs_metrics)
	want=$(awk '$1 == "usage_usec" { printf "%.6f", $2 / 1e6 }' "$CG2$CPATH/cpu.stat")
	cpu=$(csum "$M" container_cpu_usage_seconds_total)
	if is_up cgroupfs; then
		"$PY" -c 'import sys; g,w=float(sys.argv[1] or 0),float(sys.argv[2]); sys.exit(0 if w > 0.5 and abs(g-w) <= 0.03*w else 1)' "$cpu" "$want" &&
			cgs_pass "$name: cgroupfs CPU ${cpu} s = cpu.stat ${want} s" ||
			cgs_fail "$name: cgroupfs CPU '${cpu}' s, cpu.stat ${want} s"
	else
		[ -z "$cpu" ] && cgs_pass "$name: no cgroupfs series with cgroupfs off" || cgs_fail "$name: cgroupfs series with cgroupfs off"
	fi
	# collector family [matcher] minimum
	for probe in "sched container_context_switches_total _ 1" \
		"mem container_memory_failures_total pgfault 1" \
		"syscalls container_syscalls_total _ 100" \
		"net container_network_transmit_bytes_total _ 100" \
		"tcp container_tcp_connects_total result=\"ok\" 5" \
		"l7 container_http_requests_total direction=\"outbound\" 5"; do
		read -r col fam match min <<<"$probe"
		[ "$match" = _ ] && match=
		v=$(csum "$M" "$fam" "$match")
		if is_up "$col"; then
			"$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1] or -1) >= float(sys.argv[2]) else 1)' "$v" "$min" &&
				cgs_pass "$name: $col measures the container: $fam ${match:+$match }$v" ||
				cgs_fail "$name: $col up, but $fam ${match:+$match }is '${v}' (want >= $min)"
		else
			[ -z "$v" ] && cgs_pass "$name: $col down, no $fam" || cgs_fail "$name: $col down, yet $fam $v"
		fi
	done
	kill "$CGS_AGENT_PID"
	wait "$CGS_AGENT_PID" 2>/dev/null || true
	rmdir "$CG2$CPATH"
done

# A bad value is refused with a clear message, before anything starts.
CGSIGHT_TEST_DISABLE=tp_btf,nonsense "$CGS_BIN" check >/dev/null 2>"$CGS_TMP/bad.err" && rc=0 || rc=$?
[ "$rc" = 2 ] && grep -q "unknown item 'nonsense'" "$CGS_TMP/bad.err" &&
	cgs_pass "an unknown CGSIGHT_TEST_DISABLE item stops cgsight with status 2" ||
	cgs_fail "CGSIGHT_TEST_DISABLE=tp_btf,nonsense: status $rc, $(cat "$CGS_TMP/bad.err")"
CGSIGHT_TEST_DISABLE=collector:nosuch "$CGS_BIN" agent --listen 127.0.0.1:0 >/dev/null 2>"$CGS_TMP/bad.err" && rc=0 || rc=$?
[ "$rc" = 2 ] && grep -q "no collector named 'nosuch'" "$CGS_TMP/bad.err" &&
	cgs_pass "an unknown collector name stops the agent with status 2" ||
	cgs_fail "CGSIGHT_TEST_DISABLE=collector:nosuch: status $rc, $(cat "$CGS_TMP/bad.err")"
cgs_finish
