#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every panel of every dashboard in dashboards/ returns data from a real
# Prometheus that scraped a running agent with test workloads in container
# cgroups (CPU, syscalls, page faults, TCP to a server in another container,
# failed connects). Variables are substituted (namespace/pod/container/name
# -> .*, $__rate_interval -> 10s). Panels (or one query of a panel, "title [refId]")
# that need what this host cannot provide are listed below with the reason;
# nothing else may be empty.
source "$(dirname "$0")/../lib/common.sh"
cgs_init
command -v prometheus >/dev/null || { echo "FAIL: prometheus not installed" >&2; exit 1; }

declare -A EXEMPT=(
	["CPU throttled (share of periods)"]="needs a CPU quota: this host's cgroup v2 hierarchy has no cpu controller"
	["Working set"]="needs memory.current: this host's cgroup v2 hierarchy has no memory controller"
	["Memory limit"]="needs memory.max: no memory controller in this host's cgroup v2 hierarchy"
	["Disk read / write"]="needs io.stat: no io controller in this host's cgroup v2 hierarchy"
	["Memory [B]"]="page cache needs memory.stat: no memory controller in this host's cgroup v2 hierarchy"
	["Memory [C]"]="working set needs memory.current: no memory controller in this host's cgroup v2 hierarchy"
)

cgs_test_cgroup_root
hex() { printf '%064x' "$1"; }
A="$ROOT/docker/$(hex 161)"; B="$ROOT/docker/$(hex 162)"
mkdir -p "$A" "$B"
cgs_start_agent --interval 1s
PORT=$(cgs_free_port); DEAD=$(cgs_free_port)
W="$CGS_SRC/tests/e2e/dashboards/workload.py"
"$PY" "$W" server "$B" 40 "$PORT" & CGS_PIDS+=($!)
sleep 0.5
"$PY" "$W" client "$A" 38 "$PORT" "$DEAD" & CGS_PIDS+=($!)

cgs_start_prometheus
sleep 30

exempt_file="$CGS_TMP/exempt.json"
for k in "${!EXEMPT[@]}"; do printf '%s\t%s\n' "$k" "${EXEMPT[$k]}"; done > "$exempt_file"
"$PY" - "$CGS_SRC/dashboards" "http://127.0.0.1:$PPORT" "$exempt_file" <<'PY'
import glob, json, sys, urllib.parse, urllib.request
dashdir, prom, exf = sys.argv[1:4]
exempt = dict(l.rstrip("\n").split("\t", 1) for l in open(exf) if l.strip())
passed = failed = skipped = 0
def query(expr):
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)
for path in sorted(glob.glob(dashdir + "/*.json")):
    d = json.load(open(path))
    assert "${datasource}" in json.dumps(d), path + ": panels must use the ${datasource} variable"
    names = {v["name"] for v in d["templating"]["list"]}
    assert {"datasource", "namespace", "pod", "container"} <= names, path + ": template variables missing"
    for p in d["panels"]:
        if p["type"] == "row":
            continue
        title = p["title"]
        for t in p["targets"]:
            expr = t["expr"]
            for var in ("namespace", "pod", "container", "name"):
                expr = expr.replace("$" + var, ".*")
            expr = expr.replace("$__rate_interval", "10s").replace("$__interval", "5s")
            try:
                res = query(expr)
                ok = res["status"] == "success" and len(res["data"]["result"]) > 0
                why = "empty result" if res["status"] == "success" else res.get("error")
            except Exception as e:  # HTTP 400: a query that does not parse
                ok, why = False, str(e)
            where = "%s: %s [%s]" % (path.rsplit("/", 1)[1], title, t["refId"])
            if ok:
                passed += 1
                print("PASS", where)
            elif title in exempt or "%s [%s]" % (title, t["refId"]) in exempt:
                skipped += 1
                print("EXEMPT", where, "-", exempt.get(title) or exempt["%s [%s]" % (title, t["refId"])])
            else:
                failed += 1
                print("FAIL", where, "-", why, "-", expr)
print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
sys.exit(1 if failed else 0)
PY
