#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root + BPF): the memory-event collector with real processes.
#  1. Page faults: a process in a container touching 20,000 fresh pages
#     shows them in container_memory_failures_total{failure_type="pgfault",
#     scope="container"} (against the process's own fault counts).
#  2. RSS fallback: this host's v2 hierarchy has no memory controller and the
#     test containers have no v1 memory cgroup, so container_memory_rss is the
#     summed RSS of the container's processes, nested cgroups included
#     (against /proc/<pid>/statm).
#  3. OOM kill: nothing on this host can drive its own OOM killer safely
#     (no memory controller on v2, v1 memory cgroups are the machine's, no
#     sysrq, a global OOM would hurt the machine; mem_oom_vm.sh drives a real
#     one inside a VM). Here the harness runs the raw_tp
#     oom:mark_victim program with BPF_PROG_TEST_RUN on a real victim task: a
#     child holding 64 MiB in a container cgroup, from a parent outside every
#     container (as the OOM killer runs in the allocating task or a kworker).
#     The event (pid, comm, container, memory at kill) must come from the
#     victim, and container_oom_events_total must count it.
#  4. Memory-cgroup reclaim: the raw_tp reclaim begin/end programs run in a
#     container task 20 ms apart: one observation of ~20 ms in the histogram.
#  5. promtool on the families; the agent attaches the tp_btf programs.
source "$(dirname "$0")/../lib/common.sh"
cgs_init
HARNESS=${CGS_BUILD:?CGS_BUILD must point at the build tree}/tests/cgs_sched_harness
[ -x "$HARNESS" ] || { echo "FAIL: $HARNESS not built" >&2; exit 1; }

cgs_test_cgroup_root
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
cname() { echo "$REL/docker/$(hex64)"; }
C_PF=$(cname); C_OOM=$(cname); C_IDLE=$(cname)
for c in "$C_PF" "$C_OOM" "$C_IDLE"; do mkdir -p "$CG2$c"; done
mkdir "$CG2$C_PF/nested"
check() { # check COND_PY MESSAGE
	if "$PY" -c "import sys; sys.exit(0 if ($1) else 1)"; then cgs_pass "$2"; else cgs_fail "$2"; fi
}

# Room for the test's containers beside any number other work on the machine holds.
cgs_start_agent --interval 1s --rescan-interval 60s --max-containers 100000 --bpf-max-containers 65535
grep -q "collector:mem.*tp_btf programs.*page faults on, memcg reclaim on, OOM kills on" "$CGS_TMP/agent.log" &&
	cgs_pass "agent: mem collector attached its tp_btf programs (page faults, memcg reclaim, OOM kills)" ||
	cgs_fail "agent: mem collector not fully attached: $(grep -E 'collector:mem|collector mem' "$CGS_TMP/agent.log")"
M=
for _ in $(seq 60); do
	M=$(cgs_metrics) || true
	grep -qF "container_oom_events_total{container=\"\",id=\"$C_PF\"" <<<"$M" && break
	sleep 0.1
done

# 1 + 2. Touch 20,000 pages, report own faults, hold the memory; a sleeper in a nested cgroup.
TOUCH='
import mmap, sys, time
n = 20000
m = mmap.mmap(-1, n * 4096)
for i in range(n):
    m[i * 4096] = 1
f = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
print(int(f[7]) + int(f[9]), flush=True)   # minflt + majflt
time.sleep(float(sys.argv[1]))
'
sh -c 'echo $$ > "$1/cgroup.procs" && exec "$2" -c "$3" 60' _ "$CG2$C_PF" "$PY" "$TOUCH" >"$CGS_TMP/faults" &
toucher=$!; CGS_PIDS+=("$toucher")
sh -c 'echo $$ > "$1/cgroup.procs" && exec sleep 30' _ "$CG2$C_PF/nested" &
nested=$!; CGS_PIDS+=("$nested")
for _ in $(seq 100); do [ -s "$CGS_TMP/faults" ] && break; sleep 0.05; done
sleep 2.2 # two collections while both processes are alive
M=$(cgs_metrics)
own=$(cat "$CGS_TMP/faults")
pf=$(cgs_value "$M" container_memory_failures_total "id=\"$C_PF\",image=\"\",name=\"\",namespace=\"\",pod=\"\",failure_type=\"pgfault\",scope=\"container\"")
cgs_log "page faults: collector ${pf:-none}; the process's own minflt+majflt $own (20,000 pages touched)"
check "${pf:-0} >= 20000 and abs(${pf:-0} - $own) <= 0.05 * $own + 500" \
	"page faults: ${pf:-none} counted for 20,000 touched pages (process's own count $own, within 5 % + startup)"
rss=$(cgs_value "$M" container_memory_rss "id=\"$C_PF\"")
statm() { awk -v p="$(getconf PAGESIZE)" '{ print $2 * p }' "/proc/$1/statm"; }
want=$(( $(statm "$toucher") + $(statm "$nested") ))
cgs_log "RSS fallback: collector ${rss:-none} bytes; statm of the two processes $want bytes"
check "abs(${rss:-0} - $want) <= 0.02 * $want and $want > 80e6" \
	"container_memory_rss fallback ${rss:-none} B = RSS of the container's processes incl. nested ($want B, within 2 %)"
[ -z "$(cgs_value "$M" container_memory_failures_total "id=\"$C_PF\",image=\"\",name=\"\",namespace=\"\",pod=\"\",failure_type=\"pgmajfault\"")" ] &&
	cgs_pass "no pgmajfault series where the container has no memory.stat" ||
	cgs_fail "pgmajfault exported without a memory.stat"
idle=$(cgs_value "$M" container_memory_rss "id=\"$C_IDLE\"")
[ "$idle" = 0 ] && cgs_pass "empty container: container_memory_rss 0" || cgs_fail "empty container: container_memory_rss ${idle:-none}"
kill "$toucher" "$nested" 2>/dev/null || true
wait "$toucher" "$nested" 2>/dev/null || true

# 5. promtool on the mem families; no OOM events yet.
grep -E '^(# (HELP|TYPE) )?container_(memory_failures_total|oom_events_total|memory_reclaim_seconds|memory_rss)' <<<"$M" >"$CGS_TMP/mem.prom"
rc=0; promtool check metrics <"$CGS_TMP/mem.prom" >"$CGS_TMP/promtool" 2>&1 || rc=$?
[ "$rc" = 0 ] && cgs_pass "promtool check metrics: clean ($(grep -vc '^#' "$CGS_TMP/mem.prom") series)" ||
	cgs_fail "promtool check metrics exit $rc: $(head -5 "$CGS_TMP/promtool")"
ev=$(cgs_api | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')
[ "$ev" = 0 ] && cgs_pass "API: no OOM events before any kill" || cgs_fail "API: $ev events before any kill"
kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true

# 3 + 4. The harness with the raw_tp programs (they can be test-run; tp_btf ones cannot).
coproc H { exec "$HARNESS" --collector mem --raw 2>"$CGS_TMP/harness.err"; }
CGS_PIDS+=("$H_PID")
hcmd() { echo "$1" >&"${H[1]}"; read -r -t 30 line <&"${H[0]}"; echo "$line"; }
hcmd rescan >/dev/null
hcmd "oom $CG2$C_OOM 64" >"$CGS_TMP/o.json"
hcmd poll >/dev/null
hcmd events >"$CGS_TMP/e.json"
hcmd "dump $REL/" >"$CGS_TMP/d.json"
cgs_log "oom: $(cat "$CGS_TMP/o.json")"
cgs_log "events: $(cat "$CGS_TMP/e.json")"
"$PY" - "$CGS_TMP" "$C_OOM" "$C_IDLE" >"$CGS_TMP/oom" 2>&1 <<'EOF' && oom_rc=0 || oom_rc=$?
import json, sys, time
t, cid, idle = sys.argv[1:4]
o, ev, d = (json.load(open("%s/%s.json" % (t, n))) for n in "oed")
errs = []
def want(c, msg):
    if not c:
        errs.append(msg)
want(o.get("test_run") == 0, "test run failed: %s" % o)
want(len(ev) == 1, "%d events" % len(ev))
e = ev[0] if ev else {}
want(e.get("type") == "oom_kill", "type %s" % e.get("type"))
want(e.get("pid") == o.get("pid") and e.get("tid") == o.get("pid"), "pid %s tid %s, victim %s" % (e.get("pid"), e.get("tid"), o.get("pid")))
want(e.get("id") == cid, "container %s, want %s (the victim's, not the caller's)" % (e.get("id"), cid))
want(e.get("container_id") == cid.rsplit("/", 1)[1], "container_id %s" % e.get("container_id"))
want(e.get("comm") == "cgs_sched_harne", "comm %r" % e.get("comm"))
want(e.get("uid") == 0, "uid %s" % e.get("uid"))
want(abs(e.get("time", 0) - time.time()) < 30, "time %s" % e.get("time"))
st = o.get("status", {})
anon = st.get("RssAnon", 0) * 1024
want(anon > 64 << 20 and abs(e.get("anon_rss_bytes", 0) - anon) <= 2 << 20,
     "anon_rss_bytes %s vs RssAnon %s" % (e.get("anon_rss_bytes"), anon))
rss = st.get("VmRSS", 0) * 1024
want(abs(e.get("rss_bytes", 0) - rss) <= 2 << 20, "rss_bytes %s vs VmRSS %s" % (e.get("rss_bytes"), rss))
want(abs(e.get("total_vm_bytes", 0) - st.get("VmSize", 0) * 1024) <= 2 << 20, "total_vm_bytes %s vs VmSize %s" % (e.get("total_vm_bytes"), st.get("VmSize")))
want(e.get("pgtables_bytes", 0) > 0, "pgtables_bytes %s" % e.get("pgtables_bytes"))
c = {x["id"]: x for x in d["containers"]}
want(c[cid]["samples"].get("container_oom_events_total{}") == 1, "oom count %s" % c[cid]["samples"].get("container_oom_events_total{}"))
want(c[idle]["samples"].get("container_oom_events_total{}") == 0, "idle container oom count %s" % c[idle]["samples"].get("container_oom_events_total{}"))
print("; ".join(errs) if errs else "pid %d comm %s container %s anon %.1f MiB (RssAnon %.1f MiB) memcg %s" % (
    e["pid"], e["comm"], e["id"], e["anon_rss_bytes"] / 2**20, anon / 2**20, e.get("memcg_usage_bytes")))
sys.exit(1 if errs else 0)
EOF
[ "$oom_rc" = 0 ] && cgs_pass "OOM event from the victim task (mark_victim raw_tp, BPF_PROG_TEST_RUN): $(cat "$CGS_TMP/oom")" ||
	cgs_fail "OOM event: $(cat "$CGS_TMP/oom")"

hcmd "reclaim $CG2$C_OOM 20" >"$CGS_TMP/r.json"
hcmd "dump $REL/" >"$CGS_TMP/d.json"
"$PY" - "$CGS_TMP" "$C_OOM" >"$CGS_TMP/reclaim" 2>&1 <<'EOF' && rc=0 || rc=$?
import json, sys
r, d, cid = json.load(open(sys.argv[1] + "/r.json")), json.load(open(sys.argv[1] + "/d.json")), sys.argv[2]
h = [x for x in d["containers"] if x["id"] == cid][0]["samples"]["container_memory_reclaim_seconds{}"]
n, s, b = sum(h["counts"]), h["sum"], [i for i, v in enumerate(h["counts"]) if v]
print("status %s count %d sum %.4f s bucket %s" % (r.get("status"), n, s, b))
sys.exit(0 if r.get("status") == 0 and n == 1 and 0.020 <= s < 0.060 and b == [int(s * 1e6).bit_length()] else 1)
EOF
[ "$rc" = 0 ] && cgs_pass "memcg reclaim of ~20 ms in a container task: $(cat "$CGS_TMP/reclaim")" ||
	cgs_fail "memcg reclaim: $(cat "$CGS_TMP/reclaim")"
eval "exec ${H[1]}>&-"; wait "$H_PID" 2>/dev/null || true
grep -q . "$CGS_TMP/harness.err" && cgs_log "harness stderr: $(cat "$CGS_TMP/harness.err")"

cgs_finish
