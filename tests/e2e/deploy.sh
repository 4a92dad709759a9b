#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Deployment artefacts against real tools: every Kubernetes manifest (and the
# generated ConfigMap) validated offline against the API schema with npm
# kubernetes-models, and the objects checked against each other and against
# what the deployment promises (not privileged, explicit capabilities, probes
# on /healthz, resources, tolerations, prometheus.io annotations, headless
# Service, PodMonitor job); the alerting rules checked and unit-tested with promtool;
# the default config and every CGSIGHT_* variable the DaemonSet sets accepted
# by the agent itself.
source "$(dirname "$0")/../lib/common.sh"
trap cgs_cleanup EXIT
for t in node npm promtool; do
	command -v "$t" >/dev/null || { echo "FAIL: $t is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }
done

NPMDIR="${CGS_BUILD:-$CGS_TMP}/deploy-npm"
mkdir -p "$NPMDIR"
cp "$CGS_SRC/tests/deploy/package.json" "$CGS_SRC/tests/deploy/package-lock.json" "$CGS_SRC/tests/deploy/validate.mjs" "$NPMDIR/"
if (cd "$NPMDIR" && npm ci --silent --no-audit --no-fund >"$CGS_TMP/npm.log" 2>&1); then
	cgs_pass "npm ci of the validators"
else
	cgs_fail "npm ci: $(tail -3 "$CGS_TMP/npm.log")"
fi
if node "$NPMDIR/validate.mjs" "$CGS_SRC/config" >"$CGS_TMP/validate.out" 2>&1; then
	cgs_pass "manifests valid: $(tail -1 "$CGS_TMP/validate.out")"
else
	cgs_fail "manifest validation: $(grep FAIL "$CGS_TMP/validate.out" | head -5)"
fi
promtool check rules "$CGS_SRC/config/prometheus/alerts.yml" >/dev/null 2>&1 &&
	cgs_pass "promtool check rules" || cgs_fail "promtool check rules"
(cd "$CGS_SRC/tests/deploy" && promtool test rules alerts_test.yml) >"$CGS_TMP/rules.out" 2>&1 &&
	cgs_pass "promtool test rules" || cgs_fail "promtool test rules: $(head -20 "$CGS_TMP/rules.out")"

"$CGS_BIN" agent --config "$CGS_SRC/config/cgsight.yaml" --check-config >/dev/null 2>&1 &&
	cgs_pass "default config accepted by the agent" || cgs_fail "default config rejected"
# Every CGSIGHT_* variable of the DaemonSet names a real key (the agent ignores unknown ones).
n=0
while read -r var; do
	key=${var#CGSIGHT_}; flag=$(tr 'A-Z_' 'a-z-' <<<"$key")
	if "$CGS_BIN" agent "--$flag" /x --check-config >/dev/null 2>&1 || "$CGS_BIN" agent "--$flag" node-1 --check-config >/dev/null 2>&1; then
		n=$((n + 1))
	else
		cgs_fail "DaemonSet sets $var, which is no configuration key"
	fi
done < <(grep -o 'CGSIGHT_[A-Z_]*' "$CGS_SRC/config/kubernetes/daemonset.yaml" | sort -u)
[ "$n" -gt 0 ] && cgs_pass "$n CGSIGHT_* variables of the DaemonSet are configuration keys"
cgs_finish
