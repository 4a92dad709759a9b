# SPDX-License-Identifier: Apache-2.0
# Sourced by the TCP integration tests (tcp_health.sh, tcp_peers.sh), after
# common.sh and cgs_init:
#
#   wait_file F              waits up to 30 s for a file a helper writes when ready
#   check_eq LABEL GOT WANT  a pass or a failure
#   scrape [PORT]            the exposition, only the series of the containers
#                            whose ids are in SCRAPE_IDS and the agent's own
#   val M FAMILY ID [MATCH]  the value of one series of scrape output M, or NA
#   delta M0 M1 FAMILY ID [MATCH]  the growth of a counter, or NA
#   poll_until FUNCTION      scrapes into PM until FUNCTION (reading PM)
#                            succeeds, for up to 60 s
#   in_ns NS_OR_EMPTY CMD... CMD in that network namespace (or here)
#   tcp_netns_pair NSPFX IFPFX  two network namespaces NS_A, NS_B joined by a
#                            veth pair VA (192.0.2.1) - VB (192.0.2.2), removed
#                            at exit (and those of killed earlier runs first)
#   tcp_loss PORT            drops 5% of what B receives or sends on the veth
#                            (netem, else iptables on PORT); sets LOSS_HOW
#   snmp_retrans NS          the namespace's RetransSegs less TCPRetransFail
#
# HELPER is the TCP workload (tests/helpers/net_workload.py).

HELPER="$CGS_SRC/tests/helpers/net_workload.py"
SCRAPE_IDS=()

# Waits up to 30 s (this machine can be busy).
wait_file() { for _ in $(seq 600); do [ -f "$1" ] && return 0; sleep 0.05; done; cgs_fail "timed out waiting for $1"; return 1; }

check_eq() {
	[ "$2" = "$3" ] && cgs_pass "$1: $2" || cgs_fail "$1: $2 (want $3)"
}

# The full exposition can be large on a busy machine: only what the test reads.
scrape() {
	local body
	body=$(curl -sf "http://127.0.0.1:${1:-$CGS_PORT}/metrics") || return 1
	awk -v ids="${SCRAPE_IDS[*]}" '
		BEGIN { n = split(ids, a, " "); for (i = 1; i <= n; i++) want["id=\"" a[i] "\""] = 1 }
		/^cgsight_/ { print; next }
		{ for (k in want) if (index($0, k)) { print; next } }' <<<"$body"
}

val() {
	awk -v f="$2{" -v id="id=\"$3\"" -v m="${4:-}" \
		'index($0, f) == 1 && index($0, id) && (m == "" || index($0, m)) { print $NF; found = 1; exit }
		 END { if (!found) print "NA" }' <<<"$1"
}

delta() {
	awk -v a="$(val "$1" "$3" "$4" "${5:-}")" -v b="$(val "$2" "$3" "$4" "${5:-}")" \
		'BEGIN { if (a == "NA" || b == "NA") print "NA"; else printf "%d\n", b - a }'
}

# Collections may lag on a busy machine; PM is the last scrape.
poll_until() {
	for _ in $(seq 120); do
		PM=$(scrape) && "$1" && return 0
		sleep 0.5
	done
	cgs_log "$1: not reached within 60 s"
}

in_ns() {
	local ns=$1
	shift
	if [ -n "$ns" ]; then nsenter --net="/run/netns/$ns" "$@"; else "$@"; fi
}

tcp_netns_pair() {
	local ns
	NS_A="$1-a-$$"
	NS_B="$1-b-$$"
	VA="$2a$$"
	VB="$2b$$"
	# Namespaces left by runs of this test that were killed before their cleanup.
	for ns in $(ip netns list | awk -v p="^$1-[ab]-[0-9]+\$" '$1 ~ p { print $1 }'); do
		kill -0 "${ns##*-}" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
	done
	trap 'exit 143' TERM INT # so that the cleanup (EXIT trap) runs when the test is stopped
	cgs_cleanup_hook() {
		ip netns del "$NS_A" 2>/dev/null
		ip netns del "$NS_B" 2>/dev/null
	}
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	ip link add "$VA" netns "$NS_A" type veth peer name "$VB" netns "$NS_B"
	ip -n "$NS_A" addr add 192.0.2.1/24 dev "$VA"
	ip -n "$NS_B" addr add 192.0.2.2/24 dev "$VB"
	for ns in "$NS_A" "$NS_B"; do ip -n "$ns" link set lo up; done
	ip -n "$NS_A" link set "$VA" up
	ip -n "$NS_B" link set "$VB" up
}

tcp_loss() {
	if tc -n "$NS_B" qdisc add dev "$VB" root netem loss 5% 2>/dev/null; then
		LOSS_HOW="netem loss 5% on the veth"
	else
		ip netns exec "$NS_B" iptables -A INPUT -p tcp --dport "$1" -m statistic --mode random --probability 0.05 -j DROP
		LOSS_HOW="iptables random drop (5%) in B's namespace (this kernel has no sch_netem)"
	fi
}

snmp_retrans() {
	nsenter --net="/run/netns/$1" awk '
		$1 == "Tcp:" || $1 == "TcpExt:" { if (!($1 in seen)) { seen[$1] = 1; for (i = 2; i <= NF; i++) h[$1, $i] = i; next }
			if ($1 == "Tcp:") segs = $h["Tcp:", "RetransSegs"]; else fail = $h["TcpExt:", "TCPRetransFail"] }
		END { print segs - fail }' /proc/net/snmp /proc/net/netstat
}
