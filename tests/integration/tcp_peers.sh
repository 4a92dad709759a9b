#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root + BPF): the per-peer TCP breakdown (tcp_peer_top_n),
# against the connects this test makes itself. Servers run outside every
# container. With tcp_peer_top_n=2:
#  - container A connects 10 times to server S3, then 30 times to S1: both
#    are shown (container_tcp_peer_connects_total{destination="127.0.0.1:P",
#    result="ok"} 10 and 30); then 20 times to S2: S1 (30) and S2 (20) are
#    shown, S3 is gone; failed 0, latency count = ok; A's
#    container_tcp_connects_total{result="ok"} counts all 60, without a
#    destination label;
#  - container B: 15 refused connects to a closed port, 12 to S1 (6 from IPv4
#    sockets, 6 from IPv6 sockets to ::ffff:127.0.0.1) and 4 to S6 on [::1]:
#    the closed port (failed 15) and S1 (ok 12: one destination whatever the
#    socket's family) are shown, S6 is not;
#  - container E: 4 connects to S6, shown as destination="[::1]:P6";
#  - container D, in a network namespace, sends 4 MiB to a server in another
#    one through a lossy veth: its destination's retransmits equal what the
#    kernel counts in D's namespace (RetransSegs less TCPRetransFail).
# Then the agent again with the default tcp_peer_top_n (0): no destination
# label and no container_tcp_peer_* family, while connects are counted.
source "$(dirname "$0")/../lib/common.sh"
cgs_init
source "$(dirname "$0")/tcp_lib.sh"

cgs_test_cgroup_root
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
A="$REL/docker/$(hex64)"
B="$REL/docker/$(hex64)"
E="$REL/docker/$(hex64)"
D="$REL/docker/$(hex64)"
mkdir -p "$CG2$A" "$CG2$B" "$CG2$E" "$CG2$D"
SCRAPE_IDS=("$A" "$B" "$E" "$D")
tcp_netns_pair cgspeer cgsp
[ -n "$(ip -6 addr show dev lo 2>/dev/null)" ] || cgs_fail "loopback has no IPv6 address (::1): the IPv6 checks cannot run"

# Until every test container has TCP series (the agent has found it).
wait_containers() {
	local ok id
	for _ in $(seq 600); do
		M=$(scrape) || M=
		ok=1
		for id in "${SCRAPE_IDS[@]}"; do [ "$(val "$M" container_tcp_accepts_total "$id")" != NA ] || ok=0; done
		[ $ok = 1 ] && return 0
		sleep 0.1
	done
	cgs_fail "no TCP series for the test containers"
	cgs_finish
}

# Other work on this machine may have created many containers: room for all of them.
cgs_start_agent --interval 1s --bpf-max-containers 16384 --tcp-peer-top-n 2
wait_containers

SPIDS=()
# server NAME ADDR CONNS: a server that takes CONNS connections, outside every container; sets P_NAME.
server() {
	local port
	port=$(cgs_free_port)
	"$PY" "$HELPER" serve --bind "$2" --port "$port" --conns "$3" --ready "$CGS_TMP/ready-$1" &
	CGS_PIDS+=($!)
	SPIDS+=($!)
	wait_file "$CGS_TMP/ready-$1"
	printf -v "P_$1" %s "$port"
}
touch "$CGS_TMP/go" # connections are closed as soon as all are open
NCONN=0
# conn CGROUP HOST PORT COUNT: COUNT connects from that container, which must all succeed.
conn() {
	NCONN=$((NCONN + 1))
	"$PY" "$HELPER" connect --cgroup "$CG2$1" --host "$2" --port "$3" --count "$4" \
		--hold "$CGS_TMP/hold-$NCONN" --release "$CGS_TMP/go" || cgs_fail "connects to $2 port $3 failed"
}
server S1 127.0.0.1 42
server S2 127.0.0.1 20
server S3 127.0.0.1 10
server S6 ::1 8
CLOSED=$(cgs_free_port)
D1="127.0.0.1:$P_S1"
D2="127.0.0.1:$P_S2"
D3="127.0.0.1:$P_S3"
D6="[::1]:$P_S6"
DC="127.0.0.1:$CLOSED"
cgs_log "destinations: S1 $D1, S2 $D2, S3 $D3, S6 $D6, closed $DC"

peer() { # M ID DEST RESULT: a value of container_tcp_peer_connects_total, or NA
	val "$1" container_tcp_peer_connects_total "$2" "destination=\"$3\",result=\"$4\""
}
# The destinations shown for a container, sorted, space-separated.
shown() {
	grep -F "id=\"$2\"" <<<"$1" | grep '^container_tcp_peer_' | sed -n 's/.*destination="\([^"]*\)".*/\1/p' |
		sort -u | tr '\n' ' ' | sed 's/ $//'
}

# A: S3 then S1; both shown.
conn "$A" 127.0.0.1 "$P_S3" 10
conn "$A" 127.0.0.1 "$P_S1" 30
first_two() { [ "$(peer "$PM" "$A" "$D1" ok)" = 30 ] && [ "$(peer "$PM" "$A" "$D3" ok)" = 10 ]; }
poll_until first_two
check_eq "A after 10 connects to S3 and 30 to S1: S1 ok" "$(peer "$PM" "$A" "$D1" ok)" 30
check_eq "A after 10 connects to S3 and 30 to S1: S3 ok" "$(peer "$PM" "$A" "$D3" ok)" 10

# A: S2, busier than S3: S3 falls out.
conn "$A" 127.0.0.1 "$P_S2" 20
# B: the closed port, S1 over IPv4 and IPv6 sockets, S6.
refused=$("$PY" "$HELPER" refuse --cgroup "$CG2$B" --host 127.0.0.1 --port "$CLOSED" --count 15 | sed -n 's/^refused=//p')
check_eq "B's connects to the closed port refused" "$refused" 15
conn "$B" 127.0.0.1 "$P_S1" 6
conn "$B" ::ffff:127.0.0.1 "$P_S1" 6
conn "$B" ::1 "$P_S6" 4
# E: S6 alone.
conn "$E" ::1 "$P_S6" 4
settled() {
	[ "$(peer "$PM" "$A" "$D2" ok)" = 20 ] && [ "$(peer "$PM" "$A" "$D3" ok)" = NA ] &&
		[ "$(peer "$PM" "$B" "$DC" failed)" = 15 ] && [ "$(peer "$PM" "$B" "$D1" ok)" = 12 ] &&
		[ "$(peer "$PM" "$E" "$D6" ok)" = 4 ]
}
poll_until settled
M=$PM

check_eq "A: destinations shown" "$(shown "$M" "$A")" "$(printf '%s\n' "$D1" "$D2" | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "A: S1 ok" "$(peer "$M" "$A" "$D1" ok)" 30
check_eq "A: S2 ok" "$(peer "$M" "$A" "$D2" ok)" 20
check_eq "A: S1 failed" "$(peer "$M" "$A" "$D1" failed)" 0
check_eq "A: S2 failed" "$(peer "$M" "$A" "$D2" failed)" 0
check_eq "A: S1 connect latency count" \
	"$(val "$M" container_tcp_peer_connect_latency_seconds_count "$A" "destination=\"$D1\"")" 30
check_eq "A: S2 connect latency count" \
	"$(val "$M" container_tcp_peer_connect_latency_seconds_count "$A" "destination=\"$D2\"")" 20
sum=$(val "$M" container_tcp_peer_connect_latency_seconds_sum "$A" "destination=\"$D1\"")
"$PY" -c 'import sys; s = float(sys.argv[1]); sys.exit(0 if 0 < s < 30 * 0.5 else 1)' "$sum" &&
	cgs_pass "A: S1 connect latency sum $sum s for 30 connects" || cgs_fail "A: S1 connect latency sum $sum s for 30 connects"
check_eq "A: S3 (the least busy) shown no more" "$(grep -cF "destination=\"$D3\"" <<<"$(grep -F "id=\"$A\"" <<<"$M")" || true)" 0
check_eq "A: all connects in container_tcp_connects_total{result=\"ok\"}" \
	"$(val "$M" container_tcp_connects_total "$A" 'result="ok"')" 60
check_eq "no destination label on container_tcp_connects_total" \
	"$(grep '^container_tcp_connects_total{' <<<"$M" | grep -c 'destination=' || true)" 0
check_eq "B: destinations shown" "$(shown "$M" "$B")" "$(printf '%s\n' "$D1" "$DC" | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "B: closed port failed" "$(peer "$M" "$B" "$DC" failed)" 15
check_eq "B: closed port ok" "$(peer "$M" "$B" "$DC" ok)" 0
check_eq "B: S1 ok (IPv4 and IPv4-mapped IPv6 sockets)" "$(peer "$M" "$B" "$D1" ok)" 12
check_eq "B: S1 connect latency count" \
	"$(val "$M" container_tcp_peer_connect_latency_seconds_count "$B" "destination=\"$D1\"")" 12
check_eq "E: destinations shown" "$(shown "$M" "$E")" "$D6"
check_eq "E: [::1] ok" "$(peer "$M" "$E" "$D6" ok)" 4
for p in "${SPIDS[@]}"; do wait "$p" || cgs_fail "server $p failed"; done

# D: retransmits through a lossy veth.
port=$(cgs_free_port)
tcp_loss "$port"
rm -f "$CGS_TMP/ready"
m0=$(scrape)
r0=$(snmp_retrans "$NS_A")
in_ns "$NS_B" "$PY" "$HELPER" serve --bind 192.0.2.2 --port "$port" --ready "$CGS_TMP/ready" &
spid=$!
CGS_PIDS+=("$spid")
wait_file "$CGS_TMP/ready"
in_ns "$NS_A" "$PY" "$HELPER" send --cgroup "$CG2$D" --host 192.0.2.2 --port "$port" --bytes $((4 * 1024 * 1024)) >/dev/null
wait "$spid"
# Until D's socket is done retransmitting (a lost FIN or its ACK): nothing left but TIME-WAIT.
for _ in $(seq 300); do
	[ -z "$(in_ns "$NS_A" ss -Htan state all exclude time-wait)" ] && break
	sleep 0.1
done
r1=$(snmp_retrans "$NS_A")
DD="192.0.2.2:$port"
retrans_seen() {
	[ "$(val "$PM" container_tcp_peer_retransmits_total "$D" "destination=\"$DD\"")" != NA ] &&
		[ "$(val "$PM" container_tcp_peer_retransmits_total "$D" "destination=\"$DD\"")" -ge $((r1 - r0)) ]
}
poll_until retrans_seen
m1=$PM
got=$(val "$m1" container_tcp_peer_retransmits_total "$D" "destination=\"$DD\"")
cgs_log "retransmits with $LOSS_HOW: D's destination $DD $got, kernel RetransSegs - TCPRetransFail in D's namespace +$((r1 - r0))"
[ "$got" -gt 0 ] 2>/dev/null && cgs_pass "D's destination retransmits under loss: $got" ||
	cgs_fail "D's destination retransmits did not grow under loss ($LOSS_HOW): $got"
check_eq "D's destination retransmits equal the kernel's RetransSegs - TCPRetransFail of D's namespace" "$got" "$((r1 - r0))"
check_eq "D's destination retransmits equal D's container_tcp_retransmits_total growth" "$got" \
	"$(delta "$m0" "$m1" container_tcp_retransmits_total "$D")"
check_eq "D's destination ok" "$(peer "$m1" "$D" "$DD" ok)" 1
lost=$(cgs_value "$(scrape)" cgsight_events_lost_total 'collector="tcp"')
check_eq "tcp events lost (untracked sockets, per-peer entries not made)" "${lost:-NA}" 0

# The default, tcp_peer_top_n 0: no per-peer series at all.
kill "$CGS_AGENT_PID"
wait "$CGS_AGENT_PID" || true
cgs_start_agent --interval 1s --bpf-max-containers 16384
wait_containers
server S7 127.0.0.1 5
conn "$A" 127.0.0.1 "$P_S7" 5
counted() { [ "$(val "$PM" container_tcp_connects_total "$A" 'result="ok"')" = 5 ]; }
poll_until counted
check_eq "tcp_peer_top_n 0: A's connects counted" "$(val "$PM" container_tcp_connects_total "$A" 'result="ok"')" 5
full=$(cgs_metrics)
check_eq "tcp_peer_top_n 0: series with a destination label" "$(grep -c 'destination=' <<<"$full" || true)" 0
check_eq "tcp_peer_top_n 0: container_tcp_peer_* lines" "$(grep -c '^container_tcp_peer_' <<<"$full" || true)" 0
grep -q "per-peer" "$CGS_TMP/agent.log" && cgs_fail "tcp_peer_top_n 0: the agent logged a per-peer breakdown" ||
	cgs_pass "tcp_peer_top_n 0: no per-peer breakdown in the agent's log"
wait "${SPIDS[-1]}" || cgs_fail "server S7 failed"

cgs_finish
