#!/usr/bin/env node
// Repeated compiles of the language server benchmark's file, for `node --cpu-prof bench/profile.js`.
// Prints per-compile timings; MEDG_PROFILE_N sets the count (default 200).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { unetSource } from "./unet-source.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const { compileFile } = await import(join(root, "dist/compile.js"));
const dir = mkdtempSync(join(tmpdir(), "medg-profile-"));
writeFileSync(join(dir, "medg.json"), "{}\n");
const file = join(dir, "organ_seg.medg");
const text = unetSource();
writeFileSync(file, text);
const n = Number(process.env.MEDG_PROFILE_N ?? 200);
const times = [];
for (let i = 0; i < n; i++) {
  const t = performance.now();
  compileFile(file, { root: dir, text: i % 2 ? text : text.replace("lr=3e-4", "lr=3e-5") });
  times.push(performance.now() - t);
}
const s = times.slice(Math.min(20, n - 1)).sort((a, b) => a - b);
const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1);
console.log(`compileFile n=${s.length}: min ${s[0].toFixed(1)} p50 ${q(0.5)} p95 ${q(0.95)} ms`);
