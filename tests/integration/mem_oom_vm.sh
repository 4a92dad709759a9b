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
# The kernel: CGS_VM_KERNEL, else the one `$0 --fetch-kernel` put in
# /var/cache/cgsight/vm (Debian's linux-image-amd64, via apt-get download).
# Exit 77 (skipped) without qemu-system-x86_64, a static busybox or a kernel.
CACHE=${CGS_VM_CACHE:-/var/cache/cgsight/vm}
if [ "${1:-}" = --fetch-kernel ]; then # one-time set-up, outside the test
	set -euo pipefail
	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$pkg" ] || { echo "FAIL: apt knows no linux-image-amd64" >&2; exit 1; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download "$pkg")
	dpkg-deb --fsys-tarfile "$tmp/$pkg"_*.deb | tar -x -C "$tmp" ./boot
	mkdir -p "$CACHE"
	cp "$tmp"/boot/vmlinuz-* "$tmp"/boot/config-* "$CACHE"/
	echo "kernel in $CACHE: $(ls "$CACHE")"
	exit 0
fi
source "$(dirname "$0")/../lib/common.sh"
cgs_init
ACCEL=${CGS_VM_ACCEL:-tcg}
BUSYBOX=${CGS_VM_BUSYBOX:-/bin/busybox}
skip() { echo "SKIP: $*"; exit 77; } # ctest: SKIP_RETURN_CODE 77

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 missing (apt-get install --no-install-recommends qemu-system-x86)"
file -L "$BUSYBOX" 2>/dev/null | grep -q "statically linked" || skip "no static busybox at $BUSYBOX (apt-get install busybox-static)"
KERNEL=${CGS_VM_KERNEL:-$(ls "$CACHE"/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)}
[ -n "$KERNEL" ] && [ -r "$KERNEL" ] || skip "no kernel image: run '$0 --fetch-kernel' once, or set CGS_VM_KERNEL"
cgs_log "kernel $KERNEL, accel $ACCEL"

# The initramfs: busybox, the agent and the libraries it loads.
R="$CGS_TMP/root"
mkdir -p "$R"/{bin,proc,sys,dev,tmp,etc,lib,lib64}
cp "$BUSYBOX" "$R/bin/busybox"
for a in sh mount mkdir echo cat sleep seq grep wget ip poweroff dd awk head sed tr; do ln -s busybox "$R/bin/$a"; done
cp "$CGS_BIN" "$R/bin/cgsight"
ldd "$CGS_BIN" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
ID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat >"$R/init" <<EOF
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p /sys/fs/cgroup/docker/$ID
echo +memory > /sys/fs/cgroup/docker/cgroup.subtree_control
echo 32M > /sys/fs/cgroup/docker/$ID/memory.max
ip link set lo up
/bin/cgsight agent --listen 127.0.0.1:9338 --interval 1s > /tmp/agent.log 2>&1 &
for i in \$(seq 600); do grep -q "serving on" /tmp/agent.log && break; sleep 0.1; done
sleep 1
# User-mode page faults (dd's buffer is filled by the kernel: almost none of its own).
sh -c 'echo \$\$ > /sys/fs/cgroup/docker/$ID/cgroup.procs; exec awk "BEGIN { for (i = 0; i < 20000; i++) a[i] = i }"'
sh -c 'echo \$\$ > /sys/fs/cgroup/docker/$ID/cgroup.procs; exec dd if=/dev/zero of=/dev/null bs=64M count=2' 2>/dev/null &
victim=\$!
wait \$victim
echo "CGS-VM victim \$victim status \$?"
sleep 3
echo "CGS-VM BEGIN memory.events"; cat /sys/fs/cgroup/docker/$ID/memory.events; grep -E "^pg(maj)?fault " /sys/fs/cgroup/docker/$ID/memory.stat; echo "CGS-VM END"
echo "CGS-VM BEGIN metrics"; wget -qO- http://127.0.0.1:9338/metrics; echo "CGS-VM END"
echo "CGS-VM BEGIN api"; wget -qO- http://127.0.0.1:9338/api/v1/containers; echo; echo "CGS-VM END"
echo "CGS-VM BEGIN agent.log"; cat /tmp/agent.log; echo "CGS-VM END"
poweroff -f
EOF
chmod +x "$R/init"
"$PY" - "$R" "$CGS_TMP/initrd.gz" <<'EOF'
# A gzip'd newc cpio archive of a directory (no cpio(1) needed).
import gzip, os, stat, sys
root, out = sys.argv[1], sys.argv[2]
buf, ino = bytearray(), [0]
def entry(name, st, data):
    ino[0] += 1
    mode = st.st_mode if st else 0
    h = "070701" + "".join("%08X" % v for v in (
        ino[0], mode, 0, 0, 2 if st and stat.S_ISDIR(mode) else 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0))
    b = h.encode() + name.encode() + b"\0"
    buf.extend(b + b"\0" * (-len(b) % 4) + data + b"\0" * (-len(data) % 4))
for d, dirs, files in os.walk(root):
    dirs.sort()
    for n in dirs + sorted(files):
        p = os.path.join(d, n)
        st = os.lstat(p)
        data = (os.readlink(p).encode() if stat.S_ISLNK(st.st_mode)
                else open(p, "rb").read() if stat.S_ISREG(st.st_mode) else b"")
        entry(os.path.relpath(p, root), st, data)
entry("TRAILER!!!", None, b"")
with gzip.open(out, "wb", compresslevel=1) as f:
    f.write(bytes(buf))
EOF

LOG="$CGS_TMP/vm.log"
# An emulated machine on a busy host can fail the kernel's early timer checks
# (a panic before init): such a boot is retried.
for attempt in 1 2 3; do
	qemu-system-x86_64 -accel "$ACCEL" -cpu max -m 768 -smp 2 -kernel "$KERNEL" -initrd "$CGS_TMP/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 no_timer_check" -nographic -no-reboot -monitor none \
		</dev/null >"$LOG" 2>&1 &
	QEMU=$!
	CGS_PIDS+=("$QEMU")
	for _ in $(seq 2400); do kill -0 "$QEMU" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$QEMU" 2>/dev/null && { tail -20 "$LOG" >&2; cgs_fail "the VM did not finish in 240 s"; cgs_finish; }
	tr -d '\r' <"$LOG" >"$LOG.txt"
	grep -q "CGS-VM BEGIN metrics" "$LOG.txt" && break
	grep -q "Kernel panic" "$LOG.txt" && ! grep -q "CGS-VM" "$LOG.txt" || break
	cgs_log "boot $attempt: $(grep -m1 "Kernel panic" "$LOG.txt"); booting again"
done
section() { awk -v s="CGS-VM BEGIN $1" '$0 == s { on = 1; next } /^CGS-VM END/ { on = 0 } on' "$LOG.txt"; }
grep -q "CGS-VM BEGIN metrics" "$LOG.txt" || { tail -30 "$LOG.txt" >&2; cgs_fail "no results from the VM"; cgs_finish; }
section memory.events >"$CGS_TMP/events"
section metrics >"$CGS_TMP/metrics"
section api >"$CGS_TMP/api"
grep -E "collector:(sched|mem)|collector (sched|mem)" <(section agent.log) | while read -r l; do cgs_log "vm agent: $l"; done
V=$(sed -n 's/^CGS-VM victim \([0-9]*\) status \([0-9]*\)$/\1 \2/p' "$LOG.txt")
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
