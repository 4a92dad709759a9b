#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end (root + BPF, real peers): Debian nginx in one Kubernetes-shaped
# container cgroup, curl and wrk in another, on loopback. Spans go over
# OTLP/HTTP to a receiver that decodes them with the OpenTelemetry JS
# project's generated protobuf code (npm @opentelemetry/otlp-transformer,
# protobufjs, compiled from the published opentelemetry-proto), not ours.
# Checked: one SERVER and one CLIENT span per request with method, path,
# status and span status; the client span encloses the server span and is
# its parent (node-local linking); keep-alive requests; a known traceparent
# and a known uber-trace-id joined; 404 and 500; container metadata on the
# resource and the spans; "secret" (Authorization, Cookie, query token,
# a configured header) in no byte the receiver got; wrk's request count in
# the spans and in the RED metrics; then gzip and retries on 503.
source "$(dirname "$0")/../lib/common.sh"
cgs_init
for t in node npm nginx curl wrk; do
	command -v "$t" >/dev/null || { echo "FAIL: $t is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }
done

NPMDIR="${CGS_BUILD:-$CGS_TMP}/l7-npm"
mkdir -p "$NPMDIR"
cp "$CGS_SRC/tests/e2e/l7/package.json" "$CGS_SRC/tests/e2e/l7/package-lock.json" "$CGS_SRC/tests/e2e/l7/receiver.js" "$NPMDIR/"
(cd "$NPMDIR" && npm ci --silent --no-audit --no-fund --ignore-scripts >"$CGS_TMP/npm.log" 2>&1) ||
	{ cat "$CGS_TMP/npm.log" >&2; echo "FAIL: npm ci of the OTLP receiver" >&2; exit 1; }

cgs_test_cgroup_root
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
ID_WEB=$(hex64); ID_CLI=$(hex64)
POD_WEB=$(cat /proc/sys/kernel/random/uuid); POD_CLI=$(cat /proc/sys/kernel/random/uuid)
CG_WEB="$ROOT/kubepods/besteffort/pod$POD_WEB/$ID_WEB"
CG_CLI="$ROOT/kubepods/besteffort/pod$POD_CLI/$ID_CLI"
STATE="$CGS_TMP/containerd"
annot() { # annot ID CONTAINER POD
	mkdir -p "$STATE/k8s.io/$1"
	printf '{"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.container-name":"%s","io.kubernetes.cri.sandbox-name":"%s","io.kubernetes.cri.sandbox-namespace":"shop","io.kubernetes.cri.image-name":"docker.io/library/%s:1"}}\n' \
		"$2" "$3" "$2" >"$STATE/k8s.io/$1/config.json"
}
annot "$ID_WEB" web web-0
annot "$ID_CLI" loadgen loadgen-0
mkdir -p "$CG_WEB" "$CG_CLI"

start_receiver() { # start_receiver DIR ARGS...: sets RPORT, RECV_PID
	local dir=$1; shift
	mkdir -p "$dir"
	node "$NPMDIR/receiver.js" "$dir" "$@" >"$dir/log" 2>&1 &
	RECV_PID=$!
	CGS_PIDS+=("$RECV_PID")
	for _ in $(seq 100); do
		RPORT=$(awk '/^listening/ { print $2 }' "$dir/log")
		[ -n "$RPORT" ] && return 0
		sleep 0.1
	done
	cat "$dir/log" >&2; echo "FAIL: receiver did not start" >&2; exit 1
}

# nginx in the web container, on an unusual loopback port.
WPORT=$(cgs_free_port)
mkdir -p "$CGS_TMP/nginx/tmp"
cat >"$CGS_TMP/nginx/nginx.conf" <<EOF
worker_processes 1;
error_log stderr warn;
pid $CGS_TMP/nginx/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $CGS_TMP/nginx/tmp; proxy_temp_path $CGS_TMP/nginx/tmp;
  fastcgi_temp_path $CGS_TMP/nginx/tmp; uwsgi_temp_path $CGS_TMP/nginx/tmp; scgi_temp_path $CGS_TMP/nginx/tmp;
  server {
    listen 127.0.0.1:$WPORT;
    keepalive_requests 100000;
    location / { return 200 "ok\n"; }
    location /missing { return 404; }
    location /fail { return 500; }
  }
}
EOF
# in_cgroup DIR CMD...: the process moves itself into DIR, then runs CMD.
in_cgroup() { local d=$1; shift; bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$d" "$@"; } # foreground only

RECV1="$CGS_TMP/recv1"
start_receiver "$RECV1"
# Only this test's containers are traced (other work on the machine may run containers too);
# enough BPF slots that ours get one however many containers the node holds.
cgs_start_agent --interval 1s --rescan-interval 60s --containerd-state-dir "$STATE" --traces true --bpf-max-containers 8192 \
	--traces-cgroups "$REL/*" --otlp-endpoint "http://127.0.0.1:$RPORT" --otlp-flush-interval 200ms --otlp-batch-spans 256 \
	--traces-span-budget 0 --otlp-queue-spans 1000000 --traces-ring-buffer-bytes 134217728 \
	--traces-capture-headers x-request-id,authorization,x-secret --traces-redact-headers x-secret --node-name node-e2e
grep -q "collector:l7\] tracing HTTP/1.x" "$CGS_TMP/agent.log" && cgs_pass "l7 collector up" ||
	{ cat "$CGS_TMP/agent.log" >&2; cgs_fail "l7 collector not running"; cgs_finish; exit 1; }
grep -qE "bpf_max_containers reached: .*($ID_WEB|$ID_CLI)" "$CGS_TMP/agent.log" &&
	{ cgs_fail "no BPF slot for our containers: this node has more containers than bpf_max_containers"; cgs_finish; exit 1; }

# Started without the function: $! must be nginx itself (exec all the way) for the cleanup to end it.
bash -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG_WEB" nginx -p "$CGS_TMP/nginx" -c "$CGS_TMP/nginx/nginx.conf" \
	-g 'daemon off;' >"$CGS_TMP/nginx/log" 2>&1 &
CGS_PIDS+=($!)
# Ready when it accepts a connection (no request: it would be a span of its own).
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$WPORT") 2>/dev/null && break; sleep 0.1; done
sleep 0.5

N=20
TP_TRACE=4bf92f3577b34da6a3ce929d0e0e4736; TP_PARENT=00f067aa0ba902b7
UB_TRACE=5e0f1a2b3c4d5e6f; UB_PARENT=a1b2c3d4e5f60718
U="http://127.0.0.1:$WPORT"
SECRET=(-H "Authorization: secret" -H "Cookie: session=secret" -H "X-Secret: secret")
in_cgroup "$CG_CLI" bash -c '
	U=$1; N=$2; shift 2
	for i in $(seq "$N"); do curl -s -o /dev/null "$@" -H "X-Request-Id: req-$i" "$U/item/$i?token=secret&page=2" || exit 1; done
	curl -s -o /dev/null "$@" "$U/missing" && curl -s -o /dev/null "$@" "$U/fail" || exit 1
	curl -s -o /dev/null -H "traceparent: 00-'"$TP_TRACE-$TP_PARENT"'-01" "$U/tp" || exit 1
	curl -s -o /dev/null -H "uber-trace-id: '"$UB_TRACE:$UB_PARENT"':0:1" "$U/uber" || exit 1
	curl -s -o /dev/null -o /dev/null -o /dev/null "$U/ka/1" "$U/ka/2" "$U/ka/3" || exit 1
' _ "$U" "$N" "${SECRET[@]}" && cgs_pass "curl requests done" || cgs_fail "curl requests failed"
WRK_OUT=$(in_cgroup "$CG_CLI" wrk -t1 -c2 -d1s "$U/wrk")
WRK_N=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' <<<"$WRK_OUT")
cgs_log "wrk: $WRK_N requests"
WANT=$((N + 2 + 2 + 3))

# Spans of our two containers (other work on this machine may run containers too).
ours() { grep -F -e "$ID_WEB" -e "$ID_CLI" "$1" 2>/dev/null | wc -l; }
# Wait for the spans: 2 per curl request, and at least 2 per wrk request.
for _ in $(seq 150); do
	[ "$(ours "$RECV1/spans.jsonl")" -ge $((2 * WANT + 2 * WRK_N)) ] && break
	sleep 0.1
done
sleep 1.5 # a moment for anything that should not come
red() { awk -v id="$1" -v dir="$2" -v cls="$3" -v m="$4" 'index($0, "container_http_requests_total{") == 1 && index($0, id) && index($0, "direction=\"" dir "\"") && index($0, "status_class=\"" cls "\"") && index($0, "method=\"" m "\"") { s += $NF } END { print s + 0 }' <<<"$M"; }
# A publication that counted every span received and every request (a collection pass may take
# long on a busy node; container series are refreshed by collection passes only).
for _ in $(seq 60); do
	M=$(cgs_metrics)
	[ "$(cgs_value "$M" cgsight_spans_total 'result="exported"')" = "$(wc -l <"$RECV1/spans.jsonl")" ] &&
		[ "$(red "$ID_WEB" inbound 2xx GET)" -ge $((N + 5 + WRK_N)) ] &&
		[ "$(red "$ID_CLI" outbound 2xx GET)" -ge $((N + 5 + WRK_N)) ] && break
	sleep 0.5
done

rc=0
"$PY" - "$RECV1" "$N" "$ID_WEB" "$ID_CLI" "$TP_TRACE" "$TP_PARENT" "$UB_TRACE" "$UB_PARENT" "$WRK_N" "$WPORT" <<'PY' >"$CGS_TMP/check.out" 2>&1 || rc=$?
import json, sys, collections
d, n, id_web, id_cli, tp_t, tp_p, ub_t, ub_p, wrk_n, wport = sys.argv[1:]
n, wrk_n, wport = int(n), int(wrk_n), int(wport)
spans = [json.loads(l) for l in open(d + "/spans.jsonl")]
spans = [s for s in spans if s["resource"].get("container.id") in (id_web, id_cli)]
ok = True
def check(cond, msg):
    global ok
    print(("PASS: " if cond else "FAIL: ") + msg)
    ok = ok and cond
SERVER, CLIENT = 2, 3
by = collections.defaultdict(list)
for s in spans:
    by[(s["kind"], s["attributes"].get("url.path"))].append(s)
curl_paths = ["/item/%d" % i for i in range(1, n + 1)] + ["/missing", "/fail", "/tp", "/uber", "/ka/1", "/ka/2", "/ka/3"]
counts_ok = all(len(by[(k, p)]) == 1 for p in curl_paths for k in (SERVER, CLIENT))
check(counts_ok, "one SERVER and one CLIENT span per curl request (%d requests)" % len(curl_paths))
if not counts_ok:
    for p in curl_paths:
        for k in (SERVER, CLIENT):
            if len(by[(k, p)]) != 1: print("   %s kind %d: %d spans" % (p, k, len(by[(k, p)])))
wrk_srv, wrk_cli = len(by[(SERVER, "/wrk")]), len(by[(CLIENT, "/wrk")])
# wrk stops with up to one request per connection in flight: served and sent, never read.
check(wrk_n <= wrk_cli <= wrk_n + 2 and wrk_cli <= wrk_srv <= wrk_cli + 2,
      "wrk: %d requests reported, %d CLIENT and %d SERVER spans" % (wrk_n, wrk_cli, wrk_srv))
others = [s for s in spans if s["attributes"].get("url.path") not in curl_paths + ["/wrk"]]
check(not others, "no other spans of our containers (%d)" % len(others))
def one(kind, path): return by[(kind, path)][0] if by[(kind, path)] else None
bad = []
for p in curl_paths:
    sv, cl = one(SERVER, p), one(CLIENT, p)
    if not sv or not cl: continue
    code = 404 if p == "/missing" else 500 if p == "/fail" else 200
    for s, kind in ((sv, "server"), (cl, "client")):
        a = s["attributes"]
        if s["name"] != "GET " + p or a.get("http.request.method") != "GET" or a.get("http.response.status_code") != code:
            bad.append("%s %s: name %s method %s status %s" % (kind, p, s["name"], a.get("http.request.method"), a.get("http.response.status_code")))
        want_err = code >= 500 or (kind == "client" and code >= 400)
        if (s["status"]["code"] == 2) != want_err:
            bad.append("%s %s: span status %s" % (kind, p, s["status"]))
    if not (int(cl["start"]) <= int(sv["start"]) <= int(sv["end"]) <= int(cl["end"])):
        bad.append("%s: client [%s, %s] does not enclose server [%s, %s]" % (p, cl["start"], cl["end"], sv["start"], sv["end"]))
    if p not in ("/tp", "/uber"):
        if sv["traceId"] != cl["traceId"] or sv["parentSpanId"] != cl["spanId"] or cl["parentSpanId"]:
            bad.append("%s: server span not the child of the client span" % p)
    if sv["attributes"].get("client.port") in (None, wport) or sv["attributes"].get("server.port") != wport:
        bad.append("%s: ports %s" % (p, sv["attributes"]))
    if cl["attributes"].get("url.full", "").split("?")[0] != "http://127.0.0.1:%d%s" % (wport, p):
        bad.append("%s: url.full %s" % (p, cl["attributes"].get("url.full")))
check(not bad, "method, path, status, span status, enclosure, parent, ports and url.full of every pair")
for b in bad[:10]: print("   " + b)
for k in (SERVER, CLIENT):
    s = one(k, "/tp")
    check(s and s["traceId"] == tp_t and s["parentSpanId"] == tp_p, "traceparent joined (kind %d)" % k)
    s = one(k, "/uber")
    check(s and s["traceId"] == "0" * 16 + ub_t and s["parentSpanId"] == ub_p, "uber-trace-id joined (kind %d)" % k)
s = one(SERVER, "/fail")
check(s and s["attributes"].get("error.type") == "500", "error.type on a 500")
ka = [one(SERVER, "/ka/%d" % i) for i in (1, 2, 3)]
check(all(ka) and len({s["attributes"]["client.port"] for s in ka}) == 1, "keep-alive: three requests on one connection")
s = one(SERVER, "/item/1")
check(s and s["attributes"].get("url.query") == "token=REDACTED&page=2", "query token redacted: %s" % (s and s["attributes"].get("url.query")))
check(s and s["attributes"].get("http.request.header.x-request-id") == "req-1", "captured header x-request-id")
check(s and not any(k.endswith(("authorization", "cookie", "x-secret")) for k in s["attributes"]), "credential headers not captured although listed")
meta_bad = []
for s in spans:
    r, a = s["resource"], s["attributes"]
    want = {"service.name": "web", "k8s.pod.name": "web-0", "k8s.container.name": "web", "container.id": id_web} if s["kind"] == SERVER else \
           {"service.name": "loadgen", "k8s.pod.name": "loadgen-0", "k8s.container.name": "loadgen", "container.id": id_cli}
    want["k8s.namespace.name"] = "shop"
    for k, v in want.items():
        if r.get(k) != v or (k != "service.name" and a.get(k) != v):
            meta_bad.append("%s %s: %s=%s/%s" % (s["kind"], s["name"], k, r.get(k), a.get(k)))
    if r.get("k8s.node.name") != "node-e2e" or r.get("container.image.name", "").find("docker.io/library/") != 0:
        meta_bad.append("node/image %s" % r)
    if s["scope"]["name"] != "cgsight":
        meta_bad.append("scope %s" % s["scope"])
check(not meta_bad, "container metadata on every span's resource and attributes")
for b in meta_bad[:5]: print("   " + b)
raw = open(d + "/raw.bin", "rb").read() + open(d + "/plain.bin", "rb").read()
check(raw.count(b"secret") == 0, "'secret' in no exported byte (%d bytes)" % len(raw))
reqs = [json.loads(l) for l in open(d + "/requests.jsonl")]
check(all(r["url"] == "/v1/traces" and r["method"] == "POST" and r["headers"]["content-type"] == "application/x-protobuf" for r in reqs),
      "POST /v1/traces, application/x-protobuf (%d requests)" % len(reqs))
sys.exit(0 if ok else 1)
PY
while read -r line; do
	case $line in PASS:*) cgs_pass "${line#PASS: }" ;; FAIL:*) cgs_fail "${line#FAIL: }" ;; *) cgs_log "$line" ;; esac
done <"$CGS_TMP/check.out"
[ $rc = 0 ] || cgs_log "span check exited $rc"

# RED metrics from the same events: exact for the curl requests, wrk's within its in-flight margin.
for dir in inbound outbound; do
	id=$ID_WEB; [ $dir = outbound ] && id=$ID_CLI
	c4=$(red "$id" $dir 4xx GET); c5=$(red "$id" $dir 5xx GET); c2=$(red "$id" $dir 2xx GET)
	[ "$c4" = 1 ] && [ "$c5" = 1 ] && cgs_pass "RED $dir: one 4xx, one 5xx" || cgs_fail "RED $dir: 4xx=$c4 5xx=$c5"
	lo=$((N + 5 + WRK_N)); hi=$((lo + 2))
	[ "$c2" -ge "$lo" ] && [ "$c2" -le "$hi" ] && cgs_pass "RED $dir 2xx: $c2 (curl $((N + 5)) + wrk $WRK_N)" ||
		cgs_fail "RED $dir 2xx: $c2, want $lo..$hi"
done
hc=$(awk -v id="$ID_WEB" 'index($0, "container_http_request_duration_seconds_count{") == 1 && index($0, id) { print $NF }' <<<"$M")
tot=$(( $(red "$ID_WEB" inbound 2xx GET) + 2 ))
[ "$hc" = "$tot" ] && cgs_pass "duration histogram count = requests ($hc)" || cgs_fail "histogram count $hc, requests $tot"
# Only our containers are traced: every span exported is one the receiver decoded.
exported=$(cgs_value "$M" cgsight_spans_total 'result="exported"')
received=$(wc -l <"$RECV1/spans.jsonl")
dropped=$(awk 'index($0, "cgsight_spans_total{result=\"dropped") == 1 { s += $NF } END { print s + 0 }' <<<"$M")
[ "$exported" = "$received" ] && cgs_pass "cgsight_spans_total{exported} = spans received ($received)" ||
	cgs_fail "exported $exported, received $received"
[ "$dropped" = 0 ] && cgs_pass "no span dropped" || cgs_fail "$dropped spans dropped"
lost=$(cgs_value "$M" cgsight_events_lost_total 'collector="l7"')
[ "$lost" = 0 ] && cgs_pass "no capture record lost" || cgs_fail "$lost capture records lost"
kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true

# Gzip, and a receiver that answers 503 twice: the batch is retried, nothing is lost.
RECV2="$CGS_TMP/recv2"
start_receiver "$RECV2" --fail-first 2 --status 503
cgs_start_agent --interval 1s --rescan-interval 60s --containerd-state-dir "$STATE" --traces true --bpf-max-containers 8192 \
	--traces-cgroups "$REL/*" --otlp-endpoint "http://127.0.0.1:$RPORT/v1/traces" --otlp-flush-interval 100ms --otlp-gzip true \
	--otlp-retry-backoff 100ms --traces-span-budget 0 --otlp-queue-spans 1000000
in_cgroup "$CG_CLI" bash -c 'for i in 1 2 3; do curl -s -o /dev/null -H "Authorization: secret" "$0/retry/$i" || exit 1; done' "$U"
retry_spans() { grep -F '"url.path":"/retry/' "$RECV2/spans.jsonl" 2>/dev/null | grep -c -F -e "$ID_WEB" -e "$ID_CLI"; }
for _ in $(seq 100); do
	[ "$(retry_spans)" -ge 6 ] && break
	sleep 0.1
done
got=$(retry_spans)
for _ in $(seq 60); do
	M=$(cgs_metrics)
	[ "$(cgs_value "$M" cgsight_spans_export_requests_total 'result="retried"')" -ge 2 ] 2>/dev/null && break
	sleep 0.5
done
[ "$got" = 6 ] && cgs_pass "gzip + two 503 answers: all 6 spans arrived" || cgs_fail "gzip + 503: $got spans, want 6"
grep -q '"content-encoding":"gzip"' "$RECV2/requests.jsonl" && cgs_pass "sent with Content-Encoding: gzip" || cgs_fail "no gzip"
retried=$(cgs_value "$M" cgsight_spans_export_requests_total 'result="retried"')
[ "${retried:-0}" -ge 2 ] && cgs_pass "retries counted ($retried)" || cgs_fail "retries: ${retried:-none}"
[ "$(grep -c secret "$RECV2/raw.bin" "$RECV2/plain.bin" | awk -F: '{ s += $2 } END { print s }')" = 0 ] &&
	cgs_pass "no 'secret' in the gzip run either" || cgs_fail "'secret' exported in the gzip run"

cgs_finish
