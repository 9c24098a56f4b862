#!/usr/bin/env node
// Prints the segmentation zoo's parameters and MACs beside its reference figures, as markdown
// (test/seg/seg-table.test.ts computes and checks the rows and writes the table to MEDG_SEG_TABLE).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const table = join(mkdtempSync(join(tmpdir(), "medg-seg-table-")), "table.md");
const run = spawnSync("npx", ["vitest", "run", "test/seg/seg-table.test.ts"], {
  cwd: root,
  stdio: ["ignore", "inherit", "inherit"],
  env: { ...process.env, MEDG_SEG_TABLE: table },
});
if (existsSync(table)) console.log(`\n${readFileSync(table, "utf8")}\nMACs: multiply-accumulates per image (batch 1) at the input size shown.`);
process.exitCode = run.status ?? 1;
