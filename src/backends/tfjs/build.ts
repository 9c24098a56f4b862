/**
 * Writes a tfjs program folder for one model: the emitted files and `init.safetensors`, the
 * parameters' starting values (weights files named on the roles or given with --weights, then the
 * reference init rules for the rest), all under their IR names.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Diagnostic } from "../../diagnostics/diagnostic.js";
import { packageRoot } from "../../package-root.js";
import type { CompiledModel } from "../../semantics/model.js";
import { initialValues } from "../../weights/init.js";
import { loadWeights, weightSources } from "../../weights/match.js";
import { writeSafetensorsSync } from "../../weights/safetensors.js";
import { emitTfjsProgram, type TfjsEmitOptions, type TfjsProgram } from "./emit.js";

export interface TfjsBuildOptions extends Omit<TfjsEmitOptions, "runtime"> {
  outDir: string;
  /** Import specifier of the runtime; default: `medg/runtime` when it resolves from outDir, else a file URL. */
  runtime?: string;
  seed?: number;
  weights?: readonly { role?: string; file: string }[];
}

export interface TfjsBuildResult {
  program: TfjsProgram;
  files: string[];
  diagnostics: Diagnostic[];
  /** Parameters whose starting values came from weights files. */
  loaded: number;
}

/** `medg/runtime` if a program in `dir` can import it by name (medg installed or the package itself), else its file URL. */
export function runtimeSpecifier(dir: string): string {
  try {
    createRequire(join(dir, "noop.js")).resolve("medg/runtime");
    return "medg/runtime";
  } catch {
    return pathToFileURL(join(packageRoot(), "dist", "runtime", "index.js")).href;
  }
}

export async function buildTfjsProgram(model: CompiledModel, options: TfjsBuildOptions): Promise<TfjsBuildResult> {
  const sources = weightSources(model, options.weights ?? []);
  const loaded = sources.length ? loadWeights(model, sources) : { values: new Map<string, Float32Array>(), diagnostics: [] };
  const diagnostics = loaded.diagnostics.filter((d) => d.severity === "error");
  mkdirSync(options.outDir, { recursive: true });
  const { outDir, seed, weights: _weights, runtime, ...emit } = options;
  const program = await emitTfjsProgram(model, { ...emit, runtime: runtime ?? runtimeSpecifier(outDir) });
  if (diagnostics.length) return { program, files: [], diagnostics, loaded: 0 };
  const values = initialValues(model.graph, { seed: seed ?? 0, skip: loaded.values });
  for (const [name, value] of loaded.values) values.set(name, value);
  const files: string[] = [];
  for (const [name, text] of Object.entries(program.files)) {
    writeFileSync(join(outDir, name), text);
    files.push(join(outDir, name));
  }
  const init = join(outDir, "init.safetensors");
  const tensors = [...model.graph.params.values()].map((p) => ({ name: p.name, shape: p.shape, data: values.get(p.name)! }));
  const written = writeSafetensorsSync(init, tensors, { model: model.name, seed: String(seed ?? 0) });
  if (!written.ok) throw new Error(written.error.message);
  files.push(init);
  return { program, files, diagnostics, loaded: loaded.values.size };
}
