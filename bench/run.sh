#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every benchmark (root needed: they create cgroups and load BPF).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
for b in "$here"/foundation.sh; do
	echo "== $(basename "$b")"
	CGS_BIN="$here/../$build/cgsight" bash "$b"
done
