#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e (root + BPF, a real Forward server: @fluent-org/logger's FluentServer):
# OOM-kill events from the agent to Fluentd through events_file and the log
# pipeline. This host cannot run its own OOM killer safely (see
# docs/collectors/mem.md); the harness runs the RUNNING AGENT's raw_tp
# oom:mark_victim program (CGSIGHT_TEST_DISABLE=mem_tp_btf) with
# BPF_PROG_TEST_RUN on a real victim, a child holding memory in a
# Kubernetes-shaped container (containerd state with its pod's names). All
# that follows the kernel hook is the agent's own path: ring buffer, mem
# collector, events_file, log pipeline, Forward.
#   1. one kill: exactly one record, tag cgsight.events, with the event's
#      fields (pid, comm, memory at the kill against /proc/<pid>/status) as
#      record fields and the container's metadata (namespace, pod,
#      container, container id, image, pod uid; host), EventTime = the
#      event's time; the API and container_oom_events_total agree;
#   2. the server down at the kill, the agent killed with SIGKILL before it
#      could ship, the server back and the agent restarted: the event
#      arrives, once; the first one is not sent again;
#   3. events_file rotated (events_file_max_bytes 4096) by 12 kills in a
#      row: all arrive, once, in order;
#   4. logs: false: the kill still goes to events_file and the API; nothing
#      is shipped.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/fluent/lib.sh"
cgs_init
fl_install
HARNESS=${CGS_BUILD:?CGS_BUILD must point at the build tree}/tests/cgs_sched_harness
[ -x "$HARNESS" ] || { echo "FAIL: $HARNESS not built" >&2; exit 1; }

cgs_test_cgroup_root
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
ID=$(hex64); POD=$(cat /proc/sys/kernel/random/uuid)
CREL="$REL/kubepods/besteffort/pod$POD/$ID"
CG="$CG2$CREL"
STATE="$CGS_TMP/containerd"
mkdir -p "$STATE/k8s.io/$ID" "$CG"
printf '{"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.container-name":"web","io.kubernetes.cri.sandbox-name":"web-0","io.kubernetes.cri.sandbox-namespace":"shop","io.kubernetes.cri.sandbox-uid":"%s","io.kubernetes.cri.image-name":"docker.io/library/web:1.25"}}\n' \
	"$POD" >"$STATE/k8s.io/$ID/config.json"
# The agent's mem collector loads its raw_tp programs, which BPF_PROG_TEST_RUN can drive.
export CGSIGHT_TEST_DISABLE=mem_tp_btf

# agent EVENTS_FILE STATE PORT [options...]: the agent on this machine's containers, logs on (no
# container log files: only events_file is tailed).
agent() {
	local ev=$1 st=$2 port=$3
	shift 3
	cgs_start_agent --interval 1s --rescan-interval 60s --containerd-state-dir "$STATE" --bpf-max-containers 8192 \
		--node-name e2e-node --logs true --log-paths "$CGS_TMP/no-logs/*.log" --events-file "$ev" \
		--log-position-file "$st/pos" --log-spool-dir "$st/spool" --fluentd-address "127.0.0.1:$port" \
		--log-commit-interval 100ms --fluentd-retry-wait 200ms --fluentd-retry-max-wait 1s "$@"
	grep -q "collector:mem.*raw_tp programs.*OOM kills on" "$CGS_TMP/agent.log" ||
		{ cat "$CGS_TMP/agent.log" >&2; echo "FAIL: the mem collector did not load its raw_tp programs" >&2; exit 1; }
	grep -qE "bpf_max_containers reached: .*$ID" "$CGS_TMP/agent.log" &&
		{ echo "FAIL: no BPF slot for the test's container (more containers than bpf_max_containers)" >&2; exit 1; }
	# The container has its slot once its series are there.
	for _ in $(seq 100); do
		cgs_metrics_has "container_oom_events_total\\{[^}]*id=\"$CREL\"" && return 0
		sleep 0.1
	done
	echo "FAIL: the test's container is not in the agent's series" >&2
	exit 1
}
# kill_in OUT [MIB]: an OOM "kill" of a child holding MIB MiB in the container (the agent's own program).
kill_in() {
	"$HARNESS" --oom-agent "$CGS_AGENT_PID" "$CG" "${2:-64}" >"$1" 2>"$CGS_TMP/harness.err" ||
		{ cat "$CGS_TMP/harness.err" >&2; echo "FAIL: the harness could not run the agent's program" >&2; exit 1; }
	grep -q '"test_run":0' "$1" || { cat "$1" >&2; echo "FAIL: BPF_PROG_TEST_RUN failed" >&2; exit 1; }
}
# ours OUT: records of the test's container that reached the server.
ours() { grep -c "\"container_id\":\"$ID\"" "$1" 2>/dev/null || true; }
wait_ours() { # OUT N TIMEOUT_S
	local end=$((SECONDS + $3))
	while [ "$(ours "$1")" -lt "$2" ] && [ $SECONDS -lt $end ]; do sleep 0.2; done
	ours "$1"
}
lines() { grep -c "\"container_id\":\"$ID\"" "$1" 2>/dev/null || true; }

# ---- 1. one kill, one record ---------------------------------------------------
OUT=$CGS_TMP/out.jsonl; EV=$CGS_TMP/ev/events.log; ST=$CGS_TMP/state
fl_start "$OUT" 0
PORT=$FL_PORT
agent "$EV" "$ST" "$PORT"
kill_in "$CGS_TMP/o1.json"
wait_ours "$OUT" 1 20 >/dev/null
sleep 1.5 # a second record would have come by now
cgs_api >"$CGS_TMP/api.json"
M=$(cgs_metrics)
n=$(cgs_value "$M" container_oom_events_total "id=\"$CREL\"")
[ "$n" = 1 ] && cgs_pass "container_oom_events_total 1 for the container" || cgs_fail "container_oom_events_total ${n:-none}"
if res=$("$PY" - "$OUT" "$CGS_TMP/o1.json" "$CGS_TMP/api.json" "$ID" "$POD" "$CREL" <<'EOF'
import json, sys, time
out, o, api, cid, pod, crel = sys.argv[1:7]
o = json.load(open(o))
recs = [json.loads(l) for l in open(out)]
recs = [r for r in recs if r["record"].get("container_id") == cid]
errs = []
def want(c, msg):
    if not c:
        errs.append(msg)
want(len(recs) == 1, "%d records of the container, want exactly 1" % len(recs))
r = recs[0] if recs else {"tag": None, "time": [0, 0], "record": {}}
e = r["record"]
want(r["tag"] == "cgsight.events", "tag %r" % r["tag"])
want(e.get("type") == "oom_kill", "type %r" % e.get("type"))
want(e.get("pid") == o["pid"] and e.get("tid") == o["pid"], "pid %r tid %r, victim %r" % (e.get("pid"), e.get("tid"), o["pid"]))
want(e.get("comm") == "cgs_sched_harne", "comm %r" % e.get("comm"))
want(e.get("id") == crel, "id %r, want %r" % (e.get("id"), crel))
for k, v in (("namespace", "shop"), ("pod", "web-0"), ("container", "web"), ("pod_uid", pod),
             ("image", "docker.io/library/web:1.25")):
    want(e.get(k) == v, "%s %r, want %r" % (k, e.get(k), v))
k8s = e.get("kubernetes", {})
want(k8s == {"namespace_name": "shop", "pod_name": "web-0", "pod_id": pod, "container_name": "web",
             "docker_id": cid, "container_image": "docker.io/library/web:1.25", "host": "e2e-node"},
     "kubernetes %r" % k8s)
st = o["status"]
anon, rss = st["RssAnon"] * 1024, st["VmRSS"] * 1024
want(isinstance(e.get("anon_rss_bytes"), int) and anon > 64 << 20 and abs(e["anon_rss_bytes"] - anon) <= 2 << 20,
     "anon_rss_bytes %r vs RssAnon %d" % (e.get("anon_rss_bytes"), anon))
want(isinstance(e.get("rss_bytes"), int) and abs(e["rss_bytes"] - rss) <= 2 << 20, "rss_bytes %r vs VmRSS %d" % (e.get("rss_bytes"), rss))
want(isinstance(e.get("time"), float) and abs(e["time"] - time.time()) < 60, "time %r" % e.get("time"))
et = r["time"][0] + r["time"][1] / 1e9
want(abs(et - e.get("time", 0)) < 1e-6, "EventTime %r vs the event's time %r" % (r["time"], e.get("time")))
ev = [x for x in json.load(open(api))["events"] if x.get("container_id") == cid]
want(len(ev) == 1 and {k: v for k, v in e.items() if k != "kubernetes"} == ev[0],
     "the record's fields differ from the API's event: %r vs %r" % (e, ev))
print("; ".join(errs) if errs else "pid %d (%s) in %s/%s/%s, anon %.1f MiB (RssAnon %.1f MiB), %d fields + kubernetes" % (
    e["pid"], e["comm"], e["namespace"], e["pod"], e["container"], e["anon_rss_bytes"] / 2**20, anon / 2**20, len(e) - 1))
sys.exit(1 if errs else 0)
EOF
); then cgs_pass "one kill, exactly one record with the event's fields and metadata: $res"; else cgs_fail "one kill: $res"; fi
[ "$(lines "$EV")" = 1 ] && cgs_pass "events_file holds the kill ($(wc -c <"$EV") bytes)" || cgs_fail "events_file: $(cat "$EV")"

# ---- 2. server down at the kill, agent killed, both back -------------------------------
fl_stop "$FL_PID"
kill_in "$CGS_TMP/o2.json"
for _ in $(seq 50); do [ "$(lines "$EV")" = 2 ] && break; sleep 0.1; done
sleep 1.5 # read, and sent nowhere
M=$(cgs_metrics)
up=$(mval "$M" cgsight_logs_forward_up)
[ "$(lines "$EV")" = 2 ] && [ "$up" = 0 ] && cgs_pass "second kill in events_file while the server is down" ||
	cgs_fail "second kill: $(lines "$EV") lines in events_file, forward_up $up"
kill -9 "$CGS_AGENT_PID"
wait "$CGS_AGENT_PID" 2>/dev/null || true
cgs_log "agent killed with SIGKILL"
fl_start "$OUT" "$PORT"
agent "$EV" "$ST" "$PORT"
n=$(wait_ours "$OUT" 2 30)
sleep 1.5
pid2=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$CGS_TMP/o2.json")
pid1=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$CGS_TMP/o1.json")
c1=$(grep "\"container_id\":\"$ID\"" "$OUT" | grep -c "\"pid\":$pid1," || true)
c2=$(grep "\"container_id\":\"$ID\"" "$OUT" | grep -c "\"pid\":$pid2," || true)
[ "$c2" = 1 ] && [ "$c1" = 1 ] && [ "$(ours "$OUT")" = 2 ] &&
	cgs_pass "after SIGKILL and restart the unacknowledged kill arrived once (pid $pid2); the acknowledged one was not resent" ||
	cgs_fail "after restart: kill 1 arrived $c1 times, kill 2 $c2 times, $(ours "$OUT") records"
agent_stop

# ---- 3. rotation ------------------------------------------------------------------
EV3=$CGS_TMP/ev3/events.log
agent "$EV3" "$CGS_TMP/state3" "$PORT" --events-file-max-bytes 4096 --log-rotate-wait 1s
before=$(ours "$OUT")
: >"$CGS_TMP/pids3"
for i in $(seq 12); do
	kill_in "$CGS_TMP/o3.json" 1
	"$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$CGS_TMP/o3.json" >>"$CGS_TMP/pids3"
done
wait_ours "$OUT" $((before + 12)) 30 >/dev/null
sleep 1.5
M=$(cgs_metrics)
if res=$("$PY" - "$OUT" "$CGS_TMP/pids3" "$ID" <<'EOF'
import json, sys
want = [int(l) for l in open(sys.argv[2])]
got = [json.loads(l)["record"] for l in open(sys.argv[1])]
got = [r["pid"] for r in got if r.get("container_id") == sys.argv[3] and r.get("pid") in want]
print("%d of %d kills, %d distinct%s" % (len(got), len(want), len(set(got)), ", in order" if got == want else ", NOT in order"))
sys.exit(0 if got == want else 1)
EOF
); then cgs_pass "12 kills across rotations of events_file: $res"; else cgs_fail "rotations: $res"; fi
rot=$(mval "$M" cgsight_logs_rotations_total 'kind="rename"')
[ -f "$EV3.1" ] && [ "$(stat -c %s "$EV3")" -le 4096 ] && [ "${rot:-0}" -ge 2 ] &&
	cgs_pass "events_file rotated: $rot renames followed, $(stat -c %s "$EV3.1") + $(stat -c %s "$EV3") bytes on disk" ||
	cgs_fail "rotation: ${rot:-0} renames, files: $(ls -l "$(dirname "$EV3")")"
agent_stop

# ---- 4. logs: false --------------------------------------------------------------------
EV4=$CGS_TMP/ev4/events.log
before=$(ours "$OUT")
agent "$EV4" "$CGS_TMP/state4" "$PORT" --logs false
kill_in "$CGS_TMP/o4.json"
for _ in $(seq 50); do [ "$(lines "$EV4")" = 1 ] && break; sleep 0.1; done
sleep 1.5
ev=$(cgs_api | "$PY" -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin)["events"] if e.get("container_id") == sys.argv[1]))' "$ID")
[ "$(lines "$EV4")" = 1 ] && [ "$ev" = 1 ] && [ "$(ours "$OUT")" = "$before" ] &&
	cgs_pass "logs: false: the kill is in events_file and on the API, nothing shipped" ||
	cgs_fail "logs: false: $(lines "$EV4") lines in events_file, $ev API events, $(( $(ours "$OUT") - before )) shipped"
agent_stop
fl_stop "$FL_PID"

cgs_finish
