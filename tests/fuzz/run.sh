#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every libFuzzer target for CGS_FUZZ_SECONDS (default 30) with the
# real-format fixtures as seed corpus. Any crash, leak, sanitizer report or
# timeout fails. Usage: run.sh FUZZ_BUILD_DIR
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${CGS_FUZZ_SECONDS:-30}
work=$(mktemp -d /tmp/cgs-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
seed() { # target -> seed dirs
	case $1 in
	fuzz_cgpath) printf '%s\n' "$src/tests/fuzz/seeds/cgpath" ;;
	fuzz_runtime) find "$src/tests/fixtures/runtime" -type d ;;
	fuzz_cgroupfs) find "$src/tests/fixtures/cgroupfs" -type d ;;
	fuzz_config) printf '%s\n' "$src/config" "$src/tests/fuzz/seeds/config" ;;
	*) find "$src/tests/fuzz/seeds/$1" -type d 2>/dev/null || true ;;
	esac
}
for bin in "$build"/tests/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin")
	mkdir -p "$work/$name"
	mapfile -t seeds < <(seed "$name")
	if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/$name/" "$work/$name" "${seeds[@]}" >"$work/$name.log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
		echo "PASS: $name: ${runs:-?} inputs in ${secs}s"
		pass=$((pass + 1))
	else
		echo "FAIL: $name"; tail -40 "$work/$name.log"
		ls "$work/$name"/crash-* "$work/$name"/leak-* "$work/$name"/timeout-* 2>/dev/null | head -3
		fail=$((fail + 1))
	fi
done
[ $((pass + fail)) -gt 0 ] || { echo "FAIL: no fuzz targets in $build/tests"; fail=1; }
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
