#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root + BPF): every variant of the syscall collector's BPF side
# (tp_btf or raw_tp programs; switched-out calls saved in task local storage or
# in the thread-id hash) counts exactly. The loader (bench/syscalls_probe.c)
# hides kernel features from the collector to make it pick each fallback.
# Workloads in the container cgroup: 100,000 getppid(), 50 x nanosleep(5 ms)
# (each one switched out and back: the save-area path), 200 failing open(),
# and a multi-threaded run (4 threads x 20,000 getppid) that migrates between CPUs.
source "$(dirname "$0")/../lib/common.sh"
cgs_init

PROBE=${CGS_BUILD:?}/cgs_bench_syscalls
LOAD=$CGS_BUILD/tests/cgs_sysload
for f in "$PROBE" "$LOAD"; do [ -x "$f" ] || { echo "FAIL: $f missing" >&2; exit 1; }; done
cgs_test_cgroup_root
CDIR="$ROOT/c"
mkdir -p "$CDIR"

run_variant() { # NAME FLAGS...
	local name=$1 out="$CGS_TMP/$1.out" pid
	shift
	"$PROBE" collector "$CDIR" "$@" >"$out" 2>"$CGS_TMP/$name.err" &
	pid=$!
	CGS_PIDS+=("$pid")
	for _ in $(seq 100); do grep -q '^ready$' "$out" && break; sleep 0.1; done
	if ! grep -q '^ready$' "$out"; then
		cat "$CGS_TMP/$name.err" >&2
		cgs_fail "$name: the collector did not load"
		kill "$pid" 2>/dev/null
		return
	fi
	"$LOAD" "$CDIR" getppid 100000 >/dev/null
	"$LOAD" "$CDIR" nanosleep 50 5 >/dev/null
	"$LOAD" "$CDIR" openfail 200 >/dev/null
	"$LOAD" "$CDIR" threads 4 20000 >/dev/null
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	local used getppid nanosleep sleeps errors
	used=$(sed -n 's/.*measuring syscalls with \([^;]*\);.*/\1/p' "$CGS_TMP/$name.err")
	getppid=$(awk '$1 == "syscall" && $2 == "getppid" { print $3 }' "$out")
	nanosleep=$(awk '$1 == "syscall" && $2 == "nanosleep" { print $3 }' "$out")
	sleeps=$(awk '$1 == "class" && $2 == "sleep" { print $3 }' "$out")
	errors=$(awk '$1 == "class" && $2 == "file_io" { print $5 }' "$out")
	# getppid: at most 1 % more (a sanitizer runtime in the helper makes a few calls of its own).
	if [ "${getppid:-0}" -ge 180000 ] && [ "${getppid:-0}" -le 181800 ] &&
		[ "${nanosleep:-0}" = 50 ] && [ "${sleeps:-0}" = 50 ] &&
		[ "${errors:-0}" -ge 200 ] && [ "${errors:-0}" -le 210 ]; then
		cgs_pass "$name ($used): getppid $getppid, nanosleep $nanosleep, sleep class $sleeps, file_io errors $errors"
	else
		cat "$out" >&2
		cgs_fail "$name ($used): getppid ${getppid:-none} (want 180000..181800), nanosleep ${nanosleep:-none} and sleep class ${sleeps:-none} (want 50), file_io errors ${errors:-none} (want 200..210)"
	fi
}

run_variant tp_btf_storage
run_variant raw_tp_storage --no-tp-btf
run_variant tp_btf_hash --no-task-storage
run_variant raw_tp_hash --no-tp-btf --no-task-storage
cgs_finish
