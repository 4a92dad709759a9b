#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The HTTP endpoint under hostile or careless clients: bearer-token
# authentication (/healthz stays open), HTTPS with a real certificate (curl
# verifies it), oversized headers refused, slow-header connections cut off,
# methods and paths refused cleanly, bad secrets refused at start.
source "$(dirname "$0")/../lib/common.sh"
cgs_init

code() { curl -s -o /dev/null -w '%{http_code}' "$@" || true; }
expect_code() { # want description curl-args...
	local want=$1 what=$2; shift 2
	local got; got=$(code "$@")
	[ "$got" = "$want" ] && cgs_pass "$what: $got" || cgs_fail "$what: got $got, want $want"
}

# Bearer token.
printf 's3cret-token\n' > "$CGS_TMP/token"
cgs_start_agent --http-token-file "$CGS_TMP/token" --bpf false
U="http://127.0.0.1:$CGS_PORT"
expect_code 401 "/metrics without a token" "$U/metrics"
expect_code 401 "/api without a token" "$U/api/v1/containers"
expect_code 401 "/metrics with a wrong token" -H 'Authorization: Bearer s3cret-tokeN' "$U/metrics"
expect_code 401 "/metrics with a token prefix" -H 'Authorization: Bearer s3cret' "$U/metrics"
expect_code 401 "/metrics with basic auth" -u user:s3cret-token "$U/metrics"
expect_code 200 "/metrics with the token" -H 'Authorization: Bearer s3cret-token' "$U/metrics"
expect_code 200 "/healthz without a token (probes)" "$U/healthz"
hdrs=$(curl -s -D - -o /dev/null "$U/metrics")
grep -qi '^WWW-Authenticate: Bearer' <<<"$hdrs" && cgs_pass "401 names the scheme" || cgs_fail "no WWW-Authenticate"

# Methods, paths, oversized requests, on the same agent.
expect_code 405 "POST refused" -X POST -d x -H 'Authorization: Bearer s3cret-token' "$U/metrics"
expect_code 404 "unknown path" -H 'Authorization: Bearer s3cret-token' "$U/../../etc/passwd"
big=$(head -c 65536 /dev/zero | tr '\0' a)
got=$(code -H "X-Big: $big" "$U/healthz")
[ "$got" = 431 ] || [ "$got" = 413 ] || [ "$got" = 000 ] && cgs_pass "64 KiB header refused ($got)" || cgs_fail "64 KiB header: $got"
expect_code 200 "agent serves after the oversized request" "$U/healthz"

# Slow-header clients are cut off by the inactivity timeout (10 s) and do not stop service.
"$PY" - "$CGS_PORT" > "$CGS_TMP/slow.out" <<'PY' &
import socket, sys, time
port = int(sys.argv[1])
socks = []
for _ in range(8):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finishes the headers
    socks.append(s)
t0 = time.time()
closed = 0
for s in socks:
    s.settimeout(30)
    try:
        if s.recv(1) == b"":
            closed += 1
    except OSError:
        closed += 1
print(closed, round(time.time() - t0, 1))
PY
SLOW=$!
CGS_PIDS+=($SLOW)
sleep 1
expect_code 200 "served while slow clients hold connections" "$U/healthz"
wait "$SLOW" || true
read -r closed secs < "$CGS_TMP/slow.out"
[ "$closed" = 8 ] && "$PY" -c "import sys; sys.exit(0 if float('$secs') < 20 else 1)" &&
	cgs_pass "8 slow-header connections closed by the agent after ${secs}s" ||
	cgs_fail "slow-header connections: $closed closed after ${secs}s"
kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true

# HTTPS with a certificate curl verifies.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$CGS_TMP/key.pem" -out "$CGS_TMP/cert.pem" >/dev/null 2>&1
cgs_start_agent --http-tls-cert-file "$CGS_TMP/cert.pem" --http-tls-key-file "$CGS_TMP/key.pem" --bpf false
expect_code 200 "HTTPS /metrics, certificate verified" --cacert "$CGS_TMP/cert.pem" "https://127.0.0.1:$CGS_PORT/metrics"
body=$(curl -s --cacert "$CGS_TMP/cert.pem" "https://127.0.0.1:$CGS_PORT/metrics")
grep -q '^cgsight_build_info' <<<"$body" &&
	cgs_pass "HTTPS body is the exposition" || cgs_fail "HTTPS body"
expect_code 000 "plain HTTP to the HTTPS port fails" --max-time 3 "http://127.0.0.1:$CGS_PORT/metrics"
kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true

# Bad secrets stop the agent at start with a message.
bad() { # description pattern args...
	local what=$1 pat=$2; shift 2
	local out rc=0
	out=$("$CGS_BIN" agent --listen 127.0.0.1:0 --bpf false "$@" 2>&1) || rc=$?
	[ "$rc" = 1 ] && grep -q "$pat" <<<"$out" && cgs_pass "$what refused" || cgs_fail "$what: rc $rc: $out"
}
bad "missing token file" "cannot read" --http-token-file "$CGS_TMP/nope"
: > "$CGS_TMP/empty"
bad "empty token file" "empty" --http-token-file "$CGS_TMP/empty"
bad "certificate without key" "go together" --http-tls-cert-file "$CGS_TMP/cert.pem"
bad "garbage certificate" "not valid PEM" --http-tls-cert-file "$CGS_TMP/token" --http-tls-key-file "$CGS_TMP/token"
cgs_finish
