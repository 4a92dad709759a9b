#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every benchmark (root needed: they create cgroups and load BPF). Each
# prints its figures and ratios against a baseline measured in the same run.
# Usage: bench/run.sh [BUILD_DIR] [NAME...]   (names: foundation sched syscalls net logs l7 top)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(foundation sched syscalls net logs l7 top)
for n in "${names[@]}"; do
	echo "== $n"
	CGS_BIN="$here/../$build/cgsight" CGS_BUILD="$here/../$build" bash "$here/$n.sh" "$build"
done
