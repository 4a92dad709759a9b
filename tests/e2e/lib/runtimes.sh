# SPDX-License-Identifier: Apache-2.0
#
# Real container runtimes for the end-to-end tests: podman 4.3 + runc and
# containerd 1.6 + ctr, run only inside a private mount namespace that has
# cgroup2 mounted on /sys/fs/cgroup (on a hybrid host their cgroups then land
# in the v2 hierarchy, /sys/fs/cgroup/unified, never in the v1 ones). The
# namespace also gets private tmpfs mounts on /run and /dev/shm, so runc
# roots, shim sockets and podman's lock segment never touch the host. Every
# process, container id and host cgroup this library creates is recorded in
# a state directory, and cgs_rt_cleanup undoes exactly those, by PID and by id.
#
# Usage (bash, root):
#   . tests/e2e/lib/runtimes.sh
#   trap cgs_rt_cleanup EXIT
#   cgs_ns_start                         # CGS_NS_PID, CGS_RT_STATE
#   cgs_podman_setup "$tmp/podman"       # conf + storage below that dir
#   cgs_rootfs_build "$tmp/rootfs"
#   cgs_image_build "$tmp/rootfs"        # localhost/cgsight-test:1
#   id=$(cgs_podman_run web sleep 1000)
#   cgs_containerd_start "$tmp/containerd"
#   cgs_ctr_import
#   cid=$(cgs_rand_hex 64); uid=$(cgs_rand_uuid)
#   cgs_ctr_run "$cid" "$uid" besteffort container app mypod default sleep 1000
#   ...
#   cgs_rt_cleanup
#
# Functions return non-zero and print a reason on stderr when a step fails;
# nothing here calls exit.

CGS_IMAGE=${CGS_IMAGE:-localhost/cgsight-test:1}
CGS_V2_HOST=${CGS_V2_HOST:-/sys/fs/cgroup/unified}
CGS_CTR_NS=${CGS_CTR_NS:-k8s.io}

_cgs_err() { printf 'runtimes.sh: %s\n' "$*" >&2; }

_cgs_record() { # file line...
	local f=$1; shift
	[ -n "${CGS_RT_STATE:-}" ] || { _cgs_err "no state dir; call cgs_ns_start first"; return 1; }
	printf '%s\n' "$@" >>"$CGS_RT_STATE/$f"
}

# Last value recorded under `key`, so that functions called in a subshell
# (e.g. inside $(...)) still find what an earlier call set up.
_cgs_state_get() {
	[ -n "${CGS_RT_STATE:-}" ] && [ -s "$CGS_RT_STATE/$1" ] && tail -n1 "$CGS_RT_STATE/$1"
}

_cgs_wait_for() { # tries command...; polls every 0.1 s
	local n=$1; shift
	while [ "$n" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

cgs_rand_hex() { # n characters of lowercase hex
	od -An -N$(( ($1 + 1) / 2 )) -tx1 /dev/urandom | tr -d ' \n' | cut -c1-"$1"
}

cgs_rand_uuid() {
	local h; h=$(cgs_rand_hex 32)
	printf '%s-%s-4%s-a%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:13:3}" "${h:17:3}" "${h:20:12}"
}

# Runs a command inside the private mount namespace.
cgs_ns_exec() {
	[ -n "${CGS_NS_PID:-}" ] || { _cgs_err "namespace not started"; return 1; }
	nsenter -t "$CGS_NS_PID" -m -- "$@"
}

_cgs_ns_ready() {
	grep -q ' /sys/fs/cgroup [^ ]* .*- cgroup2 ' "/proc/$1/mountinfo" &&
		grep -q ' - tmpfs cgsight-shm ' "/proc/$1/mountinfo" &&
		[ "$(readlink "/proc/$1/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]
}

# cgs_ns_start [state-dir]: starts the namespace holder (sleep infinity in a
# new session) and sets CGS_NS_PID. The state dir defaults to a new mktemp -d.
cgs_ns_start() {
	local pidf i pid
	if [ -n "${CGS_NS_PID:-}" ]; then _cgs_err "namespace already started ($CGS_NS_PID)"; return 1; fi
	CGS_RT_STATE=${1:-$(mktemp -d /tmp/cgs-rt.XXXXXX)} || return 1
	mkdir -p "$CGS_RT_STATE" || return 1
	export CGS_RT_STATE
	pidf=$CGS_RT_STATE/ns.pid
	rm -f "$pidf"
	# The holder writes its own PID ($$ survives the exec), so the recorded
	# PID is right even if setsid had to fork.
	setsid unshare -m --propagation private bash -c '
		mount -t cgroup2 cgroup2 /sys/fs/cgroup &&
		mount -t tmpfs -o mode=0755 cgsight-run /run &&
		mount -t tmpfs -o mode=1777 cgsight-shm /dev/shm &&
		echo $$ >"$1" && exec sleep infinity' cgs-ns "$pidf" </dev/null >/dev/null 2>&1 &
	for i in $(seq 50); do
		[ -s "$pidf" ] && break
		sleep 0.1
	done
	pid=$(cat "$pidf" 2>/dev/null)
	if [ -z "$pid" ] || ! _cgs_wait_for 50 _cgs_ns_ready "$pid"; then
		_cgs_err "mount namespace did not come up"
		[ -n "$pid" ] && _cgs_kill_pid "$pid"
		rm -rf -- "$CGS_RT_STATE"
		unset CGS_RT_STATE
		return 1
	fi
	CGS_NS_PID=$pid
	readlink "/proc/$pid/ns/mnt" >"$CGS_RT_STATE/ns.mnt"
	_cgs_record pids "$pid"
	export CGS_NS_PID
	# podman/buildah write a blob info cache here even with a private
	# graphroot; remember whether it predates us.
	[ -e /var/lib/containers/cache ] || _cgs_record created-paths /var/lib/containers/cache
	[ -e /var/lib/containers ] || _cgs_record created-paths /var/lib/containers
}

# Remembers every missing ancestor of a v2 cgroup (relative path) so that
# cleanup removes only what the runtimes created for us.
_cgs_note_cgroup_parents() {
	local rel=$1 acc="" comp
	local IFS=/
	for comp in $rel; do
		[ -n "$comp" ] || continue
		acc="$acc/$comp"
		[ -d "$CGS_V2_HOST$acc" ] || _cgs_record created-cgroups "$acc"
	done
}

# --- podman -----------------------------------------------------------------

# cgs_podman_setup DIR: writes DIR/containers.conf and DIR/storage.conf
# (graphroot DIR/graph, runroot DIR/runroot, runc root DIR/runc-root).
cgs_podman_setup() {
	local d=$1
	[ -n "$d" ] || { _cgs_err "cgs_podman_setup DIR"; return 1; }
	mkdir -p "$d/graph" "$d/runroot" "$d/runc-root" "$d/tmp" || return 1
	d=$(cd "$d" && pwd) || return 1
	cat >"$d/containers.conf" <<-EOF
	[containers]
	log_driver = "k8s-file"
	pids_limit = 0
	default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

	[engine]
	runtime = "runc"
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	events_logfile_path = "$d/events.log"
	tmp_dir = "$d/tmp"
	EOF
	cat >"$d/storage.conf" <<-EOF
	[storage]
	driver = "overlay"
	graphroot = "$d/graph"
	runroot = "$d/runroot"
	EOF
	CGS_PODMAN_DIR=$d
	export CGS_PODMAN_DIR
	_cgs_record podman-dir "$d"
}

_cgs_podman_dir() {
	[ -n "${CGS_PODMAN_DIR:-}" ] || CGS_PODMAN_DIR=$(_cgs_state_get podman-dir) ||
		{ _cgs_err "call cgs_podman_setup first"; return 1; }
}

cgs_podman() {
	_cgs_podman_dir || return 1
	cgs_ns_exec env CONTAINERS_CONF="$CGS_PODMAN_DIR/containers.conf" \
		CONTAINERS_STORAGE_CONF="$CGS_PODMAN_DIR/storage.conf" \
		podman --runtime-flag "root=$CGS_PODMAN_DIR/runc-root" "$@"
}

cgs_buildah() {
	_cgs_podman_dir || return 1
	cgs_ns_exec env CONTAINERS_CONF="$CGS_PODMAN_DIR/containers.conf" \
		CONTAINERS_STORAGE_CONF="$CGS_PODMAN_DIR/storage.conf" \
		buildah "$@"
}

# cgs_rootfs_build DIR: a busybox-static root filesystem (applets as
# symlinks in /bin).
cgs_rootfs_build() {
	local r=$1 bb
	[ -n "$r" ] || { _cgs_err "cgs_rootfs_build DIR"; return 1; }
	bb=$(command -v busybox) || { _cgs_err "busybox-static is not installed"; return 1; }
	if command -v file >/dev/null && ! file -L "$bb" | grep -q 'statically linked'; then
		_cgs_err "$bb is not static (install busybox-static)"
		return 1
	fi
	mkdir -p "$r/bin" "$r/proc" "$r/sys" "$r/dev" "$r/etc" "$r/tmp" "$r/root" || return 1
	cp "$bb" "$r/bin/busybox" || return 1
	"$r/bin/busybox" --list | while read -r a; do
		[ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\n' >"$r/etc/group"
}

# cgs_image_build ROOTFS [NAME]: commits ROOTFS as an image (default
# $CGS_IMAGE) in the podman storage, so containers carry an image name.
cgs_image_build() {
	local r=$1 name=${2:-$CGS_IMAGE} c
	r=$(cd "$r" && pwd) || return 1
	c=$(cgs_buildah from scratch) || return 1
	if cgs_buildah copy "$c" "$r" / >/dev/null &&
		cgs_buildah config --cmd /bin/sh "$c" &&
		cgs_buildah commit -q "$c" "$name" >/dev/null; then
		cgs_buildah rm "$c" >/dev/null
		return 0
	fi
	cgs_buildah rm "$c" >/dev/null 2>&1
	_cgs_err "image build failed"
	return 1
}

# cgs_podman_run NAME CMD...: starts a detached container from $CGS_IMAGE
# (no network) and prints its id. Extra `podman run` options may be put in
# the array CGS_PODMAN_RUN_OPTS.
cgs_podman_run() {
	local name=$1 id; shift
	# With the cgroupfs manager podman puts containers in
	# /libpod_parent/libpod-<id> and every conmon in /libpod_parent/conmon.
	_cgs_note_cgroup_parents /libpod_parent/conmon
	if ! id=$(cgs_podman run -d --name "$name" --network none \
		"${CGS_PODMAN_RUN_OPTS[@]}" "$CGS_IMAGE" "$@"); then
		# a container created but not started still needs removing
		id=$(cgs_podman inspect --format '{{.Id}}' "$name" 2>/dev/null) &&
			_cgs_record podman-ids "$id" &&
			_cgs_record cgroups "/libpod_parent/libpod-$id"
		return 1
	fi
	id=${id##*$'\n'}
	_cgs_record podman-ids "$id"
	_cgs_record cgroups "/libpod_parent/libpod-$id"
	printf '%s\n' "$id"
}

# --- containerd -------------------------------------------------------------

# cgs_containerd_start DIR: a containerd with root, state and sockets below
# DIR and the CRI plugin disabled; sets CGS_CONTAINERD_DIR and
# CGS_CONTAINERD_PID. The OCI bundles land in
# DIR/state/io.containerd.runtime.v2.task/<ns>/<id>/config.json.
cgs_containerd_start() {
	local d=$1 pid
	[ -n "$d" ] || { _cgs_err "cgs_containerd_start DIR"; return 1; }
	mkdir -p "$d/root" "$d/state" "$d/logs" || return 1
	d=$(cd "$d" && pwd) || return 1
	cat >"$d/config.toml" <<-EOF
	version = 2
	root = "$d/root"
	state = "$d/state"
	disabled_plugins = ["io.containerd.grpc.v1.cri"]
	[grpc]
	  address = "$d/containerd.sock"
	[ttrpc]
	  address = "$d/containerd.sock.ttrpc"
	EOF
	rm -f "$d/containerd.pid"
	cgs_ns_exec setsid bash -c 'echo $$ >"$1"; exec containerd --config "$2"' \
		cgs-containerd "$d/containerd.pid" "$d/config.toml" \
		</dev/null >>"$d/containerd.log" 2>&1 &
	_cgs_wait_for 50 test -s "$d/containerd.pid" || { _cgs_err "containerd did not start"; return 1; }
	pid=$(cat "$d/containerd.pid")
	_cgs_record pids "$pid"
	CGS_CONTAINERD_DIR=$d
	CGS_CONTAINERD_PID=$pid
	export CGS_CONTAINERD_DIR CGS_CONTAINERD_PID
	_cgs_record containerd-dir "$d"
	_cgs_wait_for 100 cgs_ctr version ||
		{ _cgs_err "containerd not answering (see $d/containerd.log)"; return 1; }
}

_cgs_containerd_dir() {
	[ -n "${CGS_CONTAINERD_DIR:-}" ] || CGS_CONTAINERD_DIR=$(_cgs_state_get containerd-dir) ||
		{ _cgs_err "call cgs_containerd_start first"; return 1; }
}

cgs_ctr() {
	_cgs_containerd_dir || return 1
	cgs_ns_exec ctr --address "$CGS_CONTAINERD_DIR/containerd.sock" -n "$CGS_CTR_NS" "$@"
}

# cgs_ctr_import [NAME]: copies an image from the podman storage into
# containerd (through an OCI archive).
cgs_ctr_import() {
	local name=${1:-$CGS_IMAGE} tar
	_cgs_containerd_dir || return 1
	tar=$CGS_CONTAINERD_DIR/image.tar
	rm -f "$tar"
	cgs_buildah push -q "$name" "oci-archive:$tar:$name" >/dev/null || return 1
	cgs_ctr images import "$tar" >/dev/null || return 1
	rm -f "$tar"
	cgs_ctr images ls -q | grep -qxF "$name" ||
		{ _cgs_err "image $name not in containerd after import"; return 1; }
}

# cgs_ctr_run ID POD_UID QOS KIND CONTAINER POD NAMESPACE CMD...
# Runs a detached task in cgroup /kubepods[/QOS]/pod<POD_UID>/<ID> (QOS
# guaranteed|burstable|besteffort; guaranteed pods sit directly under
# kubepods) with the annotations kubelet + containerd CRI put on a container
# (KIND=container) or a pod sandbox (KIND=sandbox; CONTAINER is ignored).
# The sandbox id annotation is read from CGS_CTR_SANDBOX_ID (default: ID).
cgs_ctr_run() {
	local id=$1 uid=$2 qos=$3 kind=$4 cname=$5 pod=$6 ns=$7 cg
	shift 7
	_cgs_containerd_dir || return 1
	case $qos in
	guaranteed) cg=/kubepods/pod$uid/$id ;;
	burstable | besteffort) cg=/kubepods/$qos/pod$uid/$id ;;
	*) _cgs_err "bad qos $qos"; return 1 ;;
	esac
	local -a ann=(
		--annotation "io.kubernetes.cri.container-type=$kind"
		--annotation "io.kubernetes.cri.sandbox-id=${CGS_CTR_SANDBOX_ID:-$id}"
		--annotation "io.kubernetes.cri.sandbox-name=$pod"
		--annotation "io.kubernetes.cri.sandbox-namespace=$ns"
		--annotation "io.kubernetes.cri.sandbox-uid=$uid"
	)
	if [ "$kind" = container ]; then
		ann+=(--annotation "io.kubernetes.cri.container-name=$cname"
			--annotation "io.kubernetes.cri.image-name=$CGS_IMAGE")
	else
		ann+=(--annotation "io.kubernetes.cri.sandbox-log-directory=/var/log/pods/${ns}_${pod}_$uid")
	fi
	_cgs_note_cgroup_parents "${cg%/*}"
	_cgs_record ctr-ids "$id"
	_cgs_record cgroups "$cg"
	cgs_ctr run -d --cpu-shares 0 --cgroup "$cg" \
		--log-uri "file://$CGS_CONTAINERD_DIR/logs/$id.log" \
		"${ann[@]}" "$CGS_IMAGE" "$id" "$@" >/dev/null
}

# --- cleanup ----------------------------------------------------------------

_cgs_pid_alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# True when PID lives in our private mount namespace (guards against a
# recorded PID that has since been reused by an unrelated process).
_cgs_in_ns() {
	[ -s "$CGS_RT_STATE/ns.mnt" ] &&
		[ "$(readlink "/proc/$1/ns/mnt" 2>/dev/null)" = "$(cat "$CGS_RT_STATE/ns.mnt")" ]
}

_cgs_kill_pid() { # pid: TERM, then KILL after 5 s
	local p=$1
	_cgs_pid_alive "$p" || return 0
	kill -TERM "$p" 2>/dev/null
	if _cgs_wait_for 50 bash -c '! [ -d /proc/$1 ] || grep -q "^State:.*Z" /proc/$1/status' _ "$p"; then
		wait "$p" 2>/dev/null
		return 0
	fi
	kill -KILL "$p" 2>/dev/null
	_cgs_wait_for 50 bash -c '! [ -d /proc/$1 ] || grep -q "^State:.*Z" /proc/$1/status' _ "$p"
	# Reaps it when it is our child (the holder and containerd are).
	wait "$p" 2>/dev/null
	return 0
}

# cgs_rt_cleanup: removes the containers, stops the processes, leaves the
# namespace and removes the host cgroups and paths this library created.
# Safe to call twice and after a partial setup.
cgs_rt_cleanup() {
	local st=${CGS_RT_STATE:-} id p cg d
	[ -n "$st" ] && [ -d "$st" ] || return 0
	[ -n "${CGS_NS_PID:-}" ] || CGS_NS_PID=$(_cgs_state_get ns.pid)
	# Ask the runtimes first, while the namespace can still be entered.
	if [ -n "${CGS_NS_PID:-}" ] && _cgs_pid_alive "$CGS_NS_PID" && _cgs_in_ns "$CGS_NS_PID"; then
		if [ -s "$st/podman-ids" ] && _cgs_podman_dir 2>/dev/null; then
			while read -r id; do
				cgs_podman rm -f -t 0 "$id" >/dev/null 2>&1
			done <"$st/podman-ids"
		fi
		if [ -s "$st/ctr-ids" ] && [ -s "$st/containerd-dir" ]; then
			while read -r id; do
				# --force kills the task with SIGKILL and waits for it
				cgs_ctr task delete -f "$id" >/dev/null 2>&1
				cgs_ctr container delete "$id" >/dev/null 2>&1
			done <"$st/ctr-ids"
		fi
	fi
	# Whatever still runs in our containers' cgroups (a runtime that failed
	# to stop its container) is ours too.
	if [ -s "$st/cgroups" ]; then
		while read -r cg; do
			[ -n "$cg" ] && [ -e "$CGS_V2_HOST$cg/cgroup.kill" ] &&
				echo 1 >"$CGS_V2_HOST$cg/cgroup.kill" 2>/dev/null
		done <"$st/cgroups"
	fi
	# The processes we started directly, newest first, then anything else
	# in our private mount namespace (shims, conmon): only the commands
	# above can have put a process there. The holder goes last.
	if [ -s "$st/pids" ]; then
		for p in $(tac "$st/pids"); do
			[ "$p" != "${CGS_NS_PID:-}" ] && _cgs_in_ns "$p" && _cgs_kill_pid "$p"
		done
	fi
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$p" != "${CGS_NS_PID:-}" ] && _cgs_in_ns "$p" && _cgs_kill_pid "$p"
	done
	[ -n "${CGS_NS_PID:-}" ] && _cgs_in_ns "$CGS_NS_PID" && _cgs_kill_pid "$CGS_NS_PID"
	# Host side of the v2 hierarchy: the containers' cgroups (and anything
	# nested in them), then the ancestors that did not exist before us.
	if [ -s "$st/cgroups" ]; then
		while read -r cg; do
			[ -n "$cg" ] && [ -d "$CGS_V2_HOST$cg" ] || continue
			find "$CGS_V2_HOST$cg" -depth -type d -exec rmdir {} \; 2>/dev/null
		done <"$st/cgroups"
	fi
	if [ -s "$st/created-cgroups" ]; then
		sort -u "$st/created-cgroups" | awk '{ print length($0) " " $0 }' | sort -rn |
			cut -d' ' -f2- | while read -r cg; do
				[ -d "$CGS_V2_HOST$cg" ] && rmdir "$CGS_V2_HOST$cg" 2>/dev/null
			done
	fi
	if [ -s "$st/created-paths" ]; then
		while read -r d; do
			case $d in
			/var/lib/containers/cache) rm -rf -- "$d" ;;
			/var/lib/containers) rmdir -- "$d" 2>/dev/null ;;
			esac
		done <"$st/created-paths"
	fi
	rm -rf -- "$st"
	unset CGS_NS_PID CGS_RT_STATE CGS_CONTAINERD_PID CGS_CONTAINERD_DIR CGS_PODMAN_DIR
	return 0
}
