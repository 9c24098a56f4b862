/**
 * Shared by the SegFormer and Swin-UNet tests: the reference manifests of test/seg/reference, weights
 * computed from parameter names (the values reference/segformer_swin_unet.py gave the PyTorch
 * models whose outputs are in test/seg/fixtures), and a model exported with weights given for a
 * role and run in onnxruntime.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import type { CheckedModel } from "../../src/compile.js";
import { swinRelativePositionIndex } from "../../src/ir/ops/transformer.js";
import { readSafetensorsSync, writeSafetensorsSync } from "../../src/weights/safetensors.js";
import { compileText } from "../helpers/compile.js";
import { exportText, randomData, run } from "../onnx/helpers.js";

export interface SegManifest {
  model: string;
  source: string;
  params: number;
  encoder_params?: number;
  entries: [string, number[], "param" | "buffer"][];
}

export function readSegManifest(name: string): SegManifest {
  return JSON.parse(readFileSync(new URL(`./reference/${name}.json`, import.meta.url), "utf8")) as SegManifest;
}

/** "name shape kind" lines of a model's parameters and buffers, `prefix` removed. */
export function entryLines(model: CheckedModel, prefix = "backbone."): string[] {
  return [...model.graph.params.values()].map((p) => `${p.name.startsWith(prefix) ? p.name.slice(prefix.length) : p.name} ${p.shape.join("x")} ${p.buffer ? "buffer" : "param"}`);
}

export function manifestLines(m: SegManifest, keep: (name: string) => boolean = () => true): string[] {
  return m.entries.filter(([n]) => keep(n)).map(([n, shape, kind]) => `${n} ${shape.join("x")} ${kind}`);
}

function fnv1a(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/** reference/segformer_swin_unet.py's synthetic(): values from randomData seeded by the name's FNV-1a hash. */
export function synthetic(name: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = randomData(n, fnv1a(name));
  if (name.endsWith("running_var") || (name.endsWith(".weight") && shape.length === 1)) return u.map((v) => 1 + 0.5 * v);
  if (name.endsWith("relative_position_bias_table")) return u;
  if (shape.length >= 2) return u.map((v) => v / Math.sqrt(n / shape[0]!));
  return u.map((v) => 0.2 * v);
}

const scratch = mkdtempSync(join(tmpdir(), "medg-seg-"));
let counter = 0;

/** Writes a safetensors file; returns its path. */
export function writeWeights(tensors: [string, readonly number[], Float32Array?][]): string {
  const file = join(scratch, `w${counter++}.safetensors`);
  const written = writeSafetensorsSync(
    file,
    tensors.map(([name, shape, data]) => ({ name, shape, data: data ?? new Float32Array(shape.reduce((a, b) => a * b, 1)) })),
  );
  if (!written.ok) throw new Error(written.error.message);
  return file;
}

/**
 * Exports `text` with the synthetic weights of every parameter and buffer, written under the
 * names relative to `backbone` and given as `--weights backbone=FILE`; runs it on randomData(…, 1)
 * and compares with the PyTorch output in fixtures/NAME.expected.safetensors.
 */
export async function expectPyTorchOutput(text: string, fixture: string, size: number): Promise<number> {
  const probe = compileText(text).models[0]!;
  const tensors: [string, readonly number[], Float32Array][] = [];
  for (const p of probe.graph.params.values()) {
    const name = p.name.replace(/^backbone\./, "");
    // A checkpoint stores the index buffers too, with the values the op computes.
    const index = name.endsWith("relative_position_index");
    tensors.push([name, p.shape, index ? Float32Array.from(swinRelativePositionIndex(p.node.attrs.window as [number, number])) : synthetic(name, p.shape)]);
  }
  const exported = exportText(text, { weights: [{ role: "backbone", file: writeWeights(tensors) }] });
  const weightDiagnostics = exported.compileDiagnostics.filter((d) => d.code.startsWith("MEDG60"));
  expect(weightDiagnostics.map((d) => d.message)).toEqual([]);
  expect(exported.loaded).toBe(tensors.length);
  const shape = [1, 3, size, size];
  const out = Object.values(await run(exported.bytes, shape, randomData(3 * size * size, 1)))[0]!;
  const file = readSafetensorsSync(fileURLToPath(new URL(`./fixtures/${fixture}.expected.safetensors`, import.meta.url)));
  if (!file.ok) throw new Error(file.error.message);
  const want = file.value.tensors.get("output")!;
  expect(out.dims).toEqual([...want.shape]);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.data.length; i++) {
    err = Math.max(err, Math.abs(out.data[i]! - want.data[i]!));
    scale = Math.max(scale, Math.abs(want.data[i]!));
  }
  return err / scale;
}
