import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileFile, type CompileResult } from "../../src/compile.js";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";

const dir = mkdtempSync(join(tmpdir(), "medg-test-"));
let counter = 0;

/** Compiles source text as a file in a fresh temporary project. */
export function compileText(text: string, name = `t${counter++}.medg`): CompileResult {
  const file = join(dir, name);
  writeFileSync(file, text);
  return compileFile(file, { root: dir });
}

export function errors(r: CompileResult): Diagnostic[] {
  return r.diagnostics.filter((d) => d.severity === "error");
}

/** "code line:col message" lines, for readable assertions. */
export function describeDiagnostics(r: CompileResult): string[] {
  return r.diagnostics.map((d) => `${d.code} ${d.span.start.line}:${d.span.start.col} ${d.message}`);
}

export interface Manifest {
  model: string;
  params: number;
  feature_width: number;
  macs: number;
  macs_input: number[];
  entries: [string, number[], "param" | "buffer"][];
}

export function readManifest(name: string): Manifest {
  return JSON.parse(readFileSync(new URL(`../reference/${name}.json`, import.meta.url), "utf8")) as Manifest;
}

/**
 * Builds `backbone NAME(classes=1000)` at the manifest's resolution and returns what a test compares
 * with the reference: parameter count, MACs, and "name shape kind" lines (role prefix removed).
 */
export function zooModel(name: string, manifest: Manifest, args = "classes=1000") {
  const [, c, h, w] = manifest.macs_input;
  const r = compileText(`model m {\n  input image(${c}, ${h}, ${w})\n  backbone ${name}(${args})\n}\n`);
  const m = r.models[0]!;
  return {
    result: r,
    model: m,
    entries: [...m.graph.params.values()].map((p) => `${p.name.replace(/^backbone\./, "")} ${p.shape.join("x")} ${p.buffer ? "buffer" : "param"}`),
    reference: manifest.entries.map(([n, shape, kind]) => `${n} ${shape.join("x")} ${kind}`),
  };
}
