#!/usr/bin/env node
// Parse+check timings of a ResNet-101 model: warm (in-process, caches filled) and cold (a fresh
// `medg check` process). Run with `npm run bench` after `npm run build`.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const { compileFile } = await import(join(root, "dist/compile.js"));

const dir = mkdtempSync(join(tmpdir(), "medg-bench-"));
const file = join(dir, "resnet101.medg");
writeFileSync(
  file,
  `model ct_resnet101 {
  task classify(classes=["normal", "hemorrhage"])
  input image(1, 512, 512) | gray_to_rgb
  normalize window(center=40, width=80)
  backbone resnet101
  head mlp(1024, dropout=.3)
  loss focal(gamma=2)
  optimizer adamw(weight_decay=1e-4)
  augment rotate(15) | flip(h)
  stage warmup: freeze backbone, epochs 3, lr 1e-3
  stage finetune: unfreeze all, epochs 20, lr 3e-5, schedule cosine
}
`,
);

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { min: s[0], median: q(0.5), p95: q(0.95), max: s[s.length - 1] };
}
const fmt = (o) => Object.entries(o).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(", ");

// Warm: the stdlib prelude is cached after the first call, as in an editor or a long-running process.
const check = () => {
  const r = compileFile(file, { root: dir });
  if (r.diagnostics.some((d) => d.severity === "error")) throw new Error(JSON.stringify(r.diagnostics, null, 2));
  return r;
};
const first = check();
for (let i = 0; i < 20; i++) check();
const warm = [];
for (let i = 0; i < 100; i++) {
  const t = performance.now();
  check();
  warm.push(performance.now() - t);
}
const m = first.models[0];
console.log(`model: resnet101 at 512x512, ${m.graph.nodes.length} operators, ${m.params.total.toLocaleString("en-US")} parameters`);
console.log(`warm parse+check (in-process, n=100):  ${fmt(stats(warm))}   goal < 20 ms`);

const cold = [];
const bin = join(root, "bin/medg.js");
for (let i = 0; i < 15; i++) {
  const t = performance.now();
  execFileSync(process.execPath, [bin, "check", file], { stdio: "pipe" });
  cold.push(performance.now() - t);
}
console.log(`cold \`medg check\` (new process, n=15): ${fmt(stats(cold))}   goal < 400 ms`);
const bare = [];
for (let i = 0; i < 15; i++) {
  const t = performance.now();
  execFileSync(process.execPath, ["-e", "0"], { stdio: "pipe" });
  bare.push(performance.now() - t);
}
console.log(`  for scale, \`node -e 0\` (n=15):        ${fmt(stats(bare))}`);
