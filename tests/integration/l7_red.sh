#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root + BPF): the request collector is off by default; on, with
# no OTLP endpoint, it keeps exact RED metrics from real traffic: Debian
# nginx in a container cgroup (its worker in a nested cgroup), curl in
# another (one request per connection, keep-alive, POST with a body, HEAD),
# and curl from the host, which is no container: counted as inbound requests
# of nginx's container, never as anyone's outbound ones; nor are those of a
# container that traces_cgroups leaves out.
source "$(dirname "$0")/../lib/common.sh"
cgs_init
for t in nginx curl; do
	command -v "$t" >/dev/null || { echo "FAIL: $t is not installed" >&2; exit 1; }
done

cgs_test_cgroup_root
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
ID_WEB=$(hex64); ID_CLI=$(hex64)
CG_WEB="$ROOT/docker/$ID_WEB"; CG_CLI="$ROOT/docker/$ID_CLI"
mkdir -p "$CG_WEB/worker" "$CG_CLI"
in_cgroup() { local d=$1; shift; bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$d" "$@"; } # foreground only

# 1. Off by default.
cgs_start_agent --interval 1s
sleep 1.2
M=$(cgs_metrics)
grep -q '^cgsight_collector_up{collector="l7"} 0' <<<"$M" && cgs_pass "l7 collector off by default" ||
	cgs_fail "l7 collector not reported off by default"
grep -q '^container_http_requests_total' <<<"$M" && cgs_fail "HTTP metrics without traces: true" ||
	cgs_pass "no HTTP metrics by default"
kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true

# 2. On, RED metrics only, for the two containers (a third one, not matched, is not traced).
ID_OTHER=$(hex64)
CG_OTHER="$ROOT/docker/$ID_OTHER"
mkdir -p "$CG_OTHER"
# Enough BPF slots that ours get one however many containers the node holds.
cgs_start_agent --interval 1s --traces true --traces-cgroups "$REL/docker/$ID_WEB*, $REL/docker/$ID_CLI" --bpf-max-containers 8192
grep -q "containers matching traces_cgroups.*no otlp_endpoint: RED metrics only" "$CGS_TMP/agent.log" && cgs_pass "traces on without an endpoint" ||
	{ cat "$CGS_TMP/agent.log" >&2; cgs_fail "l7 collector did not start"; cgs_finish; exit 1; }
grep -qE "bpf_max_containers reached: .*($ID_WEB|$ID_CLI)" "$CGS_TMP/agent.log" &&
	{ cgs_fail "no BPF slot for our containers: this node has more containers than bpf_max_containers"; cgs_finish; exit 1; }

WPORT=$(cgs_free_port)
mkdir -p "$CGS_TMP/nginx/tmp"
cat >"$CGS_TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
error_log stderr warn;
pid $CGS_TMP/nginx/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $CGS_TMP/nginx/tmp; proxy_temp_path $CGS_TMP/nginx/tmp;
  fastcgi_temp_path $CGS_TMP/nginx/tmp; uwsgi_temp_path $CGS_TMP/nginx/tmp; scgi_temp_path $CGS_TMP/nginx/tmp;
  server {
    listen 127.0.0.1:$WPORT;
    location / { return 200 "hello\n"; }
    location /missing { return 404; }
    location /fail { return 503; }
    location /post { return 201; }
  }
}
EOF
# The master moves the worker it forks along; nginx runs in the nested cgroup.
# Started without the function: $! must be nginx itself (exec all the way) for the cleanup to end it.
bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG_WEB/worker" nginx -p "$CGS_TMP/nginx" -c "$CGS_TMP/nginx/nginx.conf" \
	-g 'daemon off;' >"$CGS_TMP/nginx/log" 2>&1 &
CGS_PIDS+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$WPORT") 2>/dev/null && break; sleep 0.1; done
U="http://127.0.0.1:$WPORT"
in_cgroup "$CG_CLI" bash -c '
	U=$0
	for i in $(seq 10); do curl -s -o /dev/null "$U/a/$i" || exit 1; done
	curl -s -o /dev/null -o /dev/null -o /dev/null -o /dev/null "$U/k1" "$U/k2" "$U/missing" "$U/fail" || exit 1
	curl -s -o /dev/null -d "some=body&more=data" "$U/post" || exit 1
	curl -s -o /dev/null -I "$U/head" || exit 1
' "$U" && cgs_pass "client requests done" || cgs_fail "client requests failed"
for i in 1 2 3; do curl -s -o /dev/null "$U/from-host/$i"; done
in_cgroup "$CG_OTHER" bash -c 'for i in 1 2; do curl -s -o /dev/null "$0/other/$i" || exit 1; done' "$U" ||
	cgs_fail "requests from the untraced container failed"

val() { # val ID DIRECTION METHOD CLASS
	awk -v id="$1" -v f="direction=\"$2\",method=\"$3\",status_class=\"$4\"" \
		'index($0, "container_http_requests_total{") == 1 && index($0, id) && index($0, f) { print $NF; exit }' <<<"$M"
}
# Until a publication holds the last request (a collection pass may take long on a busy node).
for _ in $(seq 60); do
	sleep 0.5
	M=$(cgs_metrics)
	[ "$(val "$ID_WEB" inbound GET 2xx)" = 17 ] && [ "$(val "$ID_CLI" outbound POST 2xx)" = 1 ] && break
done
sleep 1.2 # one more publication: nothing else may come
M=$(cgs_metrics)
check() { # check WANT GOT WHAT
	[ "${2:-0}" = "$1" ] && cgs_pass "$3: $1" || cgs_fail "$3: got ${2:-none}, want $1"
}
check 17 "$(val "$ID_WEB" inbound GET 2xx)" "nginx inbound GET 2xx (12 from the client, 3 from the host, 2 from the untraced container)"
check 1 "$(val "$ID_WEB" inbound GET 4xx)" "nginx inbound GET 4xx"
check 1 "$(val "$ID_WEB" inbound GET 5xx)" "nginx inbound GET 5xx"
check 1 "$(val "$ID_WEB" inbound POST 2xx)" "nginx inbound POST 2xx"
check 1 "$(val "$ID_WEB" inbound HEAD 2xx)" "nginx inbound HEAD 2xx"
check 12 "$(val "$ID_CLI" outbound GET 2xx)" "client outbound GET 2xx"
check 1 "$(val "$ID_CLI" outbound GET 5xx)" "client outbound GET 5xx"
check 1 "$(val "$ID_CLI" outbound POST 2xx)" "client outbound POST 2xx"
hc=$(awk -v id="$ID_WEB" 'index($0, "container_http_request_duration_seconds_count{") == 1 && index($0, id) { print $NF }' <<<"$M")
check 21 "$hc" "nginx inbound duration histogram count"
grep -E "^container_http_requests_total\{[^}]*$ID_CLI[^}]*direction=\"inbound\"" <<<"$M" >/dev/null &&
	cgs_fail "the client container has inbound requests" || cgs_pass "no inbound requests for the client container"
grep -E "^container_http_requests_total\{[^}]*$ID_OTHER" <<<"$M" >/dev/null &&
	cgs_fail "the container outside traces_cgroups is traced" || cgs_pass "the container outside traces_cgroups is not traced"
grep -E "^container_http_requests_total\{[^}]*id=\"/\"" <<<"$M" >/dev/null &&
	cgs_fail "host requests exported without include_host" || cgs_pass "host requests not exported"
check 0 "$(cgs_value "$M" cgsight_spans_total 'result="exported"')" "no spans exported without an endpoint"
check 0 "$(cgs_value "$M" cgsight_events_lost_total 'collector="l7"')" "no capture record lost"
grep -q '^cgsight_collector_up{collector="l7"} 1' <<<"$M" && cgs_pass "cgsight_collector_up{l7} 1" || cgs_fail "l7 not up"
# Histogram buckets are cumulative and end at the count.
inf=$(awk -v id="$ID_WEB" 'index($0, "container_http_request_duration_seconds_bucket{") == 1 && index($0, id) && index($0, "le=\"+Inf\"") { print $NF }' <<<"$M")
check "$hc" "$inf" "+Inf bucket = count"

cgs_finish
