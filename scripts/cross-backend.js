#!/usr/bin/env node
// Runs every stdlib model through the tfjs backend and through onnxruntime with the same weights
// and input (test/tfjs/cross-backend*.test.ts with MEDG_CROSS_BACKEND=all) and prints the table.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const report = join(mkdtempSync(join(tmpdir(), "medg-cross-")), "report.jsonl");
const run = spawnSync("npx", ["vitest", "run", "test/tfjs/cross-backend", ...process.argv.slice(2)], {
  cwd: root,
  stdio: ["ignore", "inherit", "inherit"],
  env: { ...process.env, MEDG_CROSS_BACKEND: "all", MEDG_CROSS_REPORT: report },
});
const rows = existsSync(report) ? readFileSync(report, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
const fmt = (v) => v.toExponential(2);
console.log("\n| model | input | parameters | max abs error | max abs output | relative | tfjs ms | onnxruntime ms |");
console.log("|---|---|---:|---:|---:|---:|---:|---:|");
for (const r of rows)
  console.log(`| ${r.model} | ${r.input.join("×")} | ${(r.params / 1e6).toFixed(1)}M | ${fmt(r.maxAbsError)} | ${r.maxAbs.toPrecision(3)} | ${fmt(r.relative)} | ${r.tfjsMs.toFixed(0)} | ${r.onnxMs.toFixed(0)} |`);
console.log(`\n${rows.length} models compared; tolerance 1e-4 (relative to the largest output)`);
process.exitCode = run.status ?? 1;
