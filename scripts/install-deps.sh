#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages cgsight builds with (default) or also the
# ones its test suite runs (--test). Installs only what is missing.
set -euo pipefail

BUILD=(cmake make gcc clang llvm bpftool pkg-config libbpf-dev libelf-dev zlib1g-dev
       libcurl4-openssl-dev libprotobuf-c-dev protobuf-c-compiler libmsgpack-dev libyaml-dev
       libmicrohttpd-dev libncurses-dev libjson-c-dev git)
TEST=(libcmocka-dev curl prometheus python3 python3-msgpack podman runc buildah busybox-static
      containerd iproute2 stress-ng util-linux procps libbpf-tools linux-perf tmux nginx wrk openssl
      protobuf-compiler python3-protobuf qemu-system-x86 python3-matplotlib)

want=("${BUILD[@]}")
if [ "${1:-}" = "--test" ]; then
	want+=("${TEST[@]}")
	# Node.js for the npm-based validators and peers (Fluentd Forward server, OTLP decoder):
	# Debian's, unless the machine already has one.
	command -v node >/dev/null && command -v npm >/dev/null || want+=(nodejs npm)
fi

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" = 0 ] || { echo "install-deps: missing packages (${missing[*]}); run as root" >&2; exit 1; }
	echo "install-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# Package scripts must not start services on the host (prometheus, containerd).
	policy=/usr/sbin/policy-rc.d
	created=
	if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created=1; fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	[ -n "$created" ] && rm -f "$policy"
fi
# The VM-based tests (a real memcg OOM, scheduler delays on idle CPUs) boot Debian's kernel in qemu.
if [ "${1:-}" = "--test" ] && ! ls /var/cache/cgsight/vm/vmlinuz-* >/dev/null 2>&1; then
	bash "$(dirname "$0")/../tests/integration/mem_oom_vm.sh" --fetch-kernel
fi
exit 0
