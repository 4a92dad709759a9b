#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# e2e with real peers: real podman containers (runc, k8s-file log driver, in
# a private mount namespace: see tests/e2e/lib/runtimes.sh) write their
# stdout/stderr to ctr.log (CRI format, written by conmon); the agent tails
# it and ships to a real Forward server (@fluent-org/logger's FluentServer).
# Every line arrives in order with the container's real name, id and image
# (from the registry, i.e. Podman's own state); conmon's partial pieces of a
# 20,000-byte line arrive joined as one record; stderr stays stderr; the
# container's records are counted in container_log_records_total on its own
# series. A short-lived container removed right after it exited (its ctr.log
# deleted) loses no line.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/lib/runtimes.sh"
source "$(dirname "$0")/fluent/lib.sh"
cgs_init
cgs_cleanup_hook() { cgs_rt_cleanup; }
for t in podman runc buildah; do
	command -v "$t" >/dev/null || { echo "FAIL: $t is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }
done
fl_install

cgs_ns_start "$CGS_TMP/rt"
cgs_podman_setup "$CGS_TMP/podman"
cgs_rootfs_build "$CGS_TMP/rootfs"
cgs_image_build "$CGS_TMP/rootfs"
STATE="$CGS_TMP/podman/graph/overlay-containers"

NAME=cgs-e2e-logs
ID=$(cgs_podman_run "$NAME" sh -c 'i=0; while [ $i -lt 300 ]; do echo "podman line $i"; i=$((i+1)); done
	head -c 20000 /dev/zero | tr "\0" b; echo; echo "to stderr" >&2; echo "last line"; exec sleep 1000')
[ ${#ID} = 64 ] || { echo "FAIL: podman run gave no id: $ID" >&2; exit 1; }
cgs_log "podman container $NAME = $ID"

OUT=$CGS_TMP/out.jsonl
fl_start "$OUT" 0
# BPF finds the containers as they start; a long interval keeps the loop free on a busy node.
cgs_start_agent --interval 2s --podman-state-dir "$STATE" --node-name e2e-node \
	--logs true --log-paths "$STATE/*/userdata/ctr.log" --log-position-file "$CGS_TMP/lstate/pos" \
	--log-spool-dir "$CGS_TMP/lstate/spool" --fluentd-address "127.0.0.1:$FL_PORT" --log-rotate-wait 1s

n=0
for _ in $(seq 300); do
	n=$(grep -c "\"docker_id\":\"$ID\"" "$OUT" 2>/dev/null || true)
	[ "${n:-0}" -ge 303 ] && break
	sleep 0.2
done
sleep 1
if res=$("$PY" - "$OUT" "$ID" "$NAME" "$CGS_IMAGE" <<'PY'
import json, sys
out, cid, name, image = sys.argv[1:]
recs = [json.loads(l) for l in open(out)]
recs = [r for r in recs if r["record"].get("kubernetes", {}).get("docker_id") == cid]
logs = [r["record"]["log"] for r in recs]
errors = []
# stdout and stderr are two pipes: each is in order, not their interleaving
out_logs = [r["record"]["log"] for r in recs if r["record"]["stream"] == "stdout"]
want = ["podman line %d" % i for i in range(300)] + ["b" * 20000, "last line"]
if out_logs != want:
    errors.append("stdout: got %d records; first difference at %s" % (len(out_logs),
                  next((i for i, (a, b) in enumerate(zip(out_logs, want)) if a != b), min(len(out_logs), len(want)))))
if [r["record"]["log"] for r in recs if r["record"]["stream"] == "stderr"] != ["to stderr"]:
    errors.append("stderr records")
for r in recs:
    m = r["record"]["kubernetes"]
    if m["container_name"] != name or m["container_image"] != image or m["host"] != "e2e-node":
        errors.append("metadata %s" % m); break
    if r["tag"] != "kube._._.%s" % name:
        errors.append("tag %s" % r["tag"]); break
    if r["record"].get("split") or r["record"].get("malformed"):
        errors.append("flagged %s" % r["record"]["log"][:40]); break
streams = {r["record"]["log"][:9]: r["record"]["stream"] for r in recs}
if streams.get("to stderr") != "stderr" or streams.get("last line") != "stdout":
    errors.append("streams %s" % streams)
print("; ".join(errors) if errors else "%d records" % len(recs))
sys.exit(1 if errors else 0)
PY
); then
	cgs_pass "podman ctr.log shipped with the container's real name, id and image: $res"
else
	cgs_fail "podman ctr.log: $res"
fi
for _ in $(seq 30); do
	M=$(cgs_metrics)
	line=$(grep "^container_log_records_total{" <<<"$M" | grep "name=\"$NAME\"" | grep 'stream="stdout"' || true)
	[ "${line##* }" = 302 ] && break
	sleep 0.5
done
[ "${line##* }" = 302 ] && cgs_pass "container_log_records_total on $NAME's series: $line" ||
	cgs_fail "container_log_records_total for $NAME: '$line'"

# A short-lived container, removed as soon as it exited and its log was opened: its deleted
# ctr.log is read to the end (the agent holds it open). (A log created and deleted between two
# looks of a very busy agent cannot be read: that is the one loss the design accepts.)
NAME2=cgs-e2e-short
ID2=$(cgs_podman_run "$NAME2" sh -c 'i=0; while [ $i -lt 2000 ]; do echo "short-lived $i"; i=$((i+1)); done; sleep 1')
for _ in $(seq 300); do
	[ "$(mval "$(cgs_metrics)" cgsight_logs_files 'state="open"')" = 2 ] && break
	sleep 0.1
done
cgs_podman wait "$NAME2" >/dev/null 2>&1 || true
cgs_podman rm -f "$NAME2" >/dev/null 2>&1 || cgs_fail "podman rm $NAME2"
[ -e "$STATE/$ID2/userdata/ctr.log" ] && cgs_fail "ctr.log of $NAME2 still there" || cgs_log "$NAME2 removed with its ctr.log"
for _ in $(seq 300); do
	n=$(grep -c "\"docker_id\":\"$ID2\"" "$OUT" 2>/dev/null || true)
	[ "${n:-0}" -ge 2000 ] && break
	sleep 0.2
done
[ "$n" = 2000 ] && cgs_pass "all 2000 lines of the removed container arrived" || cgs_fail "$n of 2000 lines of the removed container"
named=$(grep "\"docker_id\":\"$ID2\"" "$OUT" | grep -c "\"container_name\":\"$NAME2\"" || true)
[ "$named" = 2000 ] && cgs_pass "... each with the short-lived container's name" || cgs_fail "$named of its records carry its name"
sleep 4
M=$(cgs_metrics)
[ "$(mval "$M" cgsight_logs_files 'state="rotated"')" = 0 ] && [ "$(mval "$M" cgsight_logs_files 'state="open"')" = 1 ] &&
	cgs_pass "the deleted log was closed once drained" ||
	cgs_fail "files: open $(mval "$M" cgsight_logs_files 'state="open"'), rotated $(mval "$M" cgsight_logs_files 'state="rotated"')"
[ "$(mval "$M" cgsight_logs_dropped_bytes_total 'reason="deleted_unread"')" = 0 ] && cgs_pass "nothing dropped" ||
	cgs_fail "dropped: $(grep cgsight_logs_dropped <<<"$M")"
if promtool check metrics <<<"$M" >"$CGS_TMP/promtool.out" 2>&1; then
	cgs_pass "promtool check metrics: clean with the logs families"
else
	cgs_fail "promtool: $(head -5 "$CGS_TMP/promtool.out")"
fi
kill "$CGS_AGENT_PID"; wait "$CGS_AGENT_PID" 2>/dev/null || true
fl_stop "$FL_PID"
cgs_finish
