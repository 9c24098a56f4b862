/** Builds a tfjs program from medg text into a scratch folder and loads it, for the training tests. */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildTfjsProgram } from "../../src/backends/tfjs/build.js";
import type { TrainCommandIo } from "../../src/cli/train.js";
import { compileFile } from "../../src/compile.js";
import { loadCheckpoint } from "../../src/runtime/checkpoint.js";
import type { ModelModule, ProgramPlan } from "../../src/runtime/program.js";
import type { TrainIo } from "../../src/runtime/progress.js";
import type { Tf } from "../../src/runtime/types.js";

await tf.setBackend("cpu");
export const tfjs = tf as unknown as Tf;
export { tf };

export const runtimeUrl = pathToFileURL(fileURLToPath(new URL("../../src/runtime/index.ts", import.meta.url))).href;
export const scratch = mkdtempSync(join(tmpdir(), "medg-tfjs-"));
writeFileSync(join(scratch, "medg.json"), "{}\n");
let counter = 0;

export interface Program {
  dir: string;
  model: ModelModule;
  plan: ProgramPlan;
  initial: Map<string, Float32Array>;
}

export async function buildProgram(text: string, seed = 0): Promise<Program> {
  const name = `p${counter++}`;
  const file = join(scratch, `${name}.medg`);
  writeFileSync(file, text);
  const r = compileFile(file, { root: scratch });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("\n"));
  const dir = join(scratch, `${name}-tfjs`);
  const built = await buildTfjsProgram(r.models[0]!, { outDir: dir, runtime: runtimeUrl, seed, sourceText: text });
  const model = (await import(pathToFileURL(join(dir, "model.js")).href)) as ModelModule;
  return { dir, model, plan: built.program.plan, initial: loadCheckpoint(join(dir, "init.safetensors")).values };
}

/** Collects the log; no progress line. */
export function quietIo(): TrainIo & { lines: string[] } {
  const lines: string[] = [];
  return { lines, out: (t) => lines.push(t), err: (t) => lines.push(`error: ${t}`) };
}

/** The CLI commands' io, rooted at the scratch folder, collecting everything they print. */
export function commandIo(): TrainCommandIo & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    cwd: scratch,
    out: (t) => lines.push(t),
    err: (t) => lines.push(`error: ${t}`),
    compile: (f) => compileFile(resolve(scratch, f), { root: scratch }),
    print: (ds) => ds.forEach((d) => lines.push(`${d.severity}: ${d.code} ${d.message}`)),
    readSource: (f) => readFileSync(f, "utf8"),
  };
}
