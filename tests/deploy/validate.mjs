// SPDX-License-Identifier: Apache-2.0
// Validates every manifest the kustomization lists (and the ConfigMap it
// generates) against the Kubernetes API schema, offline, with kubernetes-models.
// Usage: node validate.mjs <repo>/config
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { Namespace, ServiceAccount, Service, ConfigMap } from "kubernetes-models/v1";
import { DaemonSet } from "kubernetes-models/apps/v1";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const models = { Namespace, ServiceAccount, Service, ConfigMap, DaemonSet, PodMonitor };
const dir = process.argv[2];
const kust = parseAllDocuments(readFileSync(join(dir, "kustomization.yaml"), "utf8"))[0].toJS();
let failures = 0, checked = 0;
const byKind = {};

function check(name, obj) {
  const Model = models[obj.kind];
  if (!Model) { console.log(`FAIL ${name}: no schema for kind ${obj.kind}`); failures++; return; }
  try {
    new Model(obj).validate();
    checked++;
    console.log(`ok   ${name}: ${obj.kind} ${obj.metadata?.name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${obj.kind}: ${e.message}`);
  }
}

for (const res of kust.resources) {
  for (const doc of parseAllDocuments(readFileSync(join(dir, res), "utf8"))) {
    if (doc.errors.length) { console.log(`FAIL ${res}: ${doc.errors[0].message}`); failures++; continue; }
    const obj = doc.toJS();
    if (obj) {
      check(res, obj);
      byKind[obj.kind] = obj;
    }
  }
}
// The generated ConfigMap, as kustomize would build it.
for (const gen of kust.configMapGenerator ?? []) {
  const data = {};
  for (const f of gen.files) data[f] = readFileSync(join(dir, f), "utf8");
  check(`configMapGenerator ${gen.name}`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: gen.name, namespace: kust.namespace }, data });
}
// Beyond the schema: what the deployment promises, and the objects agreeing with each other.
function need(cond, what) {
  if (!cond) { console.log(`FAIL ${what}`); failures++; }
}
const ds = byKind.DaemonSet, svc = byKind.Service, pm = byKind.PodMonitor;
need(ds && svc && pm, "the kustomization lists a DaemonSet, a Service and a PodMonitor");
const pod = ds.spec.template, podLabels = pod.metadata.labels ?? {};
const selects = (sel) => Object.entries(sel ?? {}).length > 0 && Object.entries(sel).every(([k, v]) => podLabels[k] === v);
const vol = pod.spec.volumes.find((v) => v.configMap);
need(vol && (kust.configMapGenerator ?? []).some((g) => g.name === vol.configMap.name),
  "daemonset: its config volume names the generated ConfigMap");
const c = pod.spec.containers[0];
need(c.securityContext?.privileged === false && c.securityContext?.capabilities?.drop?.includes("ALL"),
  "daemonset: not privileged, drops ALL capabilities");
need((c.securityContext?.capabilities?.add ?? []).length > 0 && !c.securityContext.capabilities.add.includes("ALL"),
  "daemonset: adds the capabilities it needs one by one");
need(c.securityContext?.allowPrivilegeEscalation === false && c.securityContext?.readOnlyRootFilesystem === true,
  "daemonset: no privilege escalation, read-only root filesystem");
need(c.livenessProbe?.httpGet?.path === "/healthz" && c.readinessProbe?.httpGet?.path === "/healthz",
  "daemonset: liveness and readiness probes on /healthz");
need(c.resources?.requests?.cpu && c.resources?.requests?.memory && c.resources?.limits?.memory,
  "daemonset: CPU and memory requests, a memory limit");
need((pod.spec.tolerations ?? []).some((t) => t.operator === "Exists" && !t.key && !t.effect),
  "daemonset: tolerates every taint (runs on every node)");
const port = (c.ports ?? []).find((p) => p.name === "metrics");
need(port, "daemonset: a port named metrics");
const listen = /^listen:\s*"?[^"\n]*:(\d+)"?\s*$/m.exec(readFileSync(join(dir, "cgsight.yaml"), "utf8"));
need(listen && Number(listen[1]) === port?.containerPort, "daemonset: the metrics port is the configuration's listen port");
const ann = pod.metadata.annotations ?? {};
need(ann["prometheus.io/scrape"] === "true" && Number(ann["prometheus.io/port"]) === port?.containerPort &&
  ann["prometheus.io/path"] === "/metrics", "daemonset: prometheus.io annotations name the metrics port and path");
for (const p of [c.livenessProbe, c.readinessProbe])
  need(p?.httpGet?.port === "metrics" || p?.httpGet?.port === port?.containerPort, "daemonset: probes use the metrics port");
need(svc.spec.clusterIP === "None", "service: headless (clusterIP: None)");
need(selects(svc.spec.selector), "service: selects the DaemonSet's pods");
need(svc.spec.ports.some((p) => p.targetPort === "metrics" || p.targetPort === port?.containerPort), "service: targets the metrics port");
need(selects(pm.spec.selector?.matchLabels), "podmonitor: selects the DaemonSet's pods");
need(pm.spec.podMetricsEndpoints.every((e) => e.port === "metrics" && (e.path ?? "/metrics") === "/metrics"),
  "podmonitor: scrapes the metrics port's /metrics");
need(pm.spec.jobLabel && podLabels[pm.spec.jobLabel] === "cgsight",
  "podmonitor: jobLabel gives job=\"cgsight\", which the alerts select");
console.log(`${checked} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
