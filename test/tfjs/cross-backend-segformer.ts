/**
 * The segmentation transformers (SegFormer, Swin-UNet) through both backends with the same weights
 * and input, as test/tfjs/cross-backend.test.ts does for the classification backbones: the emitted
 * tfjs program against onnxruntime, max |tfjs - onnx| / max |onnx| ≤ 1e-4. Batch-norm statistics
 * and every norm's affine parameters are drawn at random so no layer is an identity, and attention
 * tables are too, so the relative position bias matters.
 */
import * as tf from "@tensorflow/tfjs";
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as ort from "onnxruntime-node";
import { encodeModel, exportOnnx } from "../../src/backends/onnx/export.js";
import { emitTfjsProgram } from "../../src/backends/tfjs/emit.js";
import { compileFile, type CheckedModel } from "../../src/compile.js";
import { createForwardContext } from "../../src/runtime/kernels/context.js";
import type { ModelModule } from "../../src/runtime/program.js";
import { writeSafetensorsSync } from "../../src/weights/safetensors.js";
import { crossWeights, uniform } from "./cross-weights.js";

await tf.setBackend("cpu");

const scratch = mkdtempSync(join(tmpdir(), "medg-cross-seg-"));
writeFileSync(join(scratch, "medg.json"), "{}\n");
const runtime = pathToFileURL(fileURLToPath(new URL("../../src/runtime/index.ts", import.meta.url))).href;

export interface SegSpec {
  /** The stdlib def, applied as `backbone NAME(classes=…)`. */
  name: string;
  size: number;
  ci: boolean;
  classes?: number;
  batch?: number;
}

/** Runs every spec with MEDG_CROSS_BACKEND=all (`npm run cross-backend`), else only the CI ones. */
export const runAll = process.env.MEDG_CROSS_BACKEND === "all";
const report = process.env.MEDG_CROSS_REPORT;

function compileModel(spec: SegSpec): CheckedModel {
  const file = join(scratch, `${spec.name}-${spec.size}.medg`);
  writeFileSync(file, `model ${spec.name}_cross {\n  input image(3, ${spec.size}, ${spec.size})\n  backbone ${spec.name}(classes=${spec.classes ?? 4})\n}\n`);
  const r = compileFile(file, { root: scratch });
  const errors = r.diagnostics.filter((d) => d.severity === "error" && d.span.file === file);
  if (errors.length || !r.models[0]?.complete) throw new Error(errors.map((d) => d.message).join("\n") || "model incomplete");
  return r.models[0]!;
}

export interface SegCrossResult {
  model: string;
  input: number[];
  output: number[];
  params: number;
  maxAbsError: number;
  maxAbs: number;
  relative: number;
  tfjsMs: number;
  onnxMs: number;
}

export async function compareSeg(spec: SegSpec): Promise<SegCrossResult> {
  const batch = spec.batch ?? 2;
  const input = [batch, 3, spec.size, spec.size];
  const x = uniform(input.reduce((a, b) => a * b, 1), 7, -1, 1);

  const model = compileModel(spec);
  const values = crossWeights(model, 0);
  const program = await emitTfjsProgram(model, { runtime });
  const dir = mkdtempSync(join(scratch, `${spec.name}-`));
  writeFileSync(join(dir, "model.js"), program.files["model.js"]!);
  const module = (await import(pathToFileURL(join(dir, "model.js")).href)) as ModelModule;
  const params: Record<string, tf.Tensor> = {};
  for (const p of model.graph.params.values()) params[p.name] = tf.tensor(values.get(p.name)!, [...p.shape]);
  let t0 = performance.now();
  const y = tf.tidy(() => module.forward(params as never, tf.tensor(x, input) as never, createForwardContext(tf as never)) as unknown as tf.Tensor);
  const output = [...y.shape];
  const got = (await y.data()) as Float32Array;
  const tfjsMs = performance.now() - t0;
  tf.dispose([y, ...Object.values(params)]);

  const weights = join(dir, "weights.safetensors");
  const written = writeSafetensorsSync(weights, [...values].map(([name, data]) => ({ name, shape: model.graph.params.get(name)!.shape, data })));
  if (!written.ok) throw new Error(written.error.message);
  const exported = exportOnnx(compileModel(spec), { sourceText: "", weights: [{ file: weights }] });
  if (!exported.model) throw new Error(exported.diagnostics.map((d) => d.message).join("\n"));
  const session = await ort.InferenceSession.create(encodeModel(exported.model));
  t0 = performance.now();
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", x, input) });
  const onnxMs = performance.now() - t0;
  const want = out[session.outputNames[0]!]!.data as Float32Array;
  await session.release();

  let err = got.length === want.length ? 0 : Infinity;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  const count = [...model.graph.params.values()].filter((p) => !p.buffer).reduce((a, p) => a + p.shape.reduce((s, d) => s * d, 1), 0);
  const result = { model: spec.name, input, output, params: count, maxAbsError: err, maxAbs: scale, relative: err / scale, tfjsMs, onnxMs };
  if (report) appendFileSync(report, `${JSON.stringify(result)}\n`);
  return result;
}
