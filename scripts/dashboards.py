#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Generates the Grafana dashboards in dashboards/ (one JSON file each).

The dashboards are code so that every panel uses the same variables and
filters; tests/e2e/dashboards.sh runs every panel's queries against a real
Prometheus that scraped a running agent. Run: scripts/dashboards.py [outdir]
"""
import json
import os
import sys

F = 'namespace=~"$namespace", pod=~"$pod", container=~"$container", name=~"$name"'
RI = "$__rate_interval"
BY = "namespace, pod, container, name"
# Pod and container first: they tell Kubernetes containers apart (name is their id there);
# name tells the others apart (Docker, Podman). The namespace is a variable.
LEGEND = "{{pod}}/{{container}} {{name}}"


def variables():
    def q(label, query):
        return {
            "name": label, "label": label, "type": "query",
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "query": {"query": query, "refId": label},
            "definition": query, "includeAll": True, "allValue": ".*", "multi": True,
            "current": {"text": "All", "value": "$__all"}, "refresh": 2, "sort": 1,
        }
    return [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "refresh": 1},
        q("namespace", 'label_values(container_cpu_usage_seconds_total, namespace)'),
        q("pod", 'label_values(container_cpu_usage_seconds_total{namespace=~"$namespace"}, pod)'),
        q("container", 'label_values(container_cpu_usage_seconds_total{namespace=~"$namespace", pod=~"$pod"}, container)'),
        q("name", 'label_values(container_cpu_usage_seconds_total{namespace=~"$namespace", pod=~"$pod"}, name)'),
    ]


class Board:
    def __init__(self, uid, title, desc):
        self.uid, self.title, self.desc = uid, title, desc
        self.panels, self.y, self.x, self.next_id = [], 0, 0, 1

    def row(self, title):
        self._flush()
        self.panels.append({"id": self.next_id, "type": "row", "title": title, "collapsed": False,
                            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y}, "panels": []})
        self.next_id += 1
        self.y += 1

    def _flush(self):
        if self.x:
            self.x = 0
            self.y += 8

    def panel(self, title, targets, kind="timeseries", unit="short", w=12, desc="", stack=False):
        if self.x + w > 24:
            self._flush()
        p = {
            "id": self.next_id, "type": kind, "title": title, "description": desc,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": w, "x": self.x, "y": self.y},
            "targets": [dict({"refId": chr(65 + i), "datasource": {"type": "prometheus", "uid": "${datasource}"}},
                             **t) for i, t in enumerate(targets)],
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {},
        }
        if kind == "timeseries":
            p["fieldConfig"]["defaults"]["custom"] = {"stacking": {"mode": "normal" if stack else "none"},
                                                      "fillOpacity": 10}
            p["options"] = {"legend": {"displayMode": "table", "placement": "right", "calcs": ["mean", "max"]},
                            "tooltip": {"mode": "multi", "sort": "desc"}}
        if kind == "heatmap":
            p["options"] = {"calculate": False, "yAxis": {"unit": "s"}, "cellGap": 1,
                            "color": {"scheme": "Oranges", "mode": "scheme"}}
            for t in p["targets"]:
                t["format"] = "heatmap"
        self.panels.append(p)
        self.next_id += 1
        self.x += w
        if self.x >= 24:
            self._flush()

    def json(self):
        self._flush()
        return {
            "uid": self.uid, "title": self.title, "description": self.desc,
            "tags": ["cgsight", "containers"], "timezone": "browser", "editable": True,
            "schemaVersion": 39, "version": 1, "refresh": "30s",
            "time": {"from": "now-1h", "to": "now"},
            "templating": {"list": variables()},
            "annotations": {"list": []},
            "panels": self.panels,
        }


def t(expr, legend=LEGEND):
    return {"expr": expr, "legendFormat": legend}


def heat(expr):
    return {"expr": expr, "legendFormat": "{{le}}"}


def node_overview():
    b = Board("cgsight-node", "cgsight / Node overview", "Every container on the node: CPU, run-queue delay, memory, network, OOM kills.")
    b.row("CPU")
    b.panel("CPU usage (cores)", [t(f"sum by ({BY}) (rate(container_cpu_usage_seconds_total{{{F}}}[{RI}]))")], unit="short", stack=True)
    b.panel("Run-queue delay (s waited per s)", [t(f"sum by ({BY}) (rate(container_cpu_delay_seconds_total{{{F}}}[{RI}]))")], unit="short",
            desc="Time the container's threads were runnable but waited for a CPU. Above ~0.1 the container is starved.")
    b.panel("CPU throttled (share of periods)", [t(f"sum by ({BY}) (rate(container_cpu_cfs_throttled_periods_total{{{F}}}[{RI}])) / sum by ({BY}) (rate(container_cpu_cfs_periods_total{{{F}}}[{RI}]))")], unit="percentunit")
    b.panel("CPU pressure (waiting s per s)", [t(f"sum by ({BY}) (rate(container_pressure_cpu_waiting_seconds_total{{{F}}}[{RI}]))")], unit="short")
    b.row("Memory")
    b.panel("Working set", [t(f"sum by ({BY}) (container_memory_working_set_bytes{{{F}}})")], unit="bytes", stack=True)
    b.panel("RSS", [t(f"sum by ({BY}) (container_memory_rss{{{F}}})")], unit="bytes", stack=True)
    b.panel("OOM kills (last hour)", [t(f"sum by ({BY}) (increase(container_oom_events_total{{{F}}}[1h]))")], kind="stat", w=8)
    # pgfault counts every fault, major ones included: by type, never summed together.
    b.panel("Page faults per second", [t(f"sum by ({BY}, failure_type) (rate(container_memory_failures_total{{{F}, scope=\"container\"}}[{RI}]))",
                                         LEGEND + " {{failure_type}}")], w=16)
    b.row("Network")
    b.panel("Receive", [t(f"sum by ({BY}) (rate(container_network_receive_bytes_total{{{F}}}[{RI}]))")], unit="Bps")
    b.panel("Transmit", [t(f"sum by ({BY}) (rate(container_network_transmit_bytes_total{{{F}}}[{RI}]))")], unit="Bps")
    b.row("Node")
    b.panel("Containers tracked", [t("sum(cgsight_containers)", "containers")], kind="stat", w=8)
    b.panel("Processes by container", [t(f"sum by ({BY}) (container_processes{{{F}}})")], w=16)
    return b


def container_detail():
    b = Board("cgsight-container", "cgsight / Container detail", "Everything cgsight measures for the selected containers.")
    b.row("CPU and scheduling")
    b.panel("CPU user / system (cores)", [t(f"sum by ({BY}) (rate(container_cpu_user_seconds_total{{{F}}}[{RI}]))", LEGEND + " user"),
                                          t(f"sum by ({BY}) (rate(container_cpu_system_seconds_total{{{F}}}[{RI}]))", LEGEND + " system")])
    b.panel("Context switches per second", [t(f"sum by ({BY}, type) (rate(container_context_switches_total{{{F}}}[{RI}]))", LEGEND + " {{type}}")])
    b.panel("Run-queue latency", [heat(f"sum by (le) (rate(container_cpu_runqueue_latency_seconds_bucket{{{F}}}[{RI}]))")], kind="heatmap")
    b.panel("Run-queue latency p99", [t(f"histogram_quantile(0.99, sum by ({BY}, le) (rate(container_cpu_runqueue_latency_seconds_bucket{{{F}}}[{RI}])))")], unit="s")
    b.row("System calls")
    b.panel("Syscall latency (all classes)", [heat(f"sum by (le) (rate(container_syscall_latency_seconds_bucket{{{F}}}[{RI}]))")], kind="heatmap")
    b.panel("Syscall latency p99 by class", [t(f"histogram_quantile(0.99, sum by (class, le) (rate(container_syscall_latency_seconds_bucket{{{F}}}[{RI}])))", "{{class}}")], unit="s")
    b.panel("Top syscalls per second", [t(f"topk(10, sum by (syscall) (rate(container_syscalls_total{{{F}}}[{RI}])))", "{{syscall}}")])
    b.panel("Syscall errors per second by class", [t(f"sum by (class) (rate(container_syscall_errors_total{{{F}}}[{RI}]))", "{{class}}")])
    b.row("Memory")
    b.panel("Memory", [t(f"sum by ({BY}) (container_memory_rss{{{F}}})", LEGEND + " rss"),
                       t(f"sum by ({BY}) (container_memory_cache{{{F}}})", LEGEND + " cache"),
                       t(f"sum by ({BY}) (container_memory_working_set_bytes{{{F}}})", LEGEND + " working set")], unit="bytes")
    b.panel("Memory limit", [t(f"max by ({BY}) (container_spec_memory_limit_bytes{{{F}}})")], unit="bytes")
    b.panel("Reclaim stalls", [heat(f"sum by (le) (rate(container_memory_reclaim_seconds_bucket{{{F}}}[{RI}]))")], kind="heatmap")
    b.panel("Memory pressure (stalled s per s)", [t(f"sum by ({BY}) (rate(container_pressure_memory_stalled_seconds_total{{{F}}}[{RI}]))")])
    b.row("Disk and processes")
    b.panel("Disk read / write", [t(f"sum by ({BY}) (rate(container_fs_reads_bytes_total{{{F}}}[{RI}]))", LEGEND + " read"),
                                  t(f"sum by ({BY}) (rate(container_fs_writes_bytes_total{{{F}}}[{RI}]))", LEGEND + " write")], unit="Bps")
    b.panel("Processes and threads", [t(f"sum by ({BY}) (container_processes{{{F}}})", LEGEND + " processes"),
                                      t(f"sum by ({BY}) (container_threads{{{F}}})", LEGEND + " threads")])
    b.panel("IO pressure (waiting s per s)", [t(f"sum by ({BY}) (rate(container_pressure_io_waiting_seconds_total{{{F}}}[{RI}]))")])
    b.panel("Uptime", [t(f"time() - max by ({BY}) (container_start_time_seconds{{{F}}})")], unit="s")
    return b


def network_tcp():
    b = Board("cgsight-network", "cgsight / Network & TCP", "Traffic attributed to the socket's cgroup (host-network pods included) and TCP health.")
    b.row("Traffic")
    b.panel("Receive bytes", [t(f"sum by ({BY}) (rate(container_network_receive_bytes_total{{{F}}}[{RI}]))")], unit="Bps")
    b.panel("Transmit bytes", [t(f"sum by ({BY}) (rate(container_network_transmit_bytes_total{{{F}}}[{RI}]))")], unit="Bps")
    b.panel("Receive packets", [t(f"sum by ({BY}) (rate(container_network_receive_packets_total{{{F}}}[{RI}]))")], unit="pps")
    b.panel("Transmit packets", [t(f"sum by ({BY}) (rate(container_network_transmit_packets_total{{{F}}}[{RI}]))")], unit="pps")
    b.row("TCP")
    b.panel("Connects per second by result", [t(f"sum by ({BY}, result) (rate(container_tcp_connects_total{{{F}}}[{RI}]))", LEGEND + " {{result}}")])
    b.panel("Accepts per second", [t(f"sum by ({BY}) (rate(container_tcp_accepts_total{{{F}}}[{RI}]))")])
    b.panel("Established connections", [t(f"sum by ({BY}) (container_tcp_active_connections{{{F}}})")])
    b.panel("Retransmits per second", [t(f"sum by ({BY}) (rate(container_tcp_retransmits_total{{{F}}}[{RI}]))")])
    b.panel("Connect latency", [heat(f"sum by (le) (rate(container_tcp_connect_latency_seconds_bucket{{{F}}}[{RI}]))")], kind="heatmap")
    b.panel("Connect latency p99", [t(f"histogram_quantile(0.99, sum by ({BY}, le) (rate(container_tcp_connect_latency_seconds_bucket{{{F}}}[{RI}])))")], unit="s")
    return b


def agent_health():
    b = Board("cgsight-agent", "cgsight / Agent health", "The agents themselves: up, versions, cost, errors and anything dropped.")
    b.panel("Agents up", [t('sum(up{job=~".*cgsight.*"})', "up")], kind="stat", w=6)
    b.panel("Versions", [t("count by (version) (cgsight_build_info)", "{{version}}")], kind="stat", w=6)
    b.panel("Containers per node", [t("cgsight_containers", "{{instance}}")], w=12)
    b.panel("Collection pass duration", [t("cgsight_collection_duration_seconds", "{{instance}}")], unit="s")
    b.panel("Scrape duration", [t("cgsight_last_scrape_duration_seconds", "{{instance}}")], unit="s")
    b.panel("Collectors up", [t("cgsight_collector_up", "{{instance}} {{collector}}")])
    b.panel("Collector read errors per second", [t("sum by (instance, collector) (rate(cgsight_collector_errors_total[$__rate_interval]))", "{{instance}} {{collector}}")])
    b.panel("Kernel events lost", [t("sum by (instance, collector) (increase(cgsight_events_lost_total[$__rate_interval]))", "{{instance}} {{collector}}")])
    b.panel("Series and containers dropped by bounds", [t("sum by (instance, reason) (increase(cgsight_series_dropped_total[$__rate_interval]))", "{{instance}} {{reason}}")])
    b.panel("Runtime state errors", [t("sum by (instance) (increase(cgsight_runtime_errors_total[$__rate_interval]))", "{{instance}}")])
    b.panel("Scrapes per second", [t("sum by (instance) (rate(cgsight_scrapes_total[$__rate_interval]))", "{{instance}}")])
    b.panel("Agent CPU (cores)", [t('sum by (instance) (rate(process_cpu_seconds_total{job=~".*cgsight.*"}[$__rate_interval]))', "{{instance}}")],
            desc="Needs the agent's process metrics; empty where they are not exported.")
    return b


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "dashboards")
    for name, fn in (("node-overview", node_overview), ("container-detail", container_detail),
                     ("network-tcp", network_tcp), ("agent-health", agent_health)):
        with open(os.path.join(out, f"cgsight-{name}.json"), "w") as f:
            json.dump(fn().json(), f, indent=2, sort_keys=False)
            f.write("\n")


if __name__ == "__main__":
    main()
