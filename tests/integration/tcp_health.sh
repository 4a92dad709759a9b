#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root + BPF): per-container TCP health from
# sock:inet_sock_set_state and tcp:tcp_retransmit_skb, attributed through
# each socket's own cgroup. Client in container cgroup A, server in B; first
# in two network namespaces joined by a veth pair, then both in the host
# network namespace (loopback):
#  - 100 connects to a closed port: A's container_tcp_connects_total{result="failed"} +100;
#  - 100 connects held open: A's result="ok" +100, B's accepts +100, both
#    container_tcp_active_connections +100, A's connect latency histogram +100
#    observations; after they close, both gauges are back at their start value;
#  - loss on the veth (netem where the kernel has it, else a random-drop
#    iptables rule in B's namespace): A's container_tcp_retransmits_total grows,
#    by what the kernel counts in A's namespace (RetransSegs less
#    TCPRetransFail: attempts that never left the stack); B's likewise.
source "$(dirname "$0")/../lib/common.sh"
cgs_init
source "$(dirname "$0")/tcp_lib.sh"
N=100

cgs_test_cgroup_root
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
A="$REL/docker/$(hex64)"
B="$REL/docker/$(hex64)"
mkdir -p "$CG2$A" "$CG2$B"
SCRAPE_IDS=("$A" "$B")

tcp_netns_pair cgstcp cgst

# Other work on this machine may have created many containers: room for all of them.
cgs_start_agent --interval 1s --bpf-max-containers 16384

for _ in $(seq 600); do
	M=$(scrape)
	[ "$(val "$M" container_tcp_accepts_total "$B")" != NA ] && [ "$(val "$M" container_tcp_accepts_total "$A")" != NA ] && break
	sleep 0.1
done
[ "$(val "$M" container_tcp_accepts_total "$B")" != NA ] || { cgs_fail "no TCP series for the test containers"; cgs_finish; }

# connects LABEL NS_A NS_B ADDR
connects() {
	local label=$1 nsa=$2 nsb=$3 addr=$4 port closed refused m0 m1 m2 spid cpid a0 b0 sum le
	port=$(cgs_free_port)
	closed=$(cgs_free_port)
	m0=$(scrape)
	refused=$(in_ns "$nsa" "$PY" "$HELPER" refuse --cgroup "$CG2$A" --host "$addr" --port "$closed" --count "$N" |
		sed -n 's/^refused=//p')
	[ "$refused" = "$N" ] || cgs_fail "$label: only $refused of $N connects were refused"
	rm -f "$CGS_TMP/ready" "$CGS_TMP/hold" "$CGS_TMP/release"
	in_ns "$nsb" "$PY" "$HELPER" serve --cgroup "$CG2$B" --bind "$addr" --port "$port" --conns "$N" \
		--ready "$CGS_TMP/ready" &
	spid=$!
	CGS_PIDS+=("$spid")
	wait_file "$CGS_TMP/ready"
	in_ns "$nsa" "$PY" "$HELPER" connect --cgroup "$CG2$A" --host "$addr" --port "$port" --count "$N" \
		--hold "$CGS_TMP/hold" --release "$CGS_TMP/release" &
	cpid=$!
	CGS_PIDS+=("$cpid")
	wait_file "$CGS_TMP/hold"
	a0=$(val "$m0" container_tcp_active_connections "$A")
	b0=$(val "$m0" container_tcp_active_connections "$B")
	held() {
		[ "$(delta "$m0" "$PM" container_tcp_connects_total "$A" 'result="failed"')" -ge "$N" ] &&
			[ "$(delta "$m0" "$PM" container_tcp_connects_total "$A" 'result="ok"')" -ge "$N" ] &&
			[ "$(delta "$m0" "$PM" container_tcp_accepts_total "$B")" -ge "$N" ] &&
			[ "$(delta "$m0" "$PM" container_tcp_active_connections "$A")" -ge "$N" ] &&
			[ "$(delta "$m0" "$PM" container_tcp_active_connections "$B")" -ge "$N" ]
	}
	poll_until held
	m1=$PM
	touch "$CGS_TMP/release"
	wait "$cpid" "$spid"
	closed() {
		[ "$(val "$PM" container_tcp_active_connections "$A")" = "$a0" ] &&
			[ "$(val "$PM" container_tcp_active_connections "$B")" = "$b0" ]
	}
	poll_until closed
	m2=$PM

	check_eq "$label: A connects result=\"failed\" grew by" "$(delta "$m0" "$m1" container_tcp_connects_total "$A" 'result="failed"')" "$N"
	check_eq "$label: A connects result=\"ok\" grew by" "$(delta "$m0" "$m1" container_tcp_connects_total "$A" 'result="ok"')" "$N"
	check_eq "$label: B accepts grew by" "$(delta "$m0" "$m1" container_tcp_accepts_total "$B")" "$N"
	check_eq "$label: A connect latency observations grew by" "$(delta "$m0" "$m1" container_tcp_connect_latency_seconds_count "$A")" "$N"
	check_eq "$label: B made no active opens, ok grew by" "$(delta "$m0" "$m2" container_tcp_connects_total "$B" 'result="ok"')" 0
	check_eq "$label: A accepted nothing, accepts grew by" "$(delta "$m0" "$m2" container_tcp_accepts_total "$A")" 0
	check_eq "$label: A active connections while held (start $a0) grew by" "$(delta "$m0" "$m1" container_tcp_active_connections "$A")" "$N"
	check_eq "$label: B active connections while held (start $b0) grew by" "$(delta "$m0" "$m1" container_tcp_active_connections "$B")" "$N"
	check_eq "$label: A active connections after close" "$(val "$m2" container_tcp_active_connections "$A")" "$a0"
	check_eq "$label: B active connections after close" "$(val "$m2" container_tcp_active_connections "$B")" "$b0"
	le=$(delta "$m0" "$m1" container_tcp_connect_latency_seconds_bucket "$A" 'le="+Inf"')
	check_eq "$label: A latency histogram +Inf bucket grew by" "$le" "$N"
	sum=$("$PY" -c 'import sys; print("%.6f" % (float(sys.argv[2]) - float(sys.argv[1])))' \
		"$(val "$m0" container_tcp_connect_latency_seconds_sum "$A")" "$(val "$m1" container_tcp_connect_latency_seconds_sum "$A")")
	"$PY" -c 'import sys; s,n=float(sys.argv[1]),int(sys.argv[2]); sys.exit(0 if 0 < s < n * 0.5 else 1)' "$sum" "$N" &&
		cgs_pass "$label: A connect latency sum grew by $sum s for $N connects (mean $("$PY" -c "print('%.1f' % ($sum / $N * 1e6))") us)" ||
		cgs_fail "$label: A connect latency sum grew by $sum s for $N connects"
}

connects "veth" "$NS_A" "$NS_B" 192.0.2.2
connects "host netns" "" "" 127.0.0.1

# Retransmits: loss on B's side of the veth.
port=$(cgs_free_port)
tcp_loss "$port"
how=$LOSS_HOW
rm -f "$CGS_TMP/ready"
m0=$(scrape)
r0=$(snmp_retrans "$NS_A")
q0=$(snmp_retrans "$NS_B")
in_ns "$NS_B" "$PY" "$HELPER" serve --cgroup "$CG2$B" --bind 192.0.2.2 --port "$port" --ready "$CGS_TMP/ready" &
spid=$!
CGS_PIDS+=("$spid")
wait_file "$CGS_TMP/ready"
in_ns "$NS_A" "$PY" "$HELPER" send --cgroup "$CG2$A" --host 192.0.2.2 --port "$port" --bytes $((4 * 1024 * 1024)) >/dev/null
wait "$spid"
r1=$(snmp_retrans "$NS_A")
q1=$(snmp_retrans "$NS_B")
retrans_seen() { [ "$(delta "$m0" "$PM" container_tcp_retransmits_total "$A")" -ge $((r1 - r0)) ]; }
poll_until retrans_seen
m1=$PM
got=$(delta "$m0" "$m1" container_tcp_retransmits_total "$A")
want=$((r1 - r0))
cgs_log "retransmits with $how: A +$got, kernel RetransSegs - TCPRetransFail in A's namespace +$want"
[ "$got" -gt 0 ] && cgs_pass "A's retransmits grew (+$got) under loss" || cgs_fail "A's retransmits did not grow under loss ($how)"
check_eq "A's retransmits equal the kernel's RetransSegs - TCPRetransFail of A's namespace: grew by" "$got" "$want"
# B sends little (ACKs, its FIN), but may retransmit its FIN when A's ACK of
# it is dropped, on a timer, possibly after q1 was read: the kernel's count
# is read again with each scrape until the two agree.
b_agree() { q1=$(snmp_retrans "$NS_B"); [ "$(delta "$m0" "$PM" container_tcp_retransmits_total "$B")" = "$((q1 - q0))" ]; }
poll_until b_agree
check_eq "B's retransmits equal the kernel's RetransSegs - TCPRetransFail of B's namespace: grew by" \
	"$(delta "$m0" "$PM" container_tcp_retransmits_total "$B")" "$((q1 - q0))"

lost=$(cgs_value "$(scrape)" cgsight_events_lost_total 'collector="tcp"')
check_eq "sockets the tcp collector could not track" "${lost:-NA}" 0

cgs_finish
