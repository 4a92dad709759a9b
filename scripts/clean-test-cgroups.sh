#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Removes cgroups the test suite left behind when a test was killed before its
# cleanup ran: /cgsight-test-<pid> subtrees of the cgroup2 hierarchy whose
# test process <pid> is gone. Only empty cgroups can be removed (rmdir), so a
# cgroup that still holds a process is left alone and reported.
set -u
root=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$root" ] || exit 0
removed=0 kept=0
for d in "$root"/cgsight-test-*; do
	[ -d "$d" ] || continue
	pid=${d##*-}
	case $pid in ''|*[!0-9]*) continue ;; esac
	[ -d "/proc/$pid" ] && continue # its test is still running
	while read -r sub; do
		if rmdir "$sub" 2>/dev/null; then removed=$((removed + 1)); else kept=$((kept + 1)); fi
	done < <(find "$d" -depth -type d)
done
echo "clean-test-cgroups: removed $removed stale test cgroups${kept:+, $kept still populated}" >&2
exit 0
