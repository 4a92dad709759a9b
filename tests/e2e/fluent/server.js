// SPDX-License-Identifier: Apache-2.0
//
// A real Fluentd Forward server for the log pipeline's end-to-end tests:
// @fluent-org/logger's FluentServer (the fluent organisation's Node
// implementation: Message, Forward, PackedForward and CompressedPackedForward
// modes, `chunk` acks, the shared-key handshake). Every entry it receives is
// appended to --out as one JSON line {"tag", "time": [seconds, nanoseconds],
// "record"}.
//
// usage: node server.js --port N --out FILE [--ready FILE]
//          [--shared-key KEY --server-hostname NAME] [--no-ack]
//   --ready FILE   written with the port once listening
//   --no-ack       a server that never acknowledges (the ack is replaced by a
//                  message the client ignores)
// SIGTERM/SIGINT: stop listening, flush --out, exit 0.
"use strict";

const fs = require("fs");
const path = require("path");
const { FluentServer } = require("@fluent-org/logger");

function args(argv) {
  const a = {};
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, "");
    if (k === "no-ack") a[k] = true;
    else a[k] = argv[++i];
  }
  return a;
}

const a = args(process.argv);
if (!a.out) {
  console.error("server.js: --out FILE is required");
  process.exit(2);
}

if (a["no-ack"]) {
  // FluentServer looks generateAck up on the protocol module at call time.
  const protocol = require(path.join(require.resolve("@fluent-org/logger"), "..", "protocol"));
  protocol.generateAck = (chunk) => ({ noack: chunk });
}

const out = fs.createWriteStream(a.out, { flags: "a" });
const opts = { listenOptions: { host: "127.0.0.1", port: Number(a.port || 0) } };
if (a["shared-key"]) {
  opts.security = { serverHostname: a["server-hostname"] || "fluent-e2e", sharedKey: a["shared-key"] };
}
const server = new FluentServer(opts);
let entries = 0;
server.on("entry", (tag, time, record) => {
  const t = typeof time === "number" ? [Math.floor(time), 0] : [time.epoch, time.nano];
  out.write(JSON.stringify({ tag, time: t, record }) + "\n");
  entries++;
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  // Connections are ended; what was received is on disk before we exit.
  server.close().then(() => out.end(() => process.exit(0)));
  setTimeout(() => out.end(() => process.exit(0)), 3000).unref();
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

server.listen().then(() => {
  if (a.ready) fs.writeFileSync(a.ready, String(server.port));
  console.error(`fluent server on 127.0.0.1:${server.port}${a["no-ack"] ? " (never acks)" : ""}` +
    `${opts.security ? " (shared key)" : ""}`);
});
setInterval(() => {}, 1 << 30);
