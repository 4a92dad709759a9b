#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root + BPF): per-container traffic from the cgroup_skb
# programs on the cgroup2 root.
#  1. A client in container cgroup A (network namespace A) sends exactly
#     10 MiB over TCP to a server in container cgroup B (namespace B, joined
#     by a veth pair): A's transmit and B's receive bytes (interface="eth0")
#     each grow by 10 MiB plus the headers of ceil(10 MiB / MSS) segments,
#     within 3 %; the packet counts are those segments (within 3 %).
#  2. The same with both processes in the host network namespace (over
#     loopback, interface="lo"): still attributed to A and B, also by a second
#     agent whose programs are attached beside the first one's; and not to
#     the host pseudo container (include_host; checked with the collectors
#     alone on this test's subtree, since the real host slot also counts
#     everything else this machine does).
#  3. The programs are attached as links (multi) and gone when the agent exits.
source "$(dirname "$0")/../lib/common.sh"
cgs_init
# Waits up to 30 s for a file a helper writes when it is ready (this machine can be busy).
wait_file() { for _ in $(seq 600); do [ -f "$1" ] && return 0; sleep 0.05; done; cgs_fail "timed out waiting for $1"; return 1; }
HELPER="$CGS_SRC/tests/helpers/net_workload.py"
PAYLOAD=$((10 * 1024 * 1024))
HDR=52 # IPv4 20 + TCP 20 + timestamps option 12: the headers of every data segment here

cgs_test_cgroup_root
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
A="$REL/docker/$(hex64)"
B="$REL/docker/$(hex64)"
mkdir -p "$CG2$A" "$CG2$B"

# scrape [PORT]: the series of this test's containers (and the agent's own)
# only: the full exposition can be large on a busy machine.
scrape() {
	local body
	body=$(curl -sf "http://127.0.0.1:${1:-$CGS_PORT}/metrics") || return 1
	awk -v a="id=\"$A\"" -v b="id=\"$B\"" 'index($0, a) || index($0, b) || /^cgsight_/' <<<"$body"
}

NS_A="cgsnet-a-$$"
NS_B="cgsnet-b-$$"
# Namespaces left by runs of this test that were killed before their cleanup.
for ns in $(ip netns list | awk '/^cgsnet-[ab]-[0-9]+/ { print $1 }'); do
	kill -0 "${ns##*-}" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
done
trap 'exit 143' TERM INT # so that the cleanup (EXIT trap) runs when the test is stopped
cgs_cleanup_hook() {
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
}
ip netns add "$NS_A"
ip netns add "$NS_B"
ip link add "cgsva$$" netns "$NS_A" type veth peer name "cgsvb$$" netns "$NS_B"
ip -n "$NS_A" addr add 192.0.2.1/24 dev "cgsva$$"
ip -n "$NS_B" addr add 192.0.2.2/24 dev "cgsvb$$"
for ns in "$NS_A" "$NS_B"; do
	ip -n "$ns" link set lo up
done
ip -n "$NS_A" link set "cgsva$$" up
ip -n "$NS_B" link set "cgsvb$$" up

# Other work on this machine may have created many containers: room for all of them.
cgs_start_agent --interval 1s --bpf-max-containers 16384

# val METRICS FAMILY ID [INTERFACE]: the value of one series, or NA.
val() {
	awk -v f="$2{" -v id="id=\"$3\"" -v i="${4:+interface=\"$4\"}" \
		'index($0, f) == 1 && index($0, id) && (i == "" || index($0, i)) { print $NF; found = 1; exit }
		 END { if (!found) print "NA" }' <<<"$1"
}
# Waits until both containers' traffic series are exported.
for _ in $(seq 600); do
	M=$(scrape)
	[ "$(val "$M" container_network_transmit_bytes_total "$A" eth0)" != NA ] &&
		[ "$(val "$M" container_network_receive_bytes_total "$B" lo)" != NA ] && break
	sleep 0.1
done
[ "$(val "$M" container_network_transmit_bytes_total "$A" eth0)" != NA ] ||
	{ cgs_fail "no traffic series for the test containers"; cgs_finish; }

# transfer NS_OR_EMPTY BIND_ADDR [BYTES]: B serves, A sends BYTES (default
# PAYLOAD); sets MSS and MSS_END (the client's TCP_MAXSEG after connecting and
# after sending).
transfer() {
	local ns=$1 addr=$2 bytes=${3:-$PAYLOAD} port pre=()
	port=$(cgs_free_port)
	[ -n "$ns" ] && pre=(nsenter --net="/run/netns/$NS_B")
	rm -f "$CGS_TMP/ready" "$CGS_TMP/got"
	"${pre[@]}" "$PY" "$HELPER" serve --cgroup "$CG2$B" --bind "$addr" --port "$port" \
		--ready "$CGS_TMP/ready" --out "$CGS_TMP/got" &
	local spid=$!
	CGS_PIDS+=("$spid")
	wait_file "$CGS_TMP/ready"
	[ -n "$ns" ] && pre=(nsenter --net="/run/netns/$NS_A")
	read -r MSS MSS_END < <("${pre[@]}" "$PY" "$HELPER" send --cgroup "$CG2$A" --host "$addr" --port "$port" \
		--bytes "$bytes" | sed -n 's/^mss=\([0-9]*\) mss_end=\([0-9]*\)$/\1 \2/p')
	wait "$spid"
	[ "$(cat "$CGS_TMP/got")" = "$bytes" ] || cgs_fail "server received $(cat "$CGS_TMP/got") bytes, not $bytes"
	settle "$bytes"
}

# settle BYTES: waits until the first agent exports A's transmit grown by at
# least BYTES since M0 and the same four values of A and B in two
# consecutive collections (the machine may be busy: collections can lag).
settle() {
	local prev= cur base
	base=$(vals "$M0")
	for _ in $(seq 120); do
		cur=$(vals "$(scrape)")
		if [ "$cur" = "$prev" ] && [ $(( ${cur%% *} - ${base%% *} )) -ge "$1" ]; then return 0; fi
		prev=$cur
		sleep 0.5
	done
	cgs_log "the agent's values did not settle within 60 s"
}
vals() { # METRICS: A tx, B rx, A rx, B tx, on both interfaces (bytes)
	local i f id
	for f in "transmit $A" "receive $B" "receive $A" "transmit $B"; do
		id=${f#* }
		echo $(( $(val "$1" "container_network_${f%% *}_bytes_total" "$id" lo | cut -d. -f1) +
			$(val "$1" "container_network_${f%% *}_bytes_total" "$id" eth0 | cut -d. -f1) ))
	done | tr '\n' ' '
}

# within GOT WANT PCT: |got - want| <= pct % of want
within() { "$PY" -c 'import sys; g,w,p=map(float,sys.argv[1:]); sys.exit(0 if abs(g-w) <= w*p/100 else 1)' "$@"; }

# check_transfer LABEL IFACE OTHER_IFACE BEFORE AFTER
# Expected packets: the data segments (ceil(PAYLOAD / MSS)) + SYN, handshake
# ACK and FIN; expected bytes: PAYLOAD + HDR per packet. Where the MSS grew
# during the transfer (loopback), the packet count must lie between what the
# two MSS values give, and the bytes follow from the packets counted.
check_transfer() {
	local label=$1 ifc=$2 other=$3 m0=$4 m1=$5 want_b want_p lo_p hi_p
	local atx arx btx brx atxp brxp aoth both
	d() { echo $(( $(val "$m1" "$1" "$2" "$3" | cut -d. -f1) - $(val "$m0" "$1" "$2" "$3" | cut -d. -f1) )); }
	atx=$(d container_network_transmit_bytes_total "$A" "$ifc")
	brx=$(d container_network_receive_bytes_total "$B" "$ifc")
	atxp=$(d container_network_transmit_packets_total "$A" "$ifc")
	brxp=$(d container_network_receive_packets_total "$B" "$ifc")
	arx=$(d container_network_receive_bytes_total "$A" "$ifc")
	btx=$(d container_network_transmit_bytes_total "$B" "$ifc")
	aoth=$(( $(d container_network_transmit_bytes_total "$A" "$other") + $(d container_network_receive_bytes_total "$A" "$other") ))
	both=$(( $(d container_network_transmit_bytes_total "$B" "$other") + $(d container_network_receive_bytes_total "$B" "$other") ))
	if [ "$MSS" = "$MSS_END" ]; then
		want_p=$(( (PAYLOAD + MSS - 1) / MSS + 3 ))
		want_b=$((PAYLOAD + want_p * HDR))
		within "$atxp" "$want_p" 3 && cgs_pass "$label: A transmit packets +$atxp (expected $want_p within 3 %)" ||
			cgs_fail "$label: A transmit packets +$atxp (expected $want_p within 3 %)"
		within "$brxp" "$want_p" 3 && cgs_pass "$label: B receive packets +$brxp (expected $want_p within 3 %)" ||
			cgs_fail "$label: B receive packets +$brxp (expected $want_p within 3 %)"
	else
		lo_p=$(( (PAYLOAD + MSS_END - 1) / MSS_END + 3 ))
		hi_p=$(( (PAYLOAD + MSS - 1) / MSS + 3 ))
		[ "$lo_p" -gt "$hi_p" ] && { want_p=$lo_p; lo_p=$hi_p; hi_p=$want_p; }
		want_b=$((PAYLOAD + atxp * HDR))
		[ "$atxp" -ge "$lo_p" ] && [ "$atxp" -le "$hi_p" ] && [ "$brxp" = "$atxp" ] &&
			cgs_pass "$label: A transmit and B receive packets +$atxp (between $lo_p and $hi_p for MSS $MSS..$MSS_END)" ||
			cgs_fail "$label: A transmit packets +$atxp, B receive +$brxp (want between $lo_p and $hi_p for MSS $MSS..$MSS_END)"
	fi
	cgs_log "$label: MSS $MSS..$MSS_END, expected $want_b bytes; A tx $atxp packets / $atx bytes," \
		"B rx $brxp packets / $brx bytes; A rx $arx bytes, B tx $btx bytes (ACKs)"
	within "$atx" "$want_b" 3 && cgs_pass "$label: A transmit bytes +$atx (expected $want_b within 3 %)" ||
		cgs_fail "$label: A transmit bytes +$atx (expected $want_b within 3 %)"
	within "$brx" "$want_b" 3 && cgs_pass "$label: B receive bytes +$brx (expected $want_b within 3 %)" ||
		cgs_fail "$label: B receive bytes +$brx (expected $want_b within 3 %)"
	[ "$atx" = "$brx" ] && cgs_pass "$label: what A sent is what B received ($atx bytes)" ||
		cgs_fail "$label: A sent $atx bytes, B received $brx"
	[ "$arx" -gt 0 ] && [ "$arx" -lt $((PAYLOAD / 10)) ] && [ "$btx" -gt 0 ] && [ "$btx" -lt $((PAYLOAD / 10)) ] &&
		cgs_pass "$label: the ACK direction is small and counted (A rx $arx, B tx $btx)" ||
		cgs_fail "$label: ACK direction implausible (A rx $arx, B tx $btx)"
	[ "$aoth" = 0 ] && [ "$both" = 0 ] && cgs_pass "$label: nothing counted on interface=\"$other\"" ||
		cgs_fail "$label: $aoth / $both bytes counted on interface=\"$other\""
}

# 1. Separate network namespaces joined by a veth pair.
M0=$(scrape)
transfer netns 192.0.2.2
M1=$(scrape)
check_transfer "veth" eth0 lo "$M0" "$M1"

# 2. Host network namespace, loopback; a second agent attached beside the first.
SAVE_PID=$CGS_AGENT_PID SAVE_PORT=$CGS_PORT SAVE_LOG="$CGS_TMP/agent.log"
cp "$SAVE_LOG" "$CGS_TMP/agent1.log"
cgs_start_agent --interval 1s --bpf-max-containers 16384
PID2=$CGS_AGENT_PID PORT2=$CGS_PORT
CGS_AGENT_PID=$SAVE_PID CGS_PORT=$SAVE_PORT
for _ in $(seq 600); do
	rc=0; M=$(scrape "$PORT2") || rc=$?
	[ "$rc" = 0 ] && [ "$(val "$M" container_network_transmit_bytes_total "$A" lo)" != NA ] && break
	sleep 0.1
done
M0=$(scrape)
N0=$(scrape "$PORT2")
transfer "" 127.0.0.1
M1=$(scrape)
check_transfer "host netns" lo eth0 "$M0" "$M1"
a1=$(( $(val "$M1" container_network_transmit_bytes_total "$A" lo | cut -d. -f1) - $(val "$M0" container_network_transmit_bytes_total "$A" lo | cut -d. -f1) ))
for _ in $(seq 120); do # the second agent's collections may lag behind
	N1=$(scrape "$PORT2") || true
	a2=$(( $(val "$N1" container_network_transmit_bytes_total "$A" lo | cut -d. -f1) - $(val "$N0" container_network_transmit_bytes_total "$A" lo | cut -d. -f1) ))
	[ "$a2" = "$a1" ] && break
	sleep 0.5
done
[ "$a1" = "$a2" ] && cgs_pass "a second agent's programs count the same ($a2 bytes): neither replaced the other" ||
	cgs_fail "two agents disagree: $a1 vs $a2 bytes"

# Not the host's. The host pseudo container (slot 0, include_host) also counts
# every other process of this machine, so this is checked with the collectors
# alone (tests/helpers/net_loader.c) and their programs attached to this
# test's cgroup subtree: slot 0 then sees only this subtree's sockets outside A
# and B, here those of a plain cgroup H (positive control).
mkdir -p "$ROOT/h"
coproc LOAD { exec "$CGS_BUILD/tests/cgs_net_loader" --manual 2 --attach "$ROOT" --include-host 2>"$CGS_TMP/loader.err"; }
LPID=$LOAD_PID # bash unsets LOAD_PID when the coprocess ends
CGS_PIDS+=("$LPID")
read -r line <&"${LOAD[0]}"
[ "$line" = ready ] || { cat "$CGS_TMP/loader.err" >&2; cgs_fail "loader did not start"; cgs_finish; }
lcmd() { echo "$1" >&"${LOAD[1]}"; read -r line <&"${LOAD[0]}"; echo "$line"; }
lget() { # NAME FAMILY LABEL
	local out=() l
	echo "get $1" >&"${LOAD[1]}"
	while read -r l <&"${LOAD[0]}" && [ "$l" != end ]; do out+=("$l"); done
	printf '%s\n' "${out[@]}" | awk -v f="$2" -v l="$3" '$1 == f && $2 == l { print $3 }'
}
lcmd "map a $CG2$A" >/dev/null
lcmd "map b $CG2$B" >/dev/null
send_from() { # CGROUP_DIR: sends PAYLOAD bytes from that cgroup to B over loopback
	local port spid
	port=$(cgs_free_port)
	rm -f "$CGS_TMP/ready"
	"$PY" "$HELPER" serve --cgroup "$CG2$B" --port "$port" --ready "$CGS_TMP/ready" &
	spid=$!
	CGS_PIDS+=("$spid")
	wait_file "$CGS_TMP/ready"
	"$PY" "$HELPER" send --cgroup "$1" --port "$port" --bytes "$PAYLOAD" >/dev/null
	wait "$spid"
}
h0=$(lget host container_network_transmit_bytes_total lo)
a0=$(lget a container_network_transmit_bytes_total lo)
send_from "$CG2$A"
h1=$(lget host container_network_transmit_bytes_total lo)
a1=$(lget a container_network_transmit_bytes_total lo)
hr=$(( $(lget host container_network_receive_bytes_total lo) ))
[ $((a1 - a0)) -ge "$PAYLOAD" ] && [ "$h1" = "$h0" ] && [ "$hr" = 0 ] &&
	cgs_pass "host netns: A's 10 MiB counted for A (+$((a1 - a0))), the host slot unchanged ($h0 -> $h1 bytes sent, $hr received)" ||
	cgs_fail "host netns: A +$((a1 - a0)), host slot $h0 -> $h1 bytes sent, $hr received"
send_from "$ROOT/h"
h2=$(lget host container_network_transmit_bytes_total lo)
[ $((h2 - h1)) -ge "$PAYLOAD" ] && cgs_pass "a process outside containers is counted for the host slot (+$((h2 - h1)))" ||
	cgs_fail "a process outside containers: host slot +$((h2 - h1))"
exec {LOAD[1]}>&-
wait "$LPID" || true

# 3. Attached as links (multi), detached when the agent exits.
ids_of() { # PID: ids of the programs the process attached to the cgroup2 root through cgroup links
	local held
	held=$(for f in /proc/"$1"/fdinfo/*; do
		awk '$1 == "link_type:" { t = $2 } $1 == "prog_id:" { p = $2 } END { if (t == "cgroup") print p }' "$f" 2>/dev/null
	done | tr '\n' ' ')
	bpftool -j cgroup show "$CG2" | "$PY" -c 'import json,sys; held=set(sys.argv[1].split()); print(" ".join(sorted(str(p["id"]) for p in json.load(sys.stdin) if str(p["id"]) in held and p.get("attach_flags") == "multi")))' "$held"
}
ids=$(ids_of "$PID2")
[ "$(wc -w <<<"$ids")" = 2 ] && cgs_pass "agent's ingress and egress programs attached to the cgroup2 root as multi (ids $ids)" ||
	cgs_fail "expected 2 multi-attached programs of the agent on the root, found '$ids'"
kill "$PID2"
wait "$PID2" 2>/dev/null || true
left=$(bpftool -j cgroup show "$CG2" | "$PY" -c 'import json,sys; ids=set(sys.argv[1].split()); print(" ".join(str(p["id"]) for p in json.load(sys.stdin) if str(p["id"]) in ids))' "$ids")
[ -z "$left" ] && cgs_pass "programs detached when the agent exited" || cgs_fail "programs $left still attached after exit"
M=$(scrape)
[ "$(val "$M" container_network_transmit_bytes_total "$A" lo)" != NA ] &&
	cgs_pass "the first agent still counts after the second one detached" ||
	cgs_fail "the first agent lost its series"

cgs_finish
