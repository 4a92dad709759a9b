#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root): the agent with the logs collector on, against a
# Docker-shaped container (a docker/<id> cgroup in the real v2 hierarchy,
# Docker state and json-file logs in a temporary tree) and a Forward sink
# decoding with python3-msgpack:
#   - records carry the registry's metadata (name and image from
#     config.v2.json) and the id; 16 KiB pieces arrive joined;
#   - container_log_records_total appears on the container's series, the
#     cgsight_logs_* families on the agent's, and the exposition passes promtool;
#   - Docker's rotation (<id>-json.log -> <id>-json.log.1) loses nothing;
#   - SIGTERM commits every acknowledged offset; a restart re-reads nothing;
#   - kill -9 mid-stream and a restart: every line at least once.
source "$(dirname "$0")/../lib/common.sh"
cgs_init
cgs_test_cgroup_root

ID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
D=$CGS_TMP/docker
mkdir -p "$D/$ID" "$CGS_TMP/state"
"$PY" - "$CGS_SRC/tests/fixtures/runtime/docker/plain.config.v2.json" "$D/$ID/config.v2.json" "$ID" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["ID"], c["Name"] = sys.argv[3], "/web-logs"
c["Config"]["Image"] = "nginx:1.25-logs"
json.dump(c, open(sys.argv[2], "w"))
PY
LOG=$D/$ID/$ID-json.log
# Docker json-file lines: "log" keeps its "\n"; a line over 16 KiB comes in pieces.
jline() { "$PY" -c 'import json,sys; print(json.dumps({"log": sys.argv[1], "stream": sys.argv[2], "time": "2024-03-01T10:00:00.000000001Z"}))' "$1" "$2"; }
write_lines() { # FROM TO FILE
	"$PY" - "$1" "$2" "$3" <<'PY'
import json, sys
with open(sys.argv[3], "a") as f:
    for i in range(int(sys.argv[1]), int(sys.argv[2])):
        f.write(json.dumps({"log": "docker line %d\n" % i, "stream": "stdout", "time": "2024-03-01T10:00:00.%09dZ" % i}) + "\n")
PY
}
write_lines 0 1000 "$LOG"
big=$(head -c 40000 /dev/zero | tr '\0' q)
{ jline "${big:0:16384}" stdout; jline "${big:16384:16384}" stdout; jline "${big:32768}"$'\n' stdout; jline $'oops\n' stderr; } >>"$LOG"

SINKPORT=$(cgs_free_port)
"$PY" "$CGS_SRC/bench/logs_sink.py" --port "$SINKPORT" --out "$CGS_TMP/out.jsonl" >"$CGS_TMP/sink.log" 2>&1 &
CGS_PIDS+=($!)
sleep 0.5
mkdir -p "$CG2$REL/docker/$ID"
ARGS=(--interval 2s --docker-state-dir "$D" --node-name itest-node --logs true
	--log-paths "$D/*/*-json.log" --log-position-file "$CGS_TMP/state/pos" --log-spool-dir "$CGS_TMP/state/spool"
	--fluentd-address "127.0.0.1:$SINKPORT" --log-commit-interval 100ms --log-rotate-wait 1s)
cgs_start_agent "${ARGS[@]}"

count() { grep -c "\"docker_id\": \"$ID\"" "$CGS_TMP/out.jsonl" 2>/dev/null || true; }
wait_count() { for _ in $(seq 100); do [ "$(count)" -ge "$1" ] && break; sleep 0.1; done; count; }
n=$(wait_count 1002)
if res=$("$PY" - "$CGS_TMP/out.jsonl" "$ID" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
recs = [r for r in recs if r["record"]["kubernetes"]["docker_id"] == sys.argv[2]]
err = []
logs = [r["record"]["log"] for r in recs]
if logs[:1000] != ["docker line %d" % i for i in range(1000)]: err.append("docker lines out of order or missing")
if "q" * 40000 not in logs: err.append("the 40,000-byte line is not joined")
m = recs[0]["record"]["kubernetes"]
if m["container_name"] != "web-logs" or m["container_image"] != "nginx:1.25-logs" or m["host"] != "itest-node":
    err.append("metadata %s" % m)
if recs[0]["tag"] != "kube._._.web-logs": err.append("tag %s" % recs[0]["tag"])
if not any(r["record"]["log"] == "oops" and r["record"]["stream"] == "stderr" for r in recs): err.append("stderr line")
print("; ".join(err) or "%d records" % len(recs)); sys.exit(1 if err else 0)
PY
); then cgs_pass "Docker json-file shipped with the registry's name and image: $res"; else cgs_fail "json-file: $res"; fi
for _ in $(seq 40); do # per-container series are collected each interval
	M=$(cgs_metrics)
	line=$(grep '^container_log_records_total{' <<<"$M" | grep "name=\"web-logs\"" | grep 'stream="stdout"' || true)
	[ "${line##* }" = 1001 ] && break
	sleep 0.5
done
[ "${line##* }" = 1001 ] && cgs_pass "container_log_records_total on the container's series: $line" ||
	cgs_fail "container_log_records_total: '$line'"
for fam in cgsight_logs_read_records_total cgsight_logs_acked_records_total cgsight_logs_lag_bytes cgsight_logs_files \
	cgsight_logs_buffer_bytes cgsight_logs_dropped_bytes_total cgsight_logs_forward_up container_log_lag_bytes; do
	grep -q "^$fam" <<<"$M" || cgs_fail "no $fam"
done
cgs_pass "the logs families are exported"
if command -v promtool >/dev/null; then
	promtool check metrics <<<"$M" >"$CGS_TMP/promtool.out" 2>&1 && cgs_pass "promtool: clean" ||
		cgs_fail "promtool: $(head -3 "$CGS_TMP/promtool.out")"
fi

# Docker's rotation: the file is renamed to .1 and a new one created.
write_lines 1000 1500 "$LOG"
mv "$LOG" "$LOG.1"
write_lines 1500 2000 "$LOG"
n=$(wait_count 2002)
[ "$n" = 2002 ] && cgs_pass "rotation (rename + create): 2002 records, none lost" || cgs_fail "after rotation: $n of 2002"

# SIGTERM: offsets committed; a restart ships nothing again.
kill -TERM "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true
size=$(stat -c %s "$LOG")
committed=$(awk -v i="$(stat -c %i "$LOG")" '$2 == i { print $5 }' "$CGS_TMP/state/pos")
[ "$committed" = "$size" ] && cgs_pass "SIGTERM: committed offset $committed = file size" ||
	cgs_fail "SIGTERM: committed '$committed', file size $size: $(cat "$CGS_TMP/state/pos")"
cgs_start_agent "${ARGS[@]}"
sleep 2
n=$(count)
[ "$n" = 2002 ] && cgs_pass "restart: nothing shipped twice" || cgs_fail "restart: $n records (want 2002)"

# kill -9 mid-stream.
"$PY" - "$LOG" <<'PY' &
import json, sys, time
with open(sys.argv[1], "a") as f:
    for i in range(2000, 22000):
        f.write(json.dumps({"log": "docker line %d\n" % i, "stream": "stdout", "time": "2024-03-01T10:00:00Z"}) + "\n")
        if i % 500 == 0:
            f.flush(); time.sleep(0.05)
PY
WP=$!
CGS_PIDS+=("$WP")
sleep 0.7
kill -9 "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true
cgs_start_agent "${ARGS[@]}"
wait "$WP"
wait_count 22002 >/dev/null
sleep 1
if res=$("$PY" - "$CGS_TMP/out.jsonl" "$ID" <<'PY'
import json, sys
got = {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["record"]["kubernetes"]["docker_id"] != sys.argv[2]: continue
    s = r["record"]["log"]
    if s.startswith("docker line "):
        n = int(s.split()[2]); got[n] = got.get(n, 0) + 1
missing = [n for n in range(22000) if n not in got]
dups = sum(c - 1 for c in got.values())
print("missing %d, duplicates %d" % (len(missing), dups)); sys.exit(1 if missing else 0)
PY
); then cgs_pass "kill -9 mid-stream and restart: every line at least once ($res)"; else cgs_fail "kill -9: $res"; fi
kill -TERM "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true
cgs_finish
