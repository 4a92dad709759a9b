#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target for CGS_FUZZ_SECONDS (default 30) with the
# real-format fixtures as seed corpus, CGS_FUZZ_JOBS targets at a time
# (default: the number of CPUs). Any crash, leak, sanitizer report or
# timeout fails. Usage: run.sh FUZZ_BUILD_DIR. See README.md for longer runs.
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${CGS_FUZZ_SECONDS:-30}
jobs=${CGS_FUZZ_JOBS:-$(nproc)}
work=$(mktemp -d /tmp/cgs-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
seed() { # target -> seed dirs
	case $1 in
	fuzz_cgpath) printf '%s\n' "$src/tests/fuzz/seeds/cgpath" ;;
	fuzz_runtime) find "$src/tests/fixtures/runtime" -type d ;;
	fuzz_cgroupfs) find "$src/tests/fixtures/cgroupfs" -type d ;;
	fuzz_config) printf '%s\n' "$src/config" "$src/tests/fuzz/seeds/config" ;;
	fuzz_logs_parse) printf '%s\n' "$src/tests/fixtures/logs" "$src/tests/fuzz/seeds/fuzz_logs_parse" ;;
	fuzz_top) printf '%s\n' "$src/tests/fixtures/top" ;;
	*) find "$src/tests/fuzz/seeds/$1" -type d 2>/dev/null || true ;;
	esac
}
run_one() { # target binary; leaves $work/NAME.rc
	local bin=$1 name rc=0
	name=$(basename "$bin")
	mkdir -p "$work/$name"
	mapfile -t seeds < <(seed "$name")
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/$name/" "$work/$name" "${seeds[@]}" >"$work/$name.log" 2>&1 || rc=$?
	echo "$rc" >"$work/$name.rc"
}
targets=()
for bin in "$build"/tests/fuzz_*; do
	[ -x "$bin" ] && targets+=("$bin")
done
running=0
for bin in "${targets[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	run_one "$bin" &
	running=$((running + 1))
done
wait || true
for bin in "${targets[@]}"; do
	name=$(basename "$bin")
	if [ "$(cat "$work/$name.rc" 2>/dev/null)" = 0 ]; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
		cov=$(grep -o 'cov: [0-9]*' "$work/$name.log" | tail -1)
		echo "PASS: $name: ${runs:-?} inputs in ${secs}s, ${cov:-cov: ?} edges"
		pass=$((pass + 1))
	else
		echo "FAIL: $name"; tail -40 "$work/$name.log"
		for a in "$work/$name"/crash-* "$work/$name"/leak-* "$work/$name"/timeout-* "$work/$name"/oom-*; do
			[ -e "$a" ] || continue
			mkdir -p "$build/fuzz-artifacts"
			cp "$a" "$build/fuzz-artifacts/$name-$(basename "$a")"
			echo "  input kept: $build/fuzz-artifacts/$name-$(basename "$a")"
		done
		fail=$((fail + 1))
	fi
done
[ $((pass + fail)) -gt 0 ] || { echo "FAIL: no fuzz targets in $build/tests"; fail=1; }
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
