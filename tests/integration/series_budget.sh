#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Integration (root + BPF): the per-container cardinality budget
# (max_series_per_container), with every collector of the default configuration,
# against a container busy in all eight syscall classes (a threaded Python HTTP
# server on loopback and a curl client loop in one container cgroup):
#  - default configuration: the container's series, counted line by line in the
#    exposition (every histogram bucket, _sum and _count), stay within the
#    documented worst case of the default collectors (265) and so within the
#    default budget (300); nothing is left out on the whole node
#    (cgsight_series_dropped_total{reason="max_series_per_container"} stays 0);
#  - max_series_per_container: 60: the container exports at most 60 series, no
#    histogram is cut (a histogram is all its buckets, _sum and _count, or
#    nothing), the counter grows by at least what the container loses at every
#    collection, and the agent logs it once for the container, not once per pass.
source "$(dirname "$0")/../lib/common.sh"
cgs_init

command -v curl >/dev/null || { apt-get install -y curl >/dev/null 2>&1 || true; }
command -v curl >/dev/null || { echo "FAIL: curl missing and could not be installed" >&2; exit 1; }
cgs_test_cgroup_root
ID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
CREL="$REL/docker/$ID"
CDIR="$CG2$CREL"
mkdir -p "$CDIR"
PORT=$(cgs_free_port)
WWW="$CGS_TMP/www"
mkdir -p "$WWW"
head -c 65536 /dev/urandom >"$WWW/blob"

# The workload joins the container cgroup itself (sh writes its own pid first).
sh -c "echo \$\$ >'$CDIR/cgroup.procs' && exec '$PY' -m http.server --bind 127.0.0.1 $PORT --directory '$WWW'" \
	>"$CGS_TMP/server.log" 2>&1 &
CGS_PIDS+=($!)
sh -c "echo \$\$ >'$CDIR/cgroup.procs' && while :; do curl -s -o /dev/null http://127.0.0.1:$PORT/blob; sleep 0.05; done" \
	>/dev/null 2>&1 &
CGS_PIDS+=($!)

# Every container on this node takes a BPF slot: leave room for ours whatever else runs here.
# Other work may create and remove cgroups meanwhile: a directory gone mid-walk is no error.
NSLOTS=$(( $( (find "$CG2" -type d 2>/dev/null || true) | wc -l) + 256 ))
[ "$NSLOTS" -ge 1024 ] || NSLOTS=1024

# count METRICS_FILE: "TOTAL FAMILY=N ..." for the container's series (histograms by family name).
count() {
	"$PY" - "$1" "$CREL" <<'EOF'
import collections, re, sys
want = 'id="%s"' % sys.argv[2]
fam = collections.Counter()
for line in open(sys.argv[1]):
    if line.startswith("#") or want not in line:
        continue
    name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
    fam[re.sub(r"_(bucket|sum|count)$", "", name) if "latency" in name or "reclaim" in name else name] += 1
print(sum(fam.values()), " ".join("%s=%d" % kv for kv in sorted(fam.items(), key=lambda kv: -kv[1])))
EOF
}
# hists_whole METRICS_FILE: "ok", or the histograms of the container that are not whole.
hists_whole() {
	"$PY" - "$1" "$CREL" <<'EOF'
import collections, re, sys
want = 'id="%s"' % sys.argv[2]
parts = collections.defaultdict(lambda: collections.Counter())
for line in open(sys.argv[1]):
    if line.startswith("#") or want not in line:
        continue
    m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)_(bucket|sum|count)\{(.*)\} ", line)
    if not m:
        continue
    key = (m.group(1), re.sub(r',?le="[^"]*"', "", m.group(3)))
    parts[key][m.group(2)] += 1
bad = ["%s %s" % (k[0], dict(v)) for k, v in parts.items()
       if v["sum"] != 1 or v["count"] != 1 or v["bucket"] not in (13, 24)]
print("; ".join(bad) or "ok")
EOF
}
dropped() { awk '/^cgsight_series_dropped_total\{reason="max_series_per_container"\}/ { print $2 }' "$1"; }
classes() { grep -F "id=\"$CREL\"" "$1" | grep '^container_syscall_latency_seconds_count' | grep -o 'class="[a-z_]*"' | sort -u | wc -l; }

# 1. Default configuration.
cgs_start_agent --interval 1s --rescan-interval 60s --bpf-max-containers "$NSLOTS"
for _ in $(seq 60); do
	cgs_metrics >"$CGS_TMP/full.prom" || true
	[ "$(classes "$CGS_TMP/full.prom")" = 8 ] && break
	sleep 0.5
done
sleep 2.5 # a few more passes: every collector has seen the workload
cgs_metrics >"$CGS_TMP/full.prom"
read -r full breakdown < <(count "$CGS_TMP/full.prom")
ncls=$(classes "$CGS_TMP/full.prom")
cgs_log "container series with the default collectors: $full ($breakdown)"
[ "$ncls" = 8 ] && cgs_pass "the workload used all 8 syscall classes" ||
	cgs_fail "the workload used $ncls syscall classes (want 8: the measurement is of a container using them all)"
[ "$full" -gt 100 ] && [ "$full" -le 265 ] &&
	cgs_pass "$full series for a container busy in every syscall class (documented worst case 265, budget 300)" ||
	cgs_fail "$full series for the container (want 101..265)"
d0=$(dropped "$CGS_TMP/full.prom")
[ "$d0" = 0 ] && cgs_pass "default budget: no series left out on this node" ||
	cgs_fail "default budget: cgsight_series_dropped_total{reason=\"max_series_per_container\"} is ${d0:-missing}"
w=$(hists_whole "$CGS_TMP/full.prom")
[ "$w" = ok ] && cgs_pass "every histogram of the container whole" || cgs_fail "histograms not whole: $w"
kill "$CGS_AGENT_PID"
wait "$CGS_AGENT_PID" 2>/dev/null || true

# 2. A budget of 60 series.
cgs_start_agent --interval 1s --rescan-interval 60s --bpf-max-containers "$NSLOTS" --max-series-per-container 60
for _ in $(seq 50); do
	cgs_metrics >"$CGS_TMP/b1.prom" || true
	[ "$(count "$CGS_TMP/b1.prom" | cut -d' ' -f1)" -gt 0 ] && break
	sleep 0.2
done
sleep 2
cgs_metrics >"$CGS_TMP/b1.prom"
t1=$(date +%s.%N)
sleep 4.5
cgs_metrics >"$CGS_TMP/b2.prom"
t2=$(date +%s.%N)
read -r kept kept_breakdown < <(count "$CGS_TMP/b2.prom")
cgs_log "container series with a budget of 60: $kept ($kept_breakdown)"
[ "$kept" -gt 0 ] && [ "$kept" -le 60 ] && cgs_pass "$kept series exported under a budget of 60" ||
	cgs_fail "$kept series exported under a budget of 60"
w=$(hists_whole "$CGS_TMP/b2.prom")
[ "$w" = ok ] && cgs_pass "no histogram cut by the budget" || cgs_fail "histograms cut: $w"
# At least 3 collections (1 s apart) between the two scrapes 4.5 s apart, each leaving out
# what the container exports beyond 60 (its full count, 30 series of margin for a quieter pass).
d1=$(dropped "$CGS_TMP/b1.prom")
d2=$(dropped "$CGS_TMP/b2.prom")
"$PY" -c 'import sys; d1,d2,full=map(float,sys.argv[1:4]); sys.exit(0 if d2 - d1 >= 3 * (full - 30 - 60) else 1)' \
	"${d1:-0}" "${d2:-0}" "$full" &&
	cgs_pass "cgsight_series_dropped_total{reason=\"max_series_per_container\"} +$(( ${d2%.*} - ${d1%.*} )) in $("$PY" -c "print('%.1f' % ($t2 - $t1))") s (the container alone leaves out about $((full - 60)) a pass)" ||
	cgs_fail "cgsight_series_dropped_total{reason=\"max_series_per_container\"} went from ${d1:-none} to ${d2:-none} (want at least +$((3 * (full - 90))))"
nlog=$(grep -cF "$CREL: " "$CGS_TMP/agent.log" | head -1)
grep -F "$CREL: " "$CGS_TMP/agent.log" | grep -q "series over max_series_per_container (60) left out" &&
	[ "$nlog" = 1 ] && cgs_pass "logged once for the container: $(grep -F "$CREL: " "$CGS_TMP/agent.log" | sed 's/.*left out, //')" ||
	cgs_fail "$nlog log lines for $CREL (want 1): $(grep -F "$CREL" "$CGS_TMP/agent.log" | head -3)"

cgs_finish
