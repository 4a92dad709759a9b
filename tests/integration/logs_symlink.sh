#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root): log_paths matches that are symlinks. The rule: a match
# is read only when the file it resolves to lies inside a log_paths
# pattern's own directory or a log_link_roots directory (Kubernetes:
# /var/log/containers/*.log -> /var/log/pods/...). In a temporary tree laid
# out like a node's (containers/ of links, pods/ of real files, a secret/
# directory outside both):
#  - a link into pods/ (log_link_roots) and a plain file are shipped, every line;
#  - links to a shadow-like file outside (absolute, relative, one made while
#    the agent runs) are never read: none of its lines reaches the sink, each
#    link counts once in cgsight_logs_rejected_files_total{reason="link_outside_roots"}
#    (rescans do not count it again), and the agent logs it;
#  - a link to a FIFO outside does not block the agent (it keeps serving);
#  - with log_link_roots empty, the link into pods/ is refused as well.
source "$(dirname "$0")/../lib/common.sh"
cgs_init

T=$CGS_TMP
R=$T/log/containers
PODS=$T/log/pods
mkdir -p "$R" "$PODS/team_web-1_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/nginx" "$T/secret" "$T/state"
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
SECRET="SECRET-$(hex64)"
# The shadow-like file: its own lines, and CRI-shaped ones (would be shipped as records if read).
{
	echo "root:\$6\$$SECRET:19000:0:99999:7:::"
	for i in $(seq 5); do echo "2024-03-01T10:00:00.00000000${i}Z stdout F $SECRET line $i"; done
} >"$T/secret/shadow"
chmod 600 "$T/secret/shadow"
mkfifo "$T/secret/fifo"
cri_lines() { # PREFIX N FILE
	for i in $(seq "$2"); do printf '2024-03-01T10:00:%02d.000000001Z stdout F %s %d\n' $((i % 60)) "$1" "$i"; done >>"$3"
}
POD_LOG=$PODS/team_web-1_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/nginx/0.log
cri_lines pod-line 50 "$POD_LOG"
ln -s "$POD_LOG" "$R/web-1_team_nginx-$(hex64).log"
cri_lines plain-line 20 "$R/plain_team_app-$(hex64).log"
ln -s "$T/secret/shadow" "$R/evil_team_abs-$(hex64).log"
ln -s "../../secret/shadow" "$R/evil_team_rel-$(hex64).log"

SINKPORT=$(cgs_free_port)
"$PY" "$CGS_SRC/bench/logs_sink.py" --port "$SINKPORT" --out "$T/out.jsonl" >"$T/sink.log" 2>&1 &
CGS_PIDS+=($!)
sleep 0.5
ARGS=(--interval 1s --logs true --bpf false --log-paths "$R/*.log" --log-spool-dir "$T/state/spool"
	--fluentd-address "127.0.0.1:$SINKPORT" --log-rescan-interval 300ms --log-commit-interval 100ms)
cgs_start_agent "${ARGS[@]}" --log-link-roots "$PODS" --log-position-file "$T/state/pos"

count() { grep -c "\"log\": \"$1 " "$T/out.jsonl" 2>/dev/null || true; }
wait_count() { for _ in $(seq 100); do [ "$(count "$1")" -ge "$2" ] && break; sleep 0.1; done; count "$1"; }
rejected() { cgs_value "$(cgs_metrics)" cgsight_logs_rejected_files_total 'reason="link_outside_roots"'; }
wait_rejected() { for _ in $(seq 50); do [ "$(rejected)" = "$1" ] && break; sleep 0.1; done; rejected; }

n=$(wait_count pod-line 50)
[ "$n" = 50 ] && cgs_pass "link into log_link_roots (pods/) shipped: $n lines" || cgs_fail "link into pods/: $n of 50 lines"
n=$(wait_count plain-line 20)
[ "$n" = 20 ] && cgs_pass "plain file in the pattern's directory shipped: $n lines" || cgs_fail "plain file: $n of 20 lines"
r=$(wait_rejected 2)
[ "$r" = 2 ] && cgs_pass "two links to a file outside the roots counted: $r" || cgs_fail "rejected links: '$r', want 2"

# While running: a new link outside (inotify), and a link to a FIFO outside.
ln -s "$T/secret/shadow" "$R/evil_team_late-$(hex64).log"
ln -s "$T/secret/fifo" "$R/evil_team_fifo-$(hex64).log"
r=$(wait_rejected 3)
[ "$r" = 3 ] && cgs_pass "a link made while the agent runs is refused too: $r" || cgs_fail "rejected links: '$r', want 3"
sleep 1.5 # five rescans: each meets the same links again
r=$(rejected)
[ "$r" = 3 ] && cgs_pass "rescans do not count the same links again: $r" || cgs_fail "after rescans: '$r', want 3"
cri_lines pod-line2 10 "$POD_LOG"
n=$(wait_count pod-line2 10)
[ "$n" = 10 ] && cgs_pass "the agent is not blocked by a link to a FIFO: new lines still shipped" ||
	cgs_fail "after the FIFO link: $n of 10 new lines"
leaked=$(grep -c "$SECRET" "$T/out.jsonl" || true)
[ "$leaked" = 0 ] && cgs_pass "nothing of the file outside the roots reached the sink" ||
	cgs_fail "$leaked records of the file outside the roots were shipped"
nlog=$(grep -c "not reading $R/evil_team_.*resolves to $T/secret/shadow" "$T/agent.log" || true)
[ "$nlog" = 3 ] && cgs_pass "each refused link logged once, with its target" ||
	cgs_fail "refused links logged $nlog times, want 3"
kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true

# With log_link_roots empty only the patterns' directory is allowed: the link into pods/ is refused as well.
rm -f "$R"/evil_team_fifo-*.log
cgs_start_agent "${ARGS[@]}" --log-link-roots= --log-position-file "$T/state/pos2"
r=$(wait_rejected 4)
[ "$r" = 4 ] && cgs_pass "log_link_roots empty: the link into pods/ is refused too ($r links)" ||
	cgs_fail "log_link_roots empty: rejected '$r', want 4 (the three outside and the pods/ one)"
n=$(wait_count plain-line 40)
[ "$n" = 40 ] && cgs_pass "log_link_roots empty: the plain file is still shipped" || cgs_fail "plain file: $n of 40 lines"
cgs_finish
