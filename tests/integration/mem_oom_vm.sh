#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration: a REAL memory-cgroup OOM kill and real memcg reclaim, seen by
# the agent — inside a throw-away virtual machine, because this host offers
# no safe way to drive its own OOM killer (its cgroup v2 hierarchy has no
# memory controller, the v1 memory cgroups belong to the machine, and a
# global OOM would hurt the machine).
#
# The VM (qemu, TCG unless CGS_VM_ACCEL says otherwise) boots a Debian kernel
# with an initramfs holding busybox, the agent and its libraries. Its init
# mounts cgroup2 with the memory controller, creates a container cgroup with
# memory.max = 32 MiB, starts the agent, and runs `dd bs=64M` in the
# container, which the kernel's memcg OOM killer kills. The test checks,
# against the kernel's memory.events and memory.stat:
#  - container_oom_events_total == oom_kill == 1, and the API's OOM event
#    (pid and comm of the victim, its container, its memory at the kill);
#  - container_memory_reclaim_seconds counted the reclaims the limit forced
#    (memory.events max), with a positive sum;
#  - user page faults of an awk in the container (at most memory.stat's
#    pgfault, which also counts faults taken in the kernel), and pgmajfault
#    from memory.stat (which exists here); container_memory_rss exported once
#    (from cgroupfs: no RSS fallback where a memory cgroup exists).
# The VM machinery is in sched_vm_lib.sh. The kernel: CGS_VM_KERNEL, else the
# one `$0 --fetch-kernel` put in /var/cache/cgsight/vm (Debian's
# linux-image-amd64, via apt-get download). Exit 77 (skipped) without
# qemu-system-x86_64, a static busybox or a kernel.
if [ "${1:-}" = --fetch-kernel ]; then # one-time set-up, outside the test
	PY=/usr/bin/python3 CGS_TMP=/tmp source "$(dirname "$0")/sched_vm_lib.sh"
	vm_fetch_kernel
	exit
fi
source "$(dirname "$0")/../lib/common.sh"
cgs_init
source "$(dirname "$0")/sched_vm_lib.sh"
vm_prepare

ID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
C=/sys/fs/cgroup/docker/$ID
vm_init <<EOF
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p $C
echo +memory > /sys/fs/cgroup/docker/cgroup.subtree_control
echo 32M > $C/memory.max
agent_start --interval 1s
sleep 1
# User-mode page faults (dd's buffer is filled by the kernel: almost none of its own).
sh -c 'echo \$\$ > $C/cgroup.procs; exec awk "BEGIN { for (i = 0; i < 20000; i++) a[i] = i }"'
sh -c 'echo \$\$ > $C/cgroup.procs; exec dd if=/dev/zero of=/dev/null bs=64M count=2' 2>/dev/null &
victim=\$!
wait \$victim
echo "CGS-VM victim \$victim status \$?"
sleep 3
section memory.events sh -c 'cat $C/memory.events; grep -E "^pg(maj)?fault " $C/memory.stat'
section metrics wget -qO- http://127.0.0.1:9338/metrics
section api wget -qO- http://127.0.0.1:9338/api/v1/containers
EOF
vm_boot
vm_section memory.events >"$CGS_TMP/events"
vm_section metrics >"$CGS_TMP/metrics"
vm_section api >"$CGS_TMP/api"
vm_section agent.log | grep -E "collector:(sched|mem)|collector (sched|mem)" | while read -r l; do cgs_log "vm agent: $l"; done
V=$(sed -n 's/^CGS-VM victim \([0-9]*\) status \([0-9]*\)$/\1 \2/p' "$VM_LOG.txt")
read -r vpid vstatus <<<"$V"
cgs_log "VM: dd pid $vpid exit status $vstatus; memory.events: $(tr '\n' ' ' <"$CGS_TMP/events")"
M=$(cat "$CGS_TMP/metrics")
ev() { awk -v k="$1" '$1 == k { print $2 }' "$CGS_TMP/events"; }
lbl="id=\"/docker/$ID\""
get() { cgs_value "$M" "$1" "$lbl${2:+,$2}"; }

[ "$vstatus" = 137 ] && [ "$(ev oom_kill)" = 1 ] && cgs_pass "the kernel's memcg OOM killer killed dd (status 137, memory.events oom_kill 1)" ||
	cgs_fail "no OOM kill in the VM (dd status $vstatus, oom_kill $(ev oom_kill))"
oom=$(get container_oom_events_total)
[ "$oom" = 1 ] && cgs_pass "container_oom_events_total 1 (memory.events oom_kill $(ev oom_kill))" ||
	cgs_fail "container_oom_events_total ${oom:-none}, want 1"

"$PY" - "$CGS_TMP/api" "/docker/$ID" "$vpid" >"$CGS_TMP/oom" 2>&1 <<'EOF' && rc=0 || rc=$?
import json, sys
d = json.load(open(sys.argv[1]))
ev = [e for e in d["events"] if e["type"] == "oom_kill"]
assert len(ev) == 1, ev
e = ev[0]
assert e["id"] == sys.argv[2] and e["pid"] == int(sys.argv[3]) and e["comm"] == "dd", e
assert 16 << 20 <= e["anon_rss_bytes"] <= 40 << 20, e          # what dd had charged under a 32 MiB limit
assert 24 << 20 <= e.get("memcg_usage_bytes", 0) <= 33 << 20, e  # the container at its limit
print("pid %d comm %s container %s anon_rss %.1f MiB memcg usage %.1f MiB uid %d" % (
    e["pid"], e["comm"], e["id"], e["anon_rss_bytes"] / 2**20, e["memcg_usage_bytes"] / 2**20, e["uid"]))
EOF
[ "$rc" = 0 ] && cgs_pass "API OOM event: $(cat "$CGS_TMP/oom")" || cgs_fail "API OOM event: $(tail -3 "$CGS_TMP/oom")"

rcount=$(get container_memory_reclaim_seconds_count); rsum=$(get container_memory_reclaim_seconds_sum)
cgs_log "reclaim: count ${rcount:-none} sum ${rsum:-none} s; memory.events max $(ev max)"
"$PY" -c "import sys; c, s, m = float('${rcount:-0}'), float('${rsum:-0}'), float('$(ev max)'); sys.exit(0 if 1 <= c <= m and s > 0 else 1)" &&
	cgs_pass "memcg reclaim: ${rcount} reclaims (${rsum} s) for $(ev max) times at the limit" ||
	cgs_fail "memcg reclaim: count ${rcount:-none} sum ${rsum:-none}, memory.events max $(ev max)"
pf=$(get container_memory_failures_total 'image="",name="",namespace="",pod="",failure_type="pgfault",scope="container"')
mf=$(get container_memory_failures_total 'image="",name="",namespace="",pod="",failure_type="pgmajfault",scope="container"')
"$PY" -c "import sys; sys.exit(0 if 100 < float('${pf:-0}') <= float('$(ev pgfault)') and '$mf' == '$(ev pgmajfault)' else 1)" &&
	cgs_pass "user page faults ${pf} (memory.stat pgfault, kernel-mode ones included: $(ev pgfault)); pgmajfault ${mf} from memory.stat" ||
	cgs_fail "page faults ${pf:-none} (memory.stat $(ev pgfault)), pgmajfault ${mf:-none} (memory.stat $(ev pgmajfault))"
n=$(grep -c "^container_memory_rss{.*$lbl" <<<"$M" || true)
[ "$n" = 1 ] && cgs_pass "container_memory_rss exported once (cgroupfs; no fallback beside a memory cgroup)" ||
	cgs_fail "container_memory_rss exported $n times"
dups=$(grep -v '^#' <<<"$M" | awk '{ $NF = ""; print }' | sort | uniq -d | wc -l)
[ "$dups" = 0 ] && cgs_pass "no duplicate series" || cgs_fail "$dups duplicate series"

cgs_finish
