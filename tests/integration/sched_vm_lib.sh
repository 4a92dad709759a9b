# SPDX-License-Identifier: Apache-2.0
# Sourced by the VM tests (mem_oom_vm.sh, sched_vm.sh), after common.sh: a
# throw-away qemu virtual machine running the agent, for what this host
# cannot offer or measure cleanly (a real OOM kill; a CPU nobody else uses).
#
#   vm_prepare            skips the test (exit 77) without qemu, a static
#                         busybox or a kernel image; sets VM_KERNEL
#   vm_init <<'EOF'       the guest's init script after the common set-up
#                         (proc, sys, dev, tmp, cgroup2 at /sys/fs/cgroup, lo
#                         up); `agent_start ARGS` starts the agent on
#                         127.0.0.1:9338 and waits until it serves; `section
#                         NAME CMD...` prints CMD's output between markers;
#                         the guest powers off after it
#   vm_boot               boots it (TCG unless CGS_VM_ACCEL says otherwise),
#                         retrying a boot that panicked before init
#   vm_section NAME       a section of the guest's output
#
# The kernel: CGS_VM_KERNEL, else the newest in /var/cache/cgsight/vm, put
# there once by `tests/integration/mem_oom_vm.sh --fetch-kernel` (Debian's
# linux-image-amd64 through apt-get download). The guest's agent is the
# host's binary with the libraries ldd finds.

VM_ACCEL=${CGS_VM_ACCEL:-tcg}
VM_BUSYBOX=${CGS_VM_BUSYBOX:-/bin/busybox}
VM_CACHE=${CGS_VM_CACHE:-/var/cache/cgsight/vm}

vm_skip() { echo "SKIP: $*"; exit 77; } # ctest: SKIP_RETURN_CODE 77

vm_prepare() {
	command -v qemu-system-x86_64 >/dev/null ||
		vm_skip "qemu-system-x86_64 missing (apt-get install --no-install-recommends qemu-system-x86)"
	file -L "$VM_BUSYBOX" 2>/dev/null | grep -q "statically linked" ||
		vm_skip "no static busybox at $VM_BUSYBOX (apt-get install busybox-static)"
	VM_KERNEL=${CGS_VM_KERNEL:-$(ls "$VM_CACHE"/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)}
	[ -n "$VM_KERNEL" ] && [ -r "$VM_KERNEL" ] ||
		vm_skip "no kernel image: run 'tests/integration/mem_oom_vm.sh --fetch-kernel' once, or set CGS_VM_KERNEL"
	cgs_log "VM kernel $VM_KERNEL, accel $VM_ACCEL"
}

# One-time set-up, outside any test run: a Debian kernel into $VM_CACHE.
vm_fetch_kernel() {
	local pkg tmp
	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
	[ -n "$pkg" ] || { echo "FAIL: apt knows no linux-image-amd64" >&2; return 1; }
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download "$pkg") &&
		dpkg-deb --fsys-tarfile "$tmp/$pkg"_*.deb | tar -x -C "$tmp" ./boot &&
		mkdir -p "$VM_CACHE" && cp "$tmp"/boot/vmlinuz-* "$tmp"/boot/config-* "$VM_CACHE"/
	local rc=$?
	rm -rf "$tmp"
	[ "$rc" = 0 ] && echo "kernel in $VM_CACHE: $(ls "$VM_CACHE")"
	return "$rc"
}

# The initramfs: busybox, the agent, its libraries, and an init made of the
# common set-up, the caller's script (stdin) and a power-off.
vm_init() {
	local r="$CGS_TMP/vmroot"
	mkdir -p "$r"/{bin,proc,sys,dev,tmp,etc,lib,lib64}
	cp "$VM_BUSYBOX" "$r/bin/busybox"
	for a in sh mount mkdir echo cat sleep seq grep wget ip poweroff dd awk head sed tr taskset timeout \
		usleep date; do
		ln -s busybox "$r/bin/$a"
	done
	cp "$CGS_BIN" "$r/bin/cgsight"
	ldd "$CGS_BIN" | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }' | while read -r lib; do
		mkdir -p "$r$(dirname "$lib")"
		cp -L "$lib" "$r$lib"
	done
	{
		cat <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ip link set lo up
agent_start() {
	/bin/cgsight agent --listen 127.0.0.1:9338 "$@" > /tmp/agent.log 2>&1 &
	for i in $(seq 600); do grep -q "serving on" /tmp/agent.log && break; sleep 0.1; done
}
section() {
	local n=$1
	shift
	echo "CGS-VM BEGIN $n"; "$@"; echo; echo "CGS-VM END"
}
EOF
		cat
		cat <<'EOF'
section agent.log cat /tmp/agent.log
poweroff -f
EOF
	} >"$r/init"
	chmod +x "$r/init"
	"$PY" - "$r" "$CGS_TMP/initrd.gz" <<'EOF'
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
}

VM_LOG="$CGS_TMP/vm.log"

# An emulated machine on a busy host can fail the kernel's early timer checks
# (a panic before init): such a boot is retried. Fails the test if no boot
# produced the guest's output within 240 s.
vm_boot() {
	local attempt qemu
	for attempt in 1 2 3; do
		qemu-system-x86_64 -accel "$VM_ACCEL" -cpu max -m 768 -smp 2 -kernel "$VM_KERNEL" \
			-initrd "$CGS_TMP/initrd.gz" -append "console=ttyS0 quiet panic=-1 no_timer_check" \
			-nographic -no-reboot -monitor none </dev/null >"$VM_LOG" 2>&1 &
		qemu=$!
		CGS_PIDS+=("$qemu")
		for _ in $(seq 2400); do kill -0 "$qemu" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$qemu" 2>/dev/null; then
			tail -20 "$VM_LOG" >&2
			cgs_fail "the VM did not finish in 240 s"
			cgs_finish
		fi
		tr -d '\r' <"$VM_LOG" >"$VM_LOG.txt"
		grep -q "CGS-VM BEGIN agent.log" "$VM_LOG.txt" && return 0
		grep -q "Kernel panic" "$VM_LOG.txt" && ! grep -q "CGS-VM" "$VM_LOG.txt" || break
		cgs_log "boot $attempt: $(grep -m1 "Kernel panic" "$VM_LOG.txt"); booting again"
	done
	tail -30 "$VM_LOG.txt" >&2
	cgs_fail "no results from the VM"
	cgs_finish
}

vm_section() { awk -v s="CGS-VM BEGIN $1" '$0 == s { on = 1; next } /^CGS-VM END/ { on = 0 } on' "$VM_LOG.txt"; }
