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
    if (obj) check(res, obj);
  }
}
// The generated ConfigMap, as kustomize would build it.
for (const gen of kust.configMapGenerator ?? []) {
  const data = {};
  for (const f of gen.files) data[f] = readFileSync(join(dir, f), "utf8");
  check(`configMapGenerator ${gen.name}`, { apiVersion: "v1", kind: "ConfigMap", metadata: { name: gen.name, namespace: kust.namespace }, data });
}
// The DaemonSet mounts the ConfigMap the generator makes, and probes the port it exposes.
const ds = parseAllDocuments(readFileSync(join(dir, "kubernetes/daemonset.yaml"), "utf8"))[0].toJS();
const vol = ds.spec.template.spec.volumes.find((v) => v.configMap);
if (!vol || !(kust.configMapGenerator ?? []).some((g) => g.name === vol.configMap.name)) {
  console.log("FAIL daemonset: its config volume does not name the generated ConfigMap"); failures++;
}
const c = ds.spec.template.spec.containers[0];
if (c.securityContext?.privileged !== false || !c.securityContext?.capabilities?.drop?.includes("ALL")) {
  console.log("FAIL daemonset: must not be privileged and must drop ALL capabilities"); failures++;
}
console.log(`${checked} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
