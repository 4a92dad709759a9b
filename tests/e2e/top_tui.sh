#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e: `cgsight top` in a real terminal (tmux) against a running agent that
# sees four container-shaped cgroups of this test (three Docker ones with
# Docker metadata, one Kubernetes pod container with containerd metadata),
# two of them burning CPU. Driven with send-keys, asserted with capture-pane:
# the containers appear, CPU sort puts the burner first, the sort menu and
# `r` change the order, the filter narrows by name and by namespace, `a`
# hides the container without processes, the single view, help, logs, a
# resize to a narrow terminal (columns dropped), a container removed under
# the cursor, NO_COLOR with a non-UTF-8 locale, `q` quits; without an agent
# `top` says so and offers --standalone.
source "$(dirname "$0")/../lib/common.sh"
cgs_init
command -v tmux >/dev/null || { echo "FAIL: tmux is missing (apt-get install tmux)" >&2; exit 1; }

SOCK="cgs-top-$$"
T() { tmux -L "$SOCK" "$@"; }
cgs_cleanup_hook() { T kill-server 2>/dev/null || true; }

cgs_test_cgroup_root
TAG="toptest$$"
DS="$CGS_TMP/docker"; CS="$CGS_TMP/containerd"
mkdir -p "$DS" "$CS/k8s.io"
hex64() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
declare -A ID
for n in alpha bravo charlie; do
	ID[$n]=$(hex64)
	mkdir -p "$DS/${ID[$n]}"
	printf '{"ID":"%s","Name":"/%s-%s","Config":{"Image":"example/%s:1","Labels":{}}}' \
		"${ID[$n]}" "$TAG" "$n" "$n" >"$DS/${ID[$n]}/config.v2.json"
done
ID[web]=$(hex64)
POD_UID=$(cat /proc/sys/kernel/random/uuid)
mkdir -p "$CS/k8s.io/${ID[web]}"
printf '{"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.container-name":"nginx","io.kubernetes.cri.sandbox-name":"%s-web","io.kubernetes.cri.sandbox-namespace":"%s-ns","io.kubernetes.cri.sandbox-uid":"%s","io.kubernetes.cri.image-name":"nginx:1.25"}}' \
	"$TAG" "$TAG" "$POD_UID" >"$CS/k8s.io/${ID[web]}/config.json"
declare -A CG=(
	[alpha]="$ROOT/docker/${ID[alpha]}"
	[bravo]="$ROOT/docker/${ID[bravo]}"
	[charlie]="$ROOT/docker/${ID[charlie]}"
	[web]="$ROOT/kubepods/besteffort/pod$POD_UID/${ID[web]}"
)
for n in alpha bravo charlie web; do mkdir -p "${CG[$n]}"; done

burn() { # burn CGROUP_DIR LOOP: a busy loop, or a lighter one that sleeps
	bash -c 'echo $BASHPID > "$1/cgroup.procs"; end=$((SECONDS + 240))
		while [ $SECONDS -lt $end ]; do
			if [ "$2" = busy ]; then :; else for _ in $(seq 300); do :; done; sleep 0.05; fi
		done' _ "$1" "$2" &
	CGS_PIDS+=($!)
}
burn "${CG[alpha]}" busy; ALPHA_PID=$!
burn "${CG[bravo]}" light; BRAVO_PID=$!
burn "${CG[web]}" light

cgs_start_agent --interval 1s --rescan-interval 5s --docker-state-dir "$DS" --containerd-state-dir "$CS"

screen() { T capture-pane -p -t top; }
# wait_for REGEX [SECONDS]: until the screen matches (extended regex).
wait_for() {
	local end=$(( $(date +%s) + ${2:-10} )) s
	while [ "$(date +%s)" -le "$end" ]; do
		s=$(screen 2>/dev/null || true)
		grep -qE -- "$1" <<<"$s" && return 0
		sleep 0.2
	done
	return 1
}
# wait_gone REGEX [SECONDS]: until the screen no longer matches.
wait_gone() {
	local end=$(( $(date +%s) + ${2:-10} )) s
	while [ "$(date +%s)" -le "$end" ]; do
		s=$(screen 2>/dev/null || true)
		grep -qE -- "$1" <<<"$s" || return 0
		sleep 0.2
	done
	return 1
}
# wait_only YES NO [SECONDS]: until the screen matches YES and not NO.
wait_only() {
	local end=$(( $(date +%s) + ${3:-5} )) s
	while [ "$(date +%s)" -le "$end" ]; do
		s=$(screen 2>/dev/null || true)
		grep -qE -- "$1" <<<"$s" && ! grep -qE -- "$2" <<<"$s" && return 0
		sleep 0.2
	done
	return 1
}
# Line number of the first row matching a fixed string (0 if absent).
line_of() { screen | grep -nF -- "$1" | head -1 | cut -d: -f1 || true; }
check() { # check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then cgs_pass "$what"; else cgs_fail "$what"; screen >&2 || true; fi
}

start_top() { # start_top ENV... -- ARGS...: top in a fresh 150x40 tmux window
	local envs=() args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift || true
	args=("$@")
	T kill-session -t top 2>/dev/null || true
	: >"$CGS_TMP/top.rc"
	T new-session -d -s top -x 150 -y 40 \
		"env ${envs[*]} $CGS_BIN top ${args[*]}; echo \$? > $CGS_TMP/top.rc; sleep 600"
}

URL="http://127.0.0.1:$CGS_PORT"
start_top LANG=C.UTF-8 -- --url "$URL" --filter "$TAG"

# 1. The containers appear, named from their runtime metadata.
check "main view lists the four containers" \
	wait_for "$TAG-alpha.*running" 15
check "kubernetes container shown as pod/container" wait_for "$TAG-web/nginx" 5
check "container without processes shown as empty" wait_for "$TAG-charlie.*empty" 5
check "header shows node totals" wait_for "containers, [0-9]+ running  CPU [0-9.-]+ cores" 5

# 2. Sorting: CPU first (the busy loop on top), then NAME through the menu, then reversed.
sorted_cpu() { local a b c; a=$(line_of "$TAG-alpha"); c=$(line_of "$TAG-charlie"); [ "$a" -gt 0 ] && [ "$a" -lt "$c" ]; }
wait_cpu_sorted() {
	local end=$(( $(date +%s) + 15 ))
	while [ "$(date +%s)" -le "$end" ]; do
		wait_for "$TAG-alpha +[0-9a-f]{12} +[0-9]{2,3}\.[0-9]" 1 && sorted_cpu && return 0
	done
	return 1
}
check "busy container first by CPU% (default sort)" wait_cpu_sorted
top_row() { screen | grep -m1 -E "$TAG" | awk '{ print $1 }'; }
is_top() { local end=$(( $(date +%s) + 5 )); while [ "$(date +%s)" -le "$end" ]; do [ "$(top_row)" = "$1" ] && return 0; sleep 0.2; done; return 1; }
check "busy container is the top row" is_top "$TAG-alpha"
T send-keys -t top s
check "sort menu opens" wait_for "Sort by" 5
T send-keys -t top Up Up Enter # CPU% -> ID -> NAME
check "sort by NAME from the menu" wait_for "NAME▲" 5
check "NAME order: alpha first" is_top "$TAG-alpha"
T send-keys -t top r
check "r reverses the sort" wait_for "NAME▼" 5
check "reversed NAME order: web/nginx first" is_top "$TAG-web/nginx"

# 3. Filter: Esc clears, f types a new one (by name), / by namespace.
T send-keys -t top Escape
check "Esc clears the filter" wait_gone "filter: $TAG" 5
T send-keys -t top f
T send-keys -t top -l "$TAG-charlie"
T send-keys -t top Enter
check "filter by name narrows to one container" wait_only "^ 1/[0-9]+ shown  filter: $TAG-charlie" "$TAG-(alpha|bravo|web)"
T send-keys -t top Escape /
T send-keys -t top -l "$TAG-ns"
T send-keys -t top Enter
check "filter by namespace narrows to the pod's container" wait_only "$TAG-web/nginx" "$TAG-(alpha|bravo|charlie)"
T send-keys -t top Escape f
T send-keys -t top -l "$TAG"
T send-keys -t top Enter
wait_for "$TAG-alpha" 5 || true

# 4. a: running only hides the container without processes.
T send-keys -t top a
check "a hides the empty container" wait_gone "$TAG-charlie" 5
T send-keys -t top a
check "a again shows it" wait_for "$TAG-charlie" 5

# 5. Single view of the busy container.
T send-keys -t top Escape f
T send-keys -t top -l "$TAG-alpha"
T send-keys -t top Enter
wait_for "1/" 5 || true
T send-keys -t top Enter
check "single view: metadata" wait_for "container id +${ID[alpha]}" 5
check "single view: image" wait_for "image +example/alpha:1" 2
check "single view: cgroup path" wait_for "cgroup +$REL/docker/${ID[alpha]}" 2
check "single view: CPU sparkline and value" wait_for "^ CPU .*[▁▂▃▄▅▆▇█]+ [0-9.]+%" 10
for sect in "Run-queue latency" "Syscall latency"; do
	check "single view: section $sect" wait_for "$sect" 2
done
T send-keys -t top End # scrolls to the end
for sect in "^ TCP" "OOM kills"; do
	check "single view: section $sect" wait_for "$sect" 2
done
T send-keys -t top l
check "l: logs say the pipeline is not available" wait_for "log pipeline not available" 5
T send-keys -t top Escape
check "Esc returns to the main view" wait_for "NAME.*CPU%" 5

# 6. Help.
T send-keys -t top h
check "h shows help" wait_for "cgsight top: help" 5
T send-keys -t top x
check "any key closes help" wait_gone "cgsight top: help" 5

# 7. Resize to a narrow terminal: lower-priority columns drop, NAME and CPU% stay.
T send-keys -t top Escape f
T send-keys -t top -l "$TAG"
T send-keys -t top Enter
T resize-window -t top -x 60 -y 15
check "narrow: NAME, CPU% and MEM kept" wait_for "^NAME.*CPU%.*MEM" 5
check "narrow: OOM and SYS p99 dropped" wait_gone "OOM|SYS p99" 5
T resize-window -t top -x 150 -y 40
check "wide again: all columns back" wait_for "SYS p99 +OOM STATUS" 5

# 8. A container removed while under the cursor, in the single view and the list.
T send-keys -t top Escape f
T send-keys -t top -l "$TAG-bravo"
T send-keys -t top Enter Enter
wait_for "container id +${ID[bravo]}" 5 || true
kill "$BRAVO_PID" 2>/dev/null; wait "$BRAVO_PID" 2>/dev/null || true
# rmdir fails while the killed task is still leaving the cgroup: retry.
for _ in $(seq 50); do rmdir "${CG[bravo]}" 2>/dev/null && break; sleep 0.1; done
# (Removal is seen by the lifecycle tracker, or at worst by the 5 s rescan.)
check "single view of a removed container says exited" wait_for "^ $TAG-bravo .*exited" 20
T send-keys -t top Escape
T send-keys -t top Escape f
T send-keys -t top -l "$TAG"
T send-keys -t top Enter a
check "running only: removed container gone from the list" wait_gone "$TAG-bravo" 5
T send-keys -t top Down Down Down Enter
check "cursor still on a container after the removal" wait_for "container id +[0-9a-f]{64}" 5
T send-keys -t top Escape

# 9. q quits with status 0.
T send-keys -t top q
for _ in $(seq 25); do [ -s "$CGS_TMP/top.rc" ] && break; sleep 0.2; done
check "q quits with status 0" grep -qx 0 "$CGS_TMP/top.rc"

# 10. NO_COLOR and a non-UTF-8 locale: no colour escapes, ASCII glyphs.
start_top LANG=C LC_ALL=C NO_COLOR=1 -- --url "$URL" --filter "$TAG" --sort name
check "C locale: ASCII sort marker" wait_for "NAME\^" 10
ESC=$(T capture-pane -e -p -t top)
if grep -qP '\e\[[0-9;]*(3[0-7]|4[0-7]|38;5;[0-9]+)m' <<<"$ESC"; then cgs_fail "NO_COLOR: colour escapes on screen"; else cgs_pass "NO_COLOR: no colour escapes"; fi
grep -qP '\e\[[0-9;]*7m' <<<"$ESC" && cgs_pass "NO_COLOR: reverse video still marks the header" ||
	cgs_fail "NO_COLOR: no reverse video"
T send-keys -t top Escape f
T send-keys -t top -l "$TAG-alpha"
T send-keys -t top Enter Enter
check "C locale: ASCII sparkline" wait_for "^ CPU +[ _.:=+*#-]*[_.:=+*#-] +[0-9.]+%" 10
T send-keys -t top Escape q
for _ in $(seq 25); do [ -s "$CGS_TMP/top.rc" ] && break; sleep 0.2; done
check "the C-locale run quits cleanly" grep -qx 0 "$CGS_TMP/top.rc"
start_top LANG=C.UTF-8 -- --url "$URL" --filter "$TAG"
wait_for "$TAG-alpha" 10 || true
ESC=$(T capture-pane -e -p -t top)
grep -qP '\e\[[0-9;]*(3[0-7]|4[0-7]|38;5;[0-9]+)m' <<<"$ESC" && cgs_pass "colours without NO_COLOR" ||
	cgs_fail "no colours without NO_COLOR"
T send-keys -t top q

# 11. The agent goes away and comes back on the same port: top says so, keeps going, recovers.
start_top LANG=C.UTF-8 -- --url "$URL" --filter "$TAG"
wait_for "$TAG-alpha" 10 || true
kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true
check "agent gone: header says it is not answering" wait_for "agent not answering" 10
check "agent gone: last data stays on screen" wait_for "$TAG-alpha" 2
OLD_PORT=$CGS_PORT
"$CGS_BIN" agent --listen "127.0.0.1:$OLD_PORT" --interval 1s --rescan-interval 5s --docker-state-dir "$DS" \
	--containerd-state-dir "$CS" >"$CGS_TMP/agent2.log" 2>&1 &
CGS_AGENT_PID=$!
CGS_PIDS+=("$CGS_AGENT_PID")
check "agent back: top recovers" wait_gone "agent not answering" 15
check "agent back: rates again after the restart" wait_for "$TAG-alpha +[0-9a-f]{12} +[0-9]+\.[0-9]" 15
T send-keys -t top q

# 12. --standalone: a private agent as a child process, gone when top quits.
# (Its agent has the default runtime state directories: this test's containers are named by their path.)
start_top LANG=C.UTF-8 -- --standalone --filter "${ID[alpha]:0:16}"
check "standalone: containers shown" wait_for "${ID[alpha]:0:12} .*running" 20
check "standalone: header names the source" wait_for "cgsight top  standalone" 2
TOP_PID=$(T list-panes -t top -F '#{pane_pid}')
TOP_PID=$(pgrep -P "$TOP_PID" -x cgsight | head -1 || true)
CHILD=$( [ -n "$TOP_PID" ] && pgrep -P "$TOP_PID" | head -1 || true)
check "standalone: the agent runs as top's child" test -n "$CHILD"
T send-keys -t top q
for _ in $(seq 50); do [ -s "$CGS_TMP/top.rc" ] && break; sleep 0.2; done
check "standalone: q quits with status 0" grep -qx 0 "$CGS_TMP/top.rc"
gone=1; for _ in $(seq 50); do kill -0 "$CHILD" 2>/dev/null || { gone=0; break; }; sleep 0.1; done
check "standalone: its agent is stopped on exit" test "$gone" = 0

# 13. No agent: a clear message and the --standalone offer, exit status 1.
FREE=$(cgs_free_port)
start_top LANG=C.UTF-8 -- --url "http://127.0.0.1:$FREE"
check "no agent: says so" wait_for "no cgsight agent answers at http://127.0.0.1:$FREE" 10
check "no agent: offers --standalone" wait_for "cgsight top --standalone" 2
for _ in $(seq 25); do [ -s "$CGS_TMP/top.rc" ] && break; sleep 0.2; done
check "no agent: exit status 1" grep -qx 1 "$CGS_TMP/top.rc"

kill "$ALPHA_PID" 2>/dev/null || true
cgs_finish
