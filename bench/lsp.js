#!/usr/bin/env node
// Language-server latency on a ~500-line file: a U-Net whose encoder is ResNet-101 written out block
// by block. Times didChange -> publishDiagnostics, hover and completion through a real client over
// stdio. Run with `npm run bench:lsp` after `npm run build`.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { unetSource } from "./unet-source.js";
import { createProtocolConnection, StreamMessageReader, StreamMessageWriter } from "vscode-languageserver-protocol/node.js";

const root = fileURLToPath(new URL("..", import.meta.url));

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { p50: q(0.5), p95: q(0.95), max: s[s.length - 1] };
}
const fmt = (o) => Object.entries(o).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(", ");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const dir = mkdtempSync(join(tmpdir(), "medg-bench-lsp-"));
writeFileSync(join(dir, "medg.json"), "{}\n");
const file = join(dir, "organ_seg.medg");
const text = unetSource();
writeFileSync(file, text);
const uri = pathToFileURL(file).href;
const lines = text.split("\n");
const positionOf = (needle, delta = 0) => {
  const i = text.indexOf(needle) + delta;
  const before = text.slice(0, i);
  return { line: before.split("\n").length - 1, character: i - before.lastIndexOf("\n") - 1 };
};

// For scale: the compiler alone on the same text, in this process (what `medg check` does warm).
const { compileFile } = await import(join(root, "dist/compile.js"));
const alone = [];
for (let i = 0; i < 120; i++) {
  const t = performance.now();
  compileFile(file, { root: dir, text: i % 2 ? text : text.replace("lr=3e-4", "lr=3e-5") });
  if (i >= 20) alone.push(performance.now() - t);
}

const child = spawn(process.execPath, [...(process.env.MEDG_BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean), join(root, "dist/lsp/main.js")], { stdio: ["pipe", "pipe", "inherit"] });
const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
const waiting = new Map();
let lastDiagnostics;
connection.onNotification("textDocument/publishDiagnostics", (p) => {
  lastDiagnostics = p;
  const resolve = waiting.get(p.version);
  if (resolve) {
    waiting.delete(p.version);
    resolve(performance.now());
  }
});
connection.onNotification("window/logMessage", (p) => p.type === 1 && console.error(p.message));
connection.listen();
const diagnosticsOf = (version) => new Promise((resolve) => waiting.set(version, resolve));

await connection.sendRequest("initialize", { processId: process.pid, rootUri: pathToFileURL(dir).href, capabilities: {} });
await connection.sendNotification("initialized", {});
let version = 1;
const opened = diagnosticsOf(version);
await connection.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "medg", version, text } });
await opened;
const errors = lastDiagnostics.diagnostics.filter((d) => d.severity === 1);
if (errors.length) throw new Error(`the benchmark file has errors: ${JSON.stringify(errors, null, 2)}`);
console.log(`file: ${lines.length} lines, ${text.length} characters`);
console.log(`compileFile alone, in-process (n=100):   ${fmt(stats(alone))}`);

// A keystroke in the optimizer's lr, alternating so the text stays valid; one edit after each result
// and a pause longer than the debounce window, as typing at a few characters a second gives.
const lr = positionOf("lr=3e-4", 6);
async function edit(pauseMs) {
  version++;
  const digit = version % 2 === 0 ? "5" : "4";
  const done = diagnosticsOf(version);
  const sent = performance.now();
  await connection.sendNotification("textDocument/didChange", {
    textDocument: { uri, version },
    contentChanges: [{ range: { start: lr, end: { line: lr.line, character: lr.character + 1 } }, text: digit }],
  });
  const latency = (await done) - sent;
  await sleep(pauseMs);
  return latency;
}
for (let i = 0; i < 20; i++) await edit(80);
const change = [];
for (let i = 0; i < 100; i++) change.push(await edit(80));
console.log(`didChange -> publishDiagnostics (n=100):  ${fmt(stats(change))}   goal p95 < 30 ms`);

// A burst: edits 10 ms apart coalesce; measured from the burst's last edit to its diagnostics.
const burst = [];
for (let b = 0; b < 20; b++) {
  let last = 0;
  for (let i = 0; i < 5; i++) {
    version++;
    const digit = version % 2 === 0 ? "5" : "4";
    const done = i === 4 ? diagnosticsOf(version) : undefined;
    const sent = performance.now();
    await connection.sendNotification("textDocument/didChange", {
      textDocument: { uri, version },
      contentChanges: [{ range: { start: lr, end: { line: lr.line, character: lr.character + 1 } }, text: digit }],
    });
    if (done) last = (await done) - sent;
    else await sleep(10);
  }
  burst.push(last);
  await sleep(100);
}
console.log(`burst of 5 edits 10 ms apart, last edit -> diagnostics (n=20): ${fmt(stats(burst))}   (includes the debounce window)`);

async function timeRequests(method, positions, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const position = positions[i % positions.length];
    const t = performance.now();
    const r = await connection.sendRequest(method, { textDocument: { uri }, position, context: { triggerKind: 1 } });
    times.push(performance.now() - t);
    if (i < positions.length && (r === null || (Array.isArray(r) && r.length === 0))) throw new Error(`${method} at ${JSON.stringify(position)} answered nothing`);
  }
  return stats(times);
}

const hoverAt = [positionOf("conv(64, 7", 1), positionOf("double_conv(256)", 2), positionOf("| layer3:", 4), positionOf("        residual(", 10), positionOf("  decoder", 4), positionOf("adamw", 2), positionOf("dec2:", 1)];
await timeRequests("textDocument/hover", hoverAt, 50);
console.log(`hover (n=300):       ${fmt(await timeRequests("textDocument/hover", hoverAt, 300))}   goal p95 < 10 ms`);
const completeAt = [positionOf("loss ", 5), positionOf("adamw(", 6), positionOf("| relu", 2), positionOf("from c4", 5), positionOf("freeze backbone", 7)];
await timeRequests("textDocument/completion", completeAt, 50);
console.log(`completion (n=300):  ${fmt(await timeRequests("textDocument/completion", completeAt, 300))}   goal p95 < 10 ms`);

await connection.sendRequest("shutdown");
await connection.sendNotification("exit");
connection.dispose();
