#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root + BPF): the syscall collector against workloads with exact
# counts (tests/helpers/sysload.c, which moves itself into the cgroup first):
#  - 100 x nanosleep(10 ms) in a container: the sleep class gains exactly 100
#    observations, all in the exported bucket whose bounds hold 10 ms (4.096, 16.384 ms],
#    and its _sum grows by 1.0 s within 5 %;
#  - 100,000 getppid(): container_syscalls_total{syscall="getppid"} grows by
#    at least 100,000 and at most 101,000;
#  - 1,000 open() of a missing path: container_syscall_errors_total{class="file_io"}
#    grows by 1,000;
#  - a host process (not in a container) is not counted while the host is
#    excluded, and is counted as id="/" with include_host;
#  - the histogram is cumulative with +Inf == _count, exported at every other
#    log2 bound, and no series is duplicated;
#  - with syscalls_top_k: 1 (a set of 1 + 1 syscalls), workloads that change
#    the ranking: a syscall joins with a series from 0 that then counts its
#    calls exactly; one that drops out of the top 1 keeps its series while the
#    set has room, leaves it when a third one takes the lead, and its later
#    calls count in "other"; every call is counted once (the series' growth,
#    plus the last value of one that left, is the workload's call count); no
#    series ever decreases (scraped every 0.25 s throughout).
source "$(dirname "$0")/../lib/common.sh"
cgs_init

LOAD=${CGS_BUILD:?}/tests/cgs_sysload
[ -x "$LOAD" ] || { echo "FAIL: $LOAD missing" >&2; exit 1; }
cgs_test_cgroup_root
ID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
CREL="$REL/docker/$ID"
CDIR="$CG2$CREL"
HDIR="$ROOT/host" # not container-shaped: its tasks are host tasks
mkdir -p "$CDIR" "$HDIR"

# q METRICS_FILE EXPR: evaluates a Python expression over the parsed exposition.
# v(name, **labels) is the value of the one series with those labels (0 if none);
# s(name, **labels) the sum over every series with them; n(...) how many match;
# hist_ok(name, **labels) checks a histogram; classes(name, **labels) lists its classes.
# The label class is written cls (a Python keyword).
q() {
	"$PY" - "$1" "$2" <<'EOF'
import re, sys
series = []
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line.strip())
    if not m:
        continue
    labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
    series.append((m.group(1), labels, float(m.group(3))))
def match(name, want):
    want = {("class" if k == "cls" else k): w for k, w in want.items()}  # class is a keyword
    return [v for n, l, v in series if n == name and all(l.get(k) == w for k, w in want.items())]
def v(name, **want):
    r = match(name, want)
    if len(r) > 1:
        raise SystemExit("%d series for %s %s" % (len(r), name, want))
    return r[0] if r else 0.0
def s(name, **want):
    return sum(match(name, want))
def n(name, **want):
    return len(match(name, want))
def hist_ok(name, **want):
    """Buckets cumulative, ending with +Inf == _count."""
    b = sorted((float(l["le"]), val) for nm, l, val in series
               if nm == name + "_bucket" and all(l.get("class" if k == "cls" else k) == w for k, w in want.items()))
    return (len(b) > 1 and b[-1][0] == float("inf") and all(x[1] <= y[1] for x, y in zip(b, b[1:]))
            and b[-1][1] == v(name + "_count", **want))
def classes(name, **want):
    return sorted(set(l["class"] for nm, l, val in series
                      if nm == name + "_count" and all(l.get(k) == w for k, w in want.items())))
r = eval(sys.argv[2])
print(r if not isinstance(r, bool) else int(r))
EOF
}

# snap NAME: the collector's series of a fresh scrape in $CGS_TMP/NAME.prom (the whole
# exposition of a busy node is large, and parsed many times), the whole one in NAME.full.
snap() {
	cgs_metrics >"$CGS_TMP/$1.full"
	grep -E '^container_syscall' "$CGS_TMP/$1.full" >"$CGS_TMP/$1.prom" || true
}
# Waits until EXPR (over a fresh scrape saved as NAME) holds, up to 10 s.
wait_for() {
	local name=$1 expr=$2
	for _ in $(seq 100); do
		snap "$name"
		[ "$(q "$CGS_TMP/$name.prom" "$expr")" = 1 ] && return 0
		sleep 0.1
	done
	return 1
}
cid="id='$CREL'"

# Every container on this node takes a BPF slot: leave room for ours whatever else runs here.
# Other work may create and remove cgroups meanwhile: a directory gone mid-walk is no error.
NSLOTS=$(( $( (find "$CG2" -type d 2>/dev/null || true) | wc -l) + 256 ))
[ "$NSLOTS" -ge 1024 ] || NSLOTS=1024
cgs_start_agent --interval 1s --rescan-interval 60s --bpf-max-containers "$NSLOTS"
if ! grep -q "measuring syscalls with" "$CGS_TMP/agent.log"; then
	grep -i syscall "$CGS_TMP/agent.log" >&2 || true
	cgs_fail "the syscall collector did not start"
	cgs_finish
	exit 1
fi
cgs_pass "collector up: $(sed -n 's/.*measuring syscalls with \(.*\)/\1/p' "$CGS_TMP/agent.log" | head -1)"
# The container is known and collected (its "other" series exists).
wait_for first "n('container_syscalls_total', $cid, syscall='other') == 1" ||
	{ cgs_fail "container $CREL not collected"; cgs_finish; exit 1; }

H=container_syscall_latency_seconds
d() { # d FILE_AFTER FILE_BEFORE EXPR: EXPR over the first scrape minus over the second
	"$PY" -c 'import sys; print("%.6g" % (float(sys.argv[1]) - float(sys.argv[2])))' "$(q "$1" "$3")" "$(q "$2" "$3")"
}
# Waits until the value of EXPR stops changing over two collections (1 s interval); saves it as NAME.
settle() {
	local name=$1 expr=$2 prev= cur
	for _ in $(seq 20); do
		snap "$name"
		cur=$(q "$CGS_TMP/$name.prom" "$expr")
		[ "$cur" = "$prev" ] && return 0
		prev=$cur
		sleep 1.1
	done
}

# 1. 100 x nanosleep(10 ms). On a loaded machine sleeps overrun for reasons no
# collector controls: the helper times every call itself; a run whose sleeps it
# saw overrun 16.384 ms or add up to more than 1.05 s is retried (3 attempts),
# then judged against the helper's timing.
sleep_expr="v('${H}_count', $cid, cls='sleep')"
for attempt in 1 2 3; do
	settle s_before "$sleep_expr"
	read -r smax ssum < <("$LOAD" "$CDIR" nanosleep 100 10 | awk '{ print $14, $16 }')
	wait_for s_after "$sleep_expr - $(q "$CGS_TMP/s_before.prom" "$sleep_expr") >= 100" || true
	settle s_after "$sleep_expr"
	clean=$("$PY" -c 'import sys; m,s=map(int,sys.argv[1:]); print(int(m <= 16384000 and abs(s / 1e9 - 1.0) <= 0.05))' "$smax" "$ssum")
	[ "$clean" = 1 ] && break
	cgs_log "attempt $attempt: the machine made the sleeps last $((ssum / 1000)) us in all, the longest $((smax / 1000)) us; again"
done
SA=$CGS_TMP/s_after.prom SB=$CGS_TMP/s_before.prom
dc=$(d "$SA" "$SB" "v('${H}_count', $cid, cls='sleep')")
dlow=$(d "$SA" "$SB" "v('${H}_bucket', $cid, cls='sleep', le='0.004096')")
din=$(d "$SA" "$SB" "v('${H}_bucket', $cid, cls='sleep', le='0.016384')")
dsum=$(d "$SA" "$SB" "v('${H}_sum', $cid, cls='sleep')")
hsum=$("$PY" -c 'import sys; print("%.6f" % (int(sys.argv[1]) / 1e9))' "$ssum")
if [ "$clean" = 1 ]; then
	"$PY" -c 'import sys; c,lo,i=map(float,sys.argv[1:]); sys.exit(0 if c == 100 and lo == 0 and i == 100 else 1)' "$dc" "$dlow" "$din" &&
		cgs_pass "sleep class: +$dc observations, all in (4.096 ms, 16.384 ms] (at or below 4.096 ms: +$dlow, up to 16.384 ms: +$din)" ||
		cgs_fail "sleep class: +$dc observations (want 100), +$dlow at or below 4.096 ms (want 0), +$din up to 16.384 ms (want 100)"
	"$PY" -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - 1.0) <= 0.05 else 1)' "$dsum" &&
		cgs_pass "sleep class _sum grew by $dsum s (1.0 s within 5 %; the helper timed $hsum s)" ||
		cgs_fail "sleep class _sum grew by $dsum s (want 1.0 s within 5 %; the helper timed $hsum s)"
else
	cgs_log "every attempt overran: checking against the helper's own timing of each sleep"
	"$PY" -c 'import sys; c,lo,i,m=map(float,sys.argv[1:]); sys.exit(0 if c == 100 and lo == 0 and (i == 100 or m > 16384000) else 1)' \
		"$dc" "$dlow" "$din" "$smax" &&
		cgs_pass "sleep class: +$dc observations, none at or below 4.096 ms, +$din up to 16.384 ms (longest sleep $((smax / 1000)) us)" ||
		cgs_fail "sleep class: +$dc observations (want 100), +$dlow at or below 4.096 ms (want 0), +$din up to 16.384 ms (longest sleep $((smax / 1000)) us)"
	"$PY" -c 'import sys; d,h=map(float,sys.argv[1:]); sys.exit(0 if abs(d - h) <= 0.05 * h else 1)' "$dsum" "$hsum" &&
		cgs_pass "sleep class _sum grew by $dsum s, within 5 % of the $hsum s the helper timed" ||
		cgs_fail "sleep class _sum grew by $dsum s, the helper timed $hsum s (want within 5 %)"
fi

# 2. getppid and failing open() storms. A series starts from 0 when its syscall
# joins the top K (its calls until then are in "other"): a first run makes
# getppid join, the second one is measured.
"$LOAD" "$CDIR" getppid 1000 >/dev/null
wait_for warm "n('container_syscalls_total', $cid, syscall='getppid') == 1" ||
	cgs_fail "1000 getppid() did not bring getppid into the top 10 of $CREL"
settle before "v('container_syscalls_total', $cid, syscall='getppid')"
B="$CGS_TMP/before.prom"
"$LOAD" "$CDIR" getppid 100000 >/dev/null
"$LOAD" "$CDIR" openfail 1000 >/dev/null
wait_for after "v('container_syscalls_total', $cid, syscall='getppid') - $(q "$B" "v('container_syscalls_total', $cid, syscall='getppid')") >= 100000 and \
v('container_syscall_errors_total', $cid, cls='file_io') - $(q "$B" "v('container_syscall_errors_total', $cid, cls='file_io')") >= 1000" ||
	cgs_log "values did not all arrive within 10 s"
sleep 1.5 # one more collection: nothing late
snap after
A="$CGS_TMP/after.prom"

dg=$(d "$A" "$B" "v('container_syscalls_total', $cid, syscall='getppid')")
"$PY" -c 'import sys; x=float(sys.argv[1]); sys.exit(0 if 100000 <= x <= 101000 else 1)' "$dg" &&
	cgs_pass "container_syscalls_total{syscall=\"getppid\"} grew by $dg" ||
	cgs_fail "container_syscalls_total{syscall=\"getppid\"} grew by $dg (want 100000..101000)"
dp=$(d "$A" "$B" "v('${H}_count', $cid, cls='process')")
"$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 100000 else 1)' "$dp" &&
	cgs_pass "process class histogram holds the getppid calls (+$dp)" ||
	cgs_fail "process class histogram grew by $dp (want >= 100000)"
de=$(d "$A" "$B" "v('container_syscall_errors_total', $cid, cls='file_io')")
"$PY" -c 'import sys; x=float(sys.argv[1]); sys.exit(0 if 1000 <= x <= 1010 else 1)' "$de" &&
	cgs_pass "failing open storm: container_syscall_errors_total{class=\"file_io\"} grew by $de" ||
	cgs_fail "failing open storm: container_syscall_errors_total{class=\"file_io\"} grew by $de (want 1000)"
dse=$(d "$A" "$SB" "v('container_syscall_errors_total', $cid, cls='sleep')")
[ "$dse" = 0 ] && cgs_pass "no errors counted for the successful sleeps" ||
	cgs_fail "sleep class errors grew by $dse (want 0)"

# 3. Exposition: cumulative buckets, +Inf == _count, top K + other, no duplicates.
ok=$(q "$A" "len(classes('$H', $cid)) >= 3 and all(hist_ok('$H', $cid, cls=c) for c in classes('$H', $cid))")
[ "$ok" = 1 ] && cgs_pass "histogram buckets cumulative, +Inf == _count for every class" ||
	cgs_fail "histogram of $CREL not cumulative or +Inf != _count"
les=$(grep -F "id=\"$CREL\"" "$A" | grep -F "${H}_bucket" | grep -F 'class="sleep"' | sed 's/.*le="\([^"]*\)".*/\1/' | tr '\n' ' ')
want_les="1e-06 4e-06 1.6e-05 6.4e-05 0.000256 0.001024 0.004096 0.016384 0.065536 0.262144 1.048576 4.194304 +Inf "
[ "$les" = "$want_les" ] && cgs_pass "exported buckets: every other log2 bound (4^i us) and +Inf" ||
	cgs_fail "exported buckets: '$les', want '$want_les'"
nsc=$(q "$A" "n('container_syscalls_total', $cid)")
[ "$nsc" -ge 2 ] && [ "$nsc" -le 14 ] && cgs_pass "$nsc container_syscalls_total series (top 10, up to 3 kept past it, other)" ||
	cgs_fail "$nsc container_syscalls_total series (want 2..14)"
dups=$(grep -v '^#' "$CGS_TMP/after.full" | awk '{ $NF=""; print }' | sort | uniq -d | wc -l)
[ "$dups" = 0 ] && cgs_pass "no duplicate series" || cgs_fail "$dups duplicate series"

# 4. Host processes: not counted while the host is excluded.
"$LOAD" "$HDIR" getppid 100000 >/dev/null
sleep 2.5
snap host_off
nroot=$(q "$CGS_TMP/host_off.prom" "n('container_syscalls_total', id='/')")
dgc=$("$PY" -c 'import sys; print("%.0f" % (float(sys.argv[1]) - float(sys.argv[2])))' \
	"$(q "$CGS_TMP/host_off.prom" "v('container_syscalls_total', $cid, syscall='getppid')")" \
	"$(q "$A" "v('container_syscalls_total', $cid, syscall='getppid')")")
dga=$("$PY" -c 'import sys; print("%.0f" % (float(sys.argv[1]) - float(sys.argv[2])))' \
	"$(q "$CGS_TMP/host_off.prom" "s('container_syscalls_total', syscall='getppid')")" \
	"$(q "$A" "s('container_syscalls_total', syscall='getppid')")")
[ "$nroot" = 0 ] && [ "$dgc" = 0 ] && [ "$dga" -lt 100000 ] &&
	cgs_pass "host getppid storm not counted (no id=\"/\" series; containers' getppid +$dga)" ||
	cgs_fail "host storm counted: $nroot id=\"/\" series, test container +$dgc, all containers +$dga"
kill "$CGS_AGENT_PID"
wait "$CGS_AGENT_PID" 2>/dev/null || true

# ... and counted as id="/" when the host is included (getppid brought into the host's top 10 first).
cgs_start_agent --interval 1s --rescan-interval 60s --bpf-max-containers "$NSLOTS" --include-host true
wait_for host_before "n('container_syscalls_total', id='/', syscall='other') == 1" ||
	cgs_fail "no host series with include_host"
"$LOAD" "$HDIR" getppid 1000000 >/dev/null
wait_for host_before "n('container_syscalls_total', id='/', syscall='getppid') == 1" ||
	cgs_fail "1000000 getppid() did not bring getppid into the host's top 10"
hb=$(q "$CGS_TMP/host_before.prom" "v('container_syscalls_total', id='/', syscall='getppid')")
"$LOAD" "$HDIR" getppid 100000 >/dev/null
wait_for host_on "v('container_syscalls_total', id='/', syscall='getppid') - $hb >= 100000" || true
dh=$("$PY" -c 'import sys; print("%.0f" % (float(sys.argv[1]) - float(sys.argv[2])))' \
	"$(q "$CGS_TMP/host_on.prom" "v('container_syscalls_total', id='/', syscall='getppid')")" \
	"$(q "$CGS_TMP/host_before.prom" "v('container_syscalls_total', id='/', syscall='getppid')")")
[ "$dh" -ge 100000 ] && cgs_pass "with include_host, the host storm shows as id=\"/\" getppid +$dh" ||
	cgs_fail "with include_host, id=\"/\" getppid grew by $dh (want >= 100000)"

kill "$CGS_AGENT_PID"
wait "$CGS_AGENT_PID" 2>/dev/null || true

# 5. Sticky top K: K = 1, so the set holds 2 syscalls (K + ceil(K / 4)). A fresh container.
ID2=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
CREL2="$REL/docker/$ID2"
CDIR2="$CG2$CREL2"
mkdir -p "$CDIR2"
c2="id='$CREL2'"
cgs_start_agent --interval 1s --rescan-interval 60s --bpf-max-containers "$NSLOTS" --syscalls-top-k 1
wait_for k_first "n('container_syscalls_total', $c2, syscall='other') == 1" ||
	{ cgs_fail "container $CREL2 not collected"; cgs_finish; exit 1; }
# Every 0.25 s, the container's syscall series: the monotonicity check at the end reads them all.
(
	i=0
	while :; do
		curl -sf "http://127.0.0.1:$CGS_PORT/metrics" | grep -F "container_syscalls_total{" |
			grep -F "id=\"$CREL2\"" >"$CGS_TMP/k_scrape.$(printf %05d $i)" || true
		i=$((i + 1))
		sleep 0.25
	done
) &
SCRAPER=$!
CGS_PIDS+=("$SCRAPER")
named() { q "$CGS_TMP/$1.prom" "sorted(l['syscall'] for nm, l, val in series if nm == 'container_syscalls_total' and l.get('id') == '$CREL2' and l['syscall'] != 'other')"; }

"$LOAD" "$CDIR2" getppid 100000 >/dev/null
wait_for k1 "n('container_syscalls_total', $c2, syscall='getppid') == 1" || true
settle k1 "s('container_syscalls_total', $c2)"
all1=$(d "$CGS_TMP/k1.prom" "$CGS_TMP/k_first.prom" "s('container_syscalls_total', $c2)")
"$PY" -c 'import sys; sys.exit(0 if 100000 <= float(sys.argv[1]) <= 101000 else 1)' "$all1" &&
	[ "$(named k1)" = "['getppid']" ] &&
	cgs_pass "top 1: getppid joined; the series grew by $all1 in all (100000 getppid and the helper's own start)" ||
	cgs_fail "top 1 after 100000 getppid: series $(named k1), all series grew by $all1 (want 100000..101000)"
# Its series counts its calls from now on.
g1=$(q "$CGS_TMP/k1.prom" "v('container_syscalls_total', $c2, syscall='getppid')")
"$LOAD" "$CDIR2" getppid 20000 >/dev/null
wait_for k1b "v('container_syscalls_total', $c2, syscall='getppid') - $g1 >= 20000" || true
settle k1b "s('container_syscalls_total', $c2)"
dg1=$(d "$CGS_TMP/k1b.prom" "$CGS_TMP/k1.prom" "v('container_syscalls_total', $c2, syscall='getppid')")
# At most 1 % over, as for the 100,000 calls above: a sanitizer build's runtime makes a few calls of its own.
[ "$dg1" -ge 20000 ] && [ "$dg1" -le 20200 ] && cgs_pass "getppid's series counted the 20000 more calls (+$dg1)" ||
	cgs_fail "getppid's series grew by $dg1 (want 20000..20200)"

# openat takes the lead: it joins the set, getppid keeps its series (the set's one spare place).
"$LOAD" "$CDIR2" openfail 300000 >/dev/null
wait_for k2 "n('container_syscalls_total', $c2) == 3" || true
settle k2 "s('container_syscalls_total', $c2)"
all2=$(d "$CGS_TMP/k2.prom" "$CGS_TMP/k1b.prom" "s('container_syscalls_total', $c2)")
[ "$(named k2)" = "['getppid', 'openat']" ] &&
	"$PY" -c 'import sys; sys.exit(0 if 300000 <= float(sys.argv[1]) <= 301000 else 1)' "$all2" &&
	cgs_pass "openat leads: series $(named k2) (getppid kept past the top 1), all series +$all2" ||
	cgs_fail "after openat took the lead: series $(named k2) (want getppid and openat), all series +$all2 (want 300000..301000)"

# sched_yield takes the lead: the set is full, getppid (fewest calls outside the top 1) leaves it;
# its series ends on its last value, and the calls are still all counted once.
"$LOAD" "$CDIR2" yield 400000 >/dev/null
wait_for k3 "n('container_syscalls_total', $c2, syscall='sched_yield') == 1" || true
settle k3 "s('container_syscalls_total', $c2)"
g2=$(q "$CGS_TMP/k2.prom" "v('container_syscalls_total', $c2, syscall='getppid')")
all3=$("$PY" -c 'import sys; print("%.0f" % (float(sys.argv[1]) - float(sys.argv[2]) + float(sys.argv[3])))' \
	"$(q "$CGS_TMP/k3.prom" "s('container_syscalls_total', $c2)")" \
	"$(q "$CGS_TMP/k2.prom" "s('container_syscalls_total', $c2)")" "$g2")
[ "$(named k3)" = "['openat', 'sched_yield']" ] &&
	"$PY" -c 'import sys; sys.exit(0 if 800000 <= float(sys.argv[1]) <= 801000 else 1)' "$all3" &&
	cgs_pass "sched_yield leads: series $(named k3) (getppid left the full set); calls counted: $all3" ||
	cgs_fail "after sched_yield took the lead: series $(named k3) (want openat and sched_yield); calls counted $all3 (want 800000..801000)"

# getppid again: it has no series now, its calls count in "other".
"$LOAD" "$CDIR2" getppid 50000 >/dev/null
wait_for k4 "v('container_syscalls_total', $c2, syscall='other') - $(q "$CGS_TMP/k3.prom" "v('container_syscalls_total', $c2, syscall='other')") >= 50000" || true
settle k4 "v('container_syscalls_total', $c2, syscall='other')"
do4=$(d "$CGS_TMP/k4.prom" "$CGS_TMP/k3.prom" "v('container_syscalls_total', $c2, syscall='other')")
"$PY" -c 'import sys; sys.exit(0 if 50000 <= float(sys.argv[1]) <= 51000 else 1)' "$do4" &&
	[ "$(named k4)" = "['openat', 'sched_yield']" ] &&
	cgs_pass "getppid outside the set: other +$do4 (50000 calls and the helper's own start), series $(named k4)" ||
	cgs_fail "getppid outside the set: other +$do4 (want 50000..51000), series $(named k4)"
kill "$SCRAPER"
wait "$SCRAPER" 2>/dev/null || true

# No series ever went back, across every scrape (a series that left and came back included).
mono=$("$PY" - "$CGS_TMP" <<'EOF'
import glob, re, sys
last, worst, n, most = {}, [], 0, 0
for f in sorted(glob.glob(sys.argv[1] + "/k_scrape.*")):
    lines = [l for l in open(f) if l.strip()]
    if not lines:
        continue
    n += 1
    most = max(most, len(lines))
    for l in lines:
        name = re.search(r'syscall="([^"]*)"', l).group(1)
        val = float(l.split()[-1])
        if val < last.get(name, 0):
            worst.append("%s %g -> %g" % (name, last[name], val))
        last[name] = val
print("%d %d %s" % (n, most, "; ".join(worst[:5]) or "ok"))
EOF
)
read -r nscr most verdict <<<"$mono"
[ "$verdict" = ok ] && [ "$nscr" -ge 20 ] && [ "$most" -le 3 ] &&
	cgs_pass "$nscr scrapes: no container_syscalls_total series decreased, at most $most series (K + 1 + other)" ||
	cgs_fail "$nscr scrapes, at most $most series (want <= 3): $verdict"

cgs_finish
