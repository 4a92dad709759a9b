// SPDX-License-Identifier: Apache-2.0
// Test peer for the request-span tests: an OTLP/HTTP trace receiver that
// decodes what it gets with the OpenTelemetry JS project's generated
// protobuf code (protobufjs, compiled from the published opentelemetry-proto
// schema), never with cgsight's own code.
//
//   node receiver.js OUT_DIR [--fail-first N] [--status CODE] [--no-decode]
//
// Prints "listening PORT" once bound (127.0.0.1, a free port). For every
// POST it appends to OUT_DIR:
//   raw.bin      the bytes as received (before any gunzip)
//   plain.bin    the bytes after gunzip
//   spans.jsonl  one JSON object per span: resource attributes, scope, span
//                (ids in lowercase hex, times as decimal strings, attributes
//                as a flat object)
//   requests.jsonl  one line per request: path, headers, status answered
// The first N requests are answered --status (default 503) instead of 200.
// With --no-decode (benchmarks) bodies are only counted (requests, bytes), so
// the receiver costs the machine as little as possible.
"use strict";
const http = require("http");
const fs = require("fs");
const path = require("path");
const zlib = require("zlib");
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js");

const Req = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const Resp = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;

const out = process.argv[2];
let failFirst = 0, failStatus = 503, decode = true;
for (let i = 3; i < process.argv.length; i++) {
  if (process.argv[i] === "--fail-first") failFirst = parseInt(process.argv[++i], 10);
  else if (process.argv[i] === "--status") failStatus = parseInt(process.argv[++i], 10);
  else if (process.argv[i] === "--no-decode") decode = false;
}
let nreq = 0, nspans = 0, nbytes = 0;

function hex(b) {
  return Buffer.from(b || []).toString("hex");
}

function anyValue(v) {
  if (!v) return null;
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.intValue !== undefined && v.intValue !== null) return Number(v.intValue.toString());
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  if (v.doubleValue !== undefined && v.doubleValue !== null) return v.doubleValue;
  return null;
}

function attrs(list) {
  const o = {};
  for (const kv of list || []) o[kv.key] = anyValue(kv.value);
  return o;
}

function handle(body, headers) {
  const plain = headers["content-encoding"] === "gzip" ? zlib.gunzipSync(body) : body;
  fs.appendFileSync(path.join(out, "plain.bin"), plain);
  const msg = Req.decode(plain);
  const lines = [];
  for (const rs of msg.resourceSpans || []) {
    const res = attrs(rs.resource && rs.resource.attributes);
    for (const ss of rs.scopeSpans || []) {
      const scope = ss.scope ? { name: ss.scope.name, version: ss.scope.version } : null;
      for (const s of ss.spans || []) {
        lines.push(JSON.stringify({
          resource: res,
          scope,
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          traceState: s.traceState || "",
          flags: s.flags || 0,
          name: s.name,
          kind: s.kind,
          start: s.startTimeUnixNano.toString(),
          end: s.endTimeUnixNano.toString(),
          attributes: attrs(s.attributes),
          status: s.status ? { code: s.status.code || 0, message: s.status.message || "" } : { code: 0, message: "" },
        }));
      }
    }
  }
  nspans += lines.length;
  if (lines.length) fs.appendFileSync(path.join(out, "spans.jsonl"), lines.join("\n") + "\n");
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    nreq++;
    nbytes += body.length;
    let status = 200;
    if (nreq <= failFirst) status = failStatus;
    if (decode) {
      fs.appendFileSync(path.join(out, "raw.bin"), body);
      fs.appendFileSync(path.join(out, "requests.jsonl"), JSON.stringify({
        method: req.method, url: req.url, headers: req.headers, bytes: body.length, status }) + "\n");
      if (status === 200) {
        try {
          handle(body, req.headers);
        } catch (e) {
          fs.appendFileSync(path.join(out, "errors.txt"), String(e && e.stack || e) + "\n");
          status = 400;
        }
      }
    }
    const payload = status === 200 ? Buffer.from(Resp.encode(Resp.create({})).finish()) : Buffer.from("unavailable");
    res.writeHead(status, { "Content-Type": status === 200 ? "application/x-protobuf" : "text/plain",
                            "Content-Length": payload.length });
    res.end(payload);
  });
});

process.on("SIGTERM", () => {
  fs.writeFileSync(path.join(out, "totals.json"), JSON.stringify({ requests: nreq, spans: nspans, bytes: nbytes }));
  process.exit(0);
});
setInterval(() => {
  fs.writeFileSync(path.join(out, "totals.json.tmp"), JSON.stringify({ requests: nreq, spans: nspans, bytes: nbytes }));
  fs.renameSync(path.join(out, "totals.json.tmp"), path.join(out, "totals.json"));
}, 200);

server.listen(0, "127.0.0.1", () => {
  console.log("listening " + server.address().port);
});
