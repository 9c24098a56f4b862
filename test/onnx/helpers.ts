/**
 * Shared by the ONNX tests: compile text in a scratch project, export a model, run the bytes in
 * onnxruntime on a deterministic random input.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { encodeModel, exportOnnx, type ExportOptions, type ExportResult } from "../../src/backends/onnx/export.js";
import { compileFile, type CheckedModel } from "../../src/compile.js";
import type { Diagnostic } from "../../src/diagnostics/diagnostic.js";

export const scratch = mkdtempSync(join(tmpdir(), "medg-onnx-"));
writeFileSync(join(scratch, "medg.json"), "{}\n");
let counter = 0;

export interface Exported extends ExportResult {
  compiled: CheckedModel;
  compileDiagnostics: Diagnostic[];
  bytes: Uint8Array;
}

/** Compiles `text` and exports its first model (or `model`); throws on any error, so a test shows it. */
export function exportText(text: string, options: Partial<ExportOptions> & { model?: string } = {}): Exported {
  const file = join(scratch, `m${counter++}.medg`);
  writeFileSync(file, text);
  const r = compileFile(file, { root: scratch, ...(options.weights ? { weights: options.weights } : {}) });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("\n"));
  const compiled = options.model ? r.models.find((m) => m.name === options.model)! : r.models[0]!;
  return exportModel(compiled, text, options, r.diagnostics);
}

export function exportModel(compiled: CheckedModel, text: string, options: Partial<ExportOptions> = {}, compileDiagnostics: Diagnostic[] = []): Exported {
  const result = exportOnnx(compiled, { sourceText: text, ...options });
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length || !result.model) throw new Error(errors.map((d) => `${d.code} ${d.message}`).join("\n") || "no model");
  return { ...result, compiled, compileDiagnostics, bytes: encodeModel(result.model) };
}

/** Uniform in [-1, 1) from a small linear congruential generator: the same every run. */
export function randomData(size: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: size }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

export const numel = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Runs `bytes` on `input` (random of `shape` when only a shape is given); outputs by name. */
export async function run(bytes: Uint8Array, shape: readonly number[], data?: Float32Array): Promise<Record<string, { dims: number[]; data: Float32Array }>> {
  const session = await ort.InferenceSession.create(bytes);
  const input = new ort.Tensor("float32", data ?? randomData(numel(shape)), [...shape]);
  const out = await session.run({ [session.inputNames[0]!]: input });
  const result: Record<string, { dims: number[]; data: Float32Array }> = {};
  for (const name of session.outputNames) result[name] = { dims: [...out[name]!.dims], data: out[name]!.data as Float32Array };
  await session.release();
  return result;
}

/** The IR's shape of a graph value with the batch dim set. */
export function withBatch(shape: readonly (number | string)[], batch: number): number[] {
  return shape.map((d, i) => (i === 0 ? batch : (d as number)));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
