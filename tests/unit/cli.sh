#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The command line: subcommands, exit codes, configuration errors that name
# the key and line (exit 2), and the documented default configuration in
# config/cgsight.yaml staying identical to what the binary's table says.
source "$(dirname "$0")/../lib/common.sh"
trap cgs_cleanup EXIT

expect() { # expect WANT_RC DESCRIPTION -- command...
	local want=$1 what=$2; shift 3
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" = "$want" ]; then cgs_pass "$what (exit $rc)"; else cgs_fail "$what: exit $rc, want $want: $out"; fi
	LAST_OUT=$out
}

expect 0 "version" -- "$CGS_BIN" version
[[ $LAST_OUT == "cgsight "* ]] && cgs_pass "version text" || cgs_fail "version text: $LAST_OUT"
expect 0 "help" -- "$CGS_BIN" --help
expect 2 "no command" -- "$CGS_BIN"
expect 2 "unknown command" -- "$CGS_BIN" frobnicate
expect 0 "agent --help" -- "$CGS_BIN" agent --help
for k in --listen --log-level --interval --cgroup-root --bpf; do
	grep -q -- "$k" <<<"$LAST_OUT" && cgs_pass "agent --help documents $k" || cgs_fail "agent --help lacks $k"
done

# The documented default file is what the table says, and it validates.
if diff <("$CGS_BIN" config) "$CGS_SRC/config/cgsight.yaml" >/dev/null; then
	cgs_pass "config/cgsight.yaml matches 'cgsight config'"
else
	cgs_fail "config/cgsight.yaml drifted from the binary's table: regenerate with 'cgsight config'"
fi
expect 0 "default config validates" -- "$CGS_BIN" agent --config "$CGS_SRC/config/cgsight.yaml" --check-config

# The README's references are the binary's own tables.
readme_block() { sed -n "/<!-- $1:begin -->/,/<!-- $1:end -->/p" "$CGS_SRC/README.md" | sed '1d;$d'; }
diff <(readme_block metrics) <("$CGS_BIN" metrics) >/dev/null && cgs_pass "README metric reference is current" ||
	cgs_fail "README metric reference drifted: run scripts/update-docs.sh"
diff <(readme_block config) <(printf '```yaml\n'; "$CGS_BIN" config; printf '```\n') >/dev/null &&
	cgs_pass "README configuration reference is current" ||
	cgs_fail "README configuration reference drifted: run scripts/update-docs.sh"

# Bad configuration: exit 2, naming key and line.
printf 'listen: 127.0.0.1:9\n# c\nintervall: 5s\n' > "$CGS_TMP/bad1.yaml"
expect 2 "unknown key" -- "$CGS_BIN" agent --config "$CGS_TMP/bad1.yaml" --check-config
grep -q "line 3" <<<"$LAST_OUT" && grep -q "'intervall'" <<<"$LAST_OUT" && cgs_pass "unknown key message names key and line" || cgs_fail "message: $LAST_OUT"
printf 'interval: 5 seconds\n' > "$CGS_TMP/bad2.yaml"
expect 2 "bad value" -- "$CGS_BIN" agent --config "$CGS_TMP/bad2.yaml"
grep -q "line 1" <<<"$LAST_OUT" && grep -q "'interval'" <<<"$LAST_OUT" && cgs_pass "bad value message names key and line" || cgs_fail "message: $LAST_OUT"
expect 2 "missing config file" -- "$CGS_BIN" agent --config "$CGS_TMP/nope.yaml"
expect 2 "bad flag value" -- "$CGS_BIN" agent --log-level loud
expect 2 "unknown flag" -- "$CGS_BIN" agent --no-such-flag 1
expect 2 "flag without value" -- "$CGS_BIN" agent --listen
expect 2 "bad environment value" -- env CGSIGHT_INTERVAL=never "$CGS_BIN" agent --check-config
printf 'interval: 5s\nlog_level: warn\n' > "$CGS_TMP/good.yaml"
expect 0 "valid file" -- "$CGS_BIN" agent --config "$CGS_TMP/good.yaml" --interval 2s --check-config
expect 2 "a bad file is not hidden by flags" -- "$CGS_BIN" agent --config "$CGS_TMP/bad2.yaml" --interval 5s --check-config
expect 1 "cgroup_root without a cgroup2 hierarchy" -- "$CGS_BIN" agent --cgroup-root "$CGS_TMP" --listen 127.0.0.1:0
grep -q "no cgroup2 hierarchy" <<<"$LAST_OUT" && cgs_pass "clear message for a missing hierarchy" || cgs_fail "message: $LAST_OUT"
cgs_finish
