# SPDX-License-Identifier: Apache-2.0
"""What check.py and render.py share: reading the dashboards, substituting
Grafana's variables the way Grafana does, and asking Prometheus."""
import glob
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request

CONTAINER_VARS = ("namespace", "pod", "container", "name")


def dashboards(directory):
    """[(file name, dashboard dict)], sorted by file name."""
    out = []
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        with open(path) as f:
            out.append((os.path.basename(path), json.load(f)))
    return out


def panels(dash):
    """Every panel that queries (rows are only headings), rows' nested panels included."""
    for p in dash["panels"]:
        if p["type"] == "row":
            yield from (q for q in p.get("panels", []) if q["type"] != "row")
        else:
            yield p


def load_exempt(path):
    """'title' or 'title [refId]' -> reason."""
    out = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                k, v = line.rstrip("\n").split("\t", 1)
                out[k] = v
    return out


def exempt_reason(exempt, title, ref):
    return exempt.get("%s [%s]" % (title, ref)) or exempt.get(title)


def regex_value(values):
    """A multi-value selection as Grafana writes it into a =~ matcher."""
    if not values:
        return ".*"  # "All" with allValue .*
    esc = [re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\\\1", v) for v in values]
    return esc[0] if len(esc) == 1 else "(" + "|".join(esc) + ")"


def substitute(expr, values, interval, rate_interval):
    """values: variable -> [selected values] ([] = All)."""
    for var in sorted(values, key=len, reverse=True):
        expr = expr.replace("${%s}" % var, regex_value(values[var]))
        expr = expr.replace("$" + var, regex_value(values[var]))
    expr = expr.replace("$__rate_interval", "%ds" % rate_interval)
    expr = expr.replace("$__interval", "%ds" % interval)
    return expr


class Prometheus:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def get(self, path, params, timeout=20):
        """The decoded answer; {"status": "error", "error": ...} on HTTP errors too."""
        url = self.url + path + "?" + urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:  # 400: a query that does not parse
            try:
                return json.load(e)
            except ValueError:
                return {"status": "error", "error": "HTTP %d" % e.code}
        except (OSError, ValueError) as e:
            return {"status": "error", "error": str(e)}

    def query(self, expr, t=None):
        params = {"query": expr}
        if t is not None:
            params["time"] = t
        return self.get("/api/v1/query", params)

    def query_range(self, expr, start, end, step):
        return self.get("/api/v1/query_range", {"query": expr, "start": start, "end": end, "step": step})

    def label_values(self, label, match):
        return self.get("/api/v1/label/%s/values" % label, {"match[]": match})


def label_values_query(q):
    """label_values(SELECTOR, LABEL) -> (SELECTOR, LABEL)."""
    m = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", q, re.S)
    if not m:
        raise ValueError("not a label_values() query: " + q)
    return m.group(1), m.group(2)


def legend(fmt, labels):
    if not fmt:
        return "{" + ", ".join('%s="%s"' % kv for kv in sorted(labels.items()) if kv[0] != "__name__") + "}"
    return re.sub(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt).strip()
