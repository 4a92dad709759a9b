#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root + BPF): a container's BPF slot handed to a new container
# starts from zero in the net and tcp collectors, and sockets of the old
# owner that close afterwards are not subtracted from the new owner's
# container_tcp_active_connections (per-slot epoch).
# The collectors run in tests/helpers/net_loader.c --manual, which hands out
# slots on command (first in, first out, as the agent does), so the test
# knows that C gets the slot A had, whatever else runs on this machine.
source "$(dirname "$0")/../lib/common.sh"
cgs_init
# Waits up to 30 s for a file a helper writes when it is ready (this machine can be busy).
wait_file() { for _ in $(seq 600); do [ -f "$1" ] && return 0; sleep 0.05; done; cgs_fail "timed out waiting for $1"; return 1; }
HELPER="$CGS_SRC/tests/helpers/net_workload.py"
LOADER="$CGS_BUILD/tests/cgs_net_loader"
N=50

cgs_test_cgroup_root
mkdir -p "$ROOT/a" "$ROOT/b" "$ROOT/c"

coproc LOAD { exec "$LOADER" --manual 2 2>"$CGS_TMP/loader.err"; }
LPID=$LOAD_PID # bash unsets LOAD_PID when the coprocess ends
CGS_PIDS+=("$LPID")
read -r line <&"${LOAD[0]}"
[ "$line" = ready ] || { cat "$CGS_TMP/loader.err" >&2; cgs_fail "loader did not start"; cgs_finish; }
cmd() { # one command, one line of answer
	echo "$1" >&"${LOAD[1]}"
	read -r line <&"${LOAD[0]}"
	echo "$line"
}
get() { # NAME FAMILY LABEL: a value of that container's slot
	local out=() l
	echo "get $1" >&"${LOAD[1]}"
	while read -r l <&"${LOAD[0]}" && [ "$l" != end ]; do out+=("$l"); done
	printf '%s\n' "${out[@]}" | awk -v f="$2" -v l="$3" '$1 == f && $2 == l { print $3 }'
}
check_eq() { [ "$2" = "$3" ] && cgs_pass "$1: $2" || cgs_fail "$1: $2 (want $3)"; }
wait_active() { # NAME WANT: until the gauge reads WANT (state changes land within ms)
	local v
	for _ in $(seq 50); do
		v=$(get "$1" container_tcp_active_connections -)
		[ "$v" = "$2" ] && break
		sleep 0.1
	done
	echo "$v"
}

SA=$(cmd "map a $ROOT/a")
SB=$(cmd "map b $ROOT/b")
[ "$SA" = "slot 1" ] && [ "$SB" = "slot 2" ] || { cgs_fail "slots: a $SA, b $SB"; cgs_finish; }

PORT=$(cgs_free_port)
"$PY" "$HELPER" serve --cgroup "$ROOT/b" --port "$PORT" --conns $((N + 5)) --ready "$CGS_TMP/ready" &
SPID=$!
CGS_PIDS+=("$SPID")
wait_file "$CGS_TMP/ready"

# A holds N connections to B.
"$PY" "$HELPER" connect --cgroup "$ROOT/a" --port "$PORT" --count "$N" --hold "$CGS_TMP/hold1" --release "$CGS_TMP/rel1" &
CPID=$!
CGS_PIDS+=("$CPID")
wait_file "$CGS_TMP/hold1"
check_eq "A active connections while holding" "$(wait_active a "$N")" "$N"
check_eq "B active connections" "$(wait_active b "$N")" "$N"
check_eq "A connects ok" "$(get a container_tcp_connects_total ok)" "$N"

# A is removed while its sockets live on; C gets A's slot.
check_eq "A's slot released" "$(cmd "unmap a")" ok
check_eq "C's slot" "$(cmd "map c $ROOT/c")" "$SA"
check_eq "C active connections at start" "$(get c container_tcp_active_connections -)" 0
check_eq "C connects ok at start (A's not carried over)" "$(get c container_tcp_connects_total ok)" 0
check_eq "C transmit bytes at start (A's not carried over)" "$(get c container_network_transmit_bytes_total lo)" 0

# A's sockets close now: nothing is subtracted from C; then C opens 5.
touch "$CGS_TMP/rel1"
wait "$CPID"
check_eq "B active connections after A's closed" "$(wait_active b 0)" 0
"$PY" "$HELPER" connect --cgroup "$ROOT/c" --port "$PORT" --count 5 --hold "$CGS_TMP/hold2" --release "$CGS_TMP/rel2" &
CPID=$!
CGS_PIDS+=("$CPID")
wait_file "$CGS_TMP/hold2"
check_eq "C active connections (A's $N closed after the hand-over, C's 5 open)" "$(wait_active c 5)" 5
check_eq "C connects ok" "$(get c container_tcp_connects_total ok)" 5
check_eq "B active connections" "$(wait_active b 5)" 5
touch "$CGS_TMP/rel2"
wait "$CPID" "$SPID"
check_eq "C active connections after close" "$(wait_active c 0)" 0
check_eq "B active connections after close" "$(wait_active b 0)" 0
check_eq "B accepts" "$(get b container_tcp_accepts_total -)" $((N + 5))

exec {LOAD[1]}>&-
wait "$LPID" || true
cgs_finish
