#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Checks every dashboard against a Prometheus that scraped the agent.

Structure: every panel and target uses the ${datasource} variable, the
container variables exist, panel ids are unique and panels stay in the
24-column grid without overlapping. Variables: each label_values() query,
its own variables substituted, offers the test's values. Panels: each
query, variables substituted (the test's namespace, pods and containers
selected), returns at least one series with a finite value. Queries still
empty are asked again until the deadline (the workloads need a few scrapes
to fill rate() windows and histograms); exempt ones (file of
"title[ [refId]]<TAB>reason" lines) are asked once at the end and must
still be empty, or the exemption is stale.

Usage: check.py PROM_URL DASHBOARD_DIR EXEMPT_FILE SELECTION_JSON DEADLINE_S
SELECTION_JSON: {"select": {VARIABLE: [values], ...}, "expect": {VARIABLE: [values], ...}}:
what the queries are run with (an empty list selects All), and what each
variable must offer.
"""
import json
import math
import sys
import time

import dashlib

RATE_INTERVAL = 10  # $__rate_interval for a 1 s scrape interval, with room for late scrapes
INTERVAL = 5


def finite(res):
    """Whether a query answer holds a series with a finite value."""
    data = res.get("data", {})
    for r in data.get("result", []):
        vals = [r["value"]] if "value" in r else r.get("values", [])
        if any(math.isfinite(float(v[1])) for v in vals):
            return True
    return False


def structure(name, d, fails):
    text = json.dumps(d)
    names = {v["name"] for v in d["templating"]["list"]}
    for want in ("datasource",) + dashlib.CONTAINER_VARS[:3]:
        if want not in names:
            fails.append("%s: no template variable %s" % (name, want))
    ds = [v for v in d["templating"]["list"] if v["name"] == "datasource"]
    if ds and (ds[0].get("type") != "datasource" or ds[0].get("query") != "prometheus"):
        fails.append("%s: the datasource variable is not a Prometheus data source picker" % name)
    if "${datasource}" not in text:
        fails.append("%s: nothing uses ${datasource}" % name)
    ids, cells = set(), {}
    for p in d["panels"]:
        if p["id"] in ids:
            fails.append("%s: panel id %d twice" % (name, p["id"]))
        ids.add(p["id"])
        g = p["gridPos"]
        if g["x"] < 0 or g["w"] <= 0 or g["x"] + g["w"] > 24:
            fails.append("%s: %s is outside the 24-column grid" % (name, p["title"]))
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    fails.append("%s: %s overlaps %s" % (name, p["title"], cells[(x, y)]))
                    break
                cells[(x, y)] = p["title"]
            else:
                continue
            break
    for p in dashlib.panels(d):
        if p.get("datasource", {}).get("uid") != "${datasource}":
            fails.append("%s: %s does not use ${datasource}" % (name, p["title"]))
        for t in p["targets"]:
            if t.get("datasource", {}).get("uid") != "${datasource}":
                fails.append("%s: %s [%s] does not use ${datasource}" % (name, p["title"], t["refId"]))
        if not p["targets"]:
            fails.append("%s: %s has no query" % (name, p["title"]))


def variable_probes(prom, name, d, sel, expect, fails):
    """(where, probe) per query variable; a probe returns (ok, why)."""
    out = []
    for v in d["templating"]["list"]:
        if v["type"] != "query":
            continue
        q = v["query"]["query"] if isinstance(v["query"], dict) else v["query"]
        try:
            selector, label = dashlib.label_values_query(q)
        except ValueError as e:
            fails.append("%s: variable %s: %s" % (name, v["name"], e))
            continue
        selector = dashlib.substitute(selector, sel, INTERVAL, RATE_INTERVAL)
        want = set(expect.get(v["name"], []))

        def probe(label=label, selector=selector, want=want):
            res = prom.label_values(label, selector)
            if res.get("status") != "success":
                return False, res.get("error")
            got = set(res.get("data") or [])
            return want <= got, "offers %s, lacks %s" % (sorted(got), sorted(want - got))
        out.append(("%s: variable %s offers %s" % (name, v["name"], sorted(want) or "All"), probe))
    return out


def query_probe(prom, expr):
    def probe():
        res = prom.query(expr)
        if res.get("status") != "success":
            return False, "%s - %s" % (res.get("error"), expr)
        if finite(res):
            return True, ""
        return False, "%s - %s" % ("only NaN values" if res["data"]["result"] else "empty result", expr)
    return probe


def main():
    prom_url, dashdir, exf, selfile, deadline = sys.argv[1:6]
    prom = dashlib.Prometheus(prom_url)
    exempt = dashlib.load_exempt(exf)
    with open(selfile) as f:
        j = json.load(f)
    sel, expect = j["select"], j["expect"]
    deadline = time.time() + float(deadline)
    fails, passes = [], []
    queries = []  # (where, expr, exempt reason)
    probes = []  # (where, probe): retried until they pass or the deadline
    used_exemptions = set()
    for name, d in dashlib.dashboards(dashdir):
        structure(name, d, fails)
        probes += variable_probes(prom, name, d, sel, expect, fails)
        for p in dashlib.panels(d):
            for t in p["targets"]:
                why = dashlib.exempt_reason(exempt, p["title"], t["refId"])
                if why:
                    used_exemptions.add(p["title"] if p["title"] in exempt else "%s [%s]" % (p["title"], t["refId"]))
                where = "%s: %s [%s]" % (name, p["title"], t["refId"])
                expr = dashlib.substitute(t["expr"], sel, INTERVAL, RATE_INTERVAL)
                queries.append((where, expr, why))
                if not why:
                    probes.append((where, query_probe(prom, expr)))
    for k in sorted(set(exempt) - used_exemptions):
        fails.append("exemption for a panel no dashboard has: %s" % k)

    pending, last = probes, {}
    while True:
        still = []
        for where, probe in pending:
            ok, last[where] = probe()
            if ok:
                passes.append(where)
            elif "bad_data" in last[where] or "parse error" in last[where]:
                fails.append("%s - %s" % (where, last[where]))  # waiting will not help
            else:
                still.append((where, probe))
        pending = still
        if not pending or time.time() > deadline:
            break
        print("waiting for %d checks (%d s left), e.g. %s: %s" %
              (len(pending), deadline - time.time(), pending[0][0], last[pending[0][0]]), flush=True)
        time.sleep(3)
    for where, _ in pending:
        fails.append("%s - %s" % (where, last[where]))
    for where, expr, why in queries:
        if not why:
            continue
        res = prom.query(expr)
        if res.get("status") != "success":
            fails.append("%s - exempt (%s), but the query fails: %s - %s" % (where, why, res.get("error"), expr))
        elif finite(res):
            fails.append("%s - exempt (%s), but it has data: the exemption is stale" % (where, why))
        else:
            print("EXEMPT %s - %s" % (where, why))
    for p in passes:
        print("PASS", p)
    for f in fails:
        print("FAIL", f)
    print("%d passed, %d failed, %d exempt" % (len(passes), len(fails), sum(1 for q in queries if q[2])))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
