/**
 * The two backends as each other's oracle: a stdlib model with the same weights (the init rules'
 * values, with batch-norm statistics, affine parameters and layer scales drawn at random so no
 * layer is an identity) and the same input runs through the emitted tfjs program and through
 * onnxruntime; max |tfjs - onnx| / max |onnx| must stay ≤ 1e-4.
 *
 * CI runs the models that take seconds on pure-JS tfjs; `npm run cross-backend` runs every one
 * (MEDG_CROSS_BACKEND=all) and prints the table it writes to MEDG_CROSS_REPORT.
 */
import * as tf from "@tensorflow/tfjs";
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { encodeModel, exportOnnx } from "../../src/backends/onnx/export.js";
import { emitTfjsProgram } from "../../src/backends/tfjs/emit.js";
import { compileFile, type CheckedModel } from "../../src/compile.js";
import { createForwardContext } from "../../src/runtime/kernels/context.js";
import type { ModelModule } from "../../src/runtime/program.js";
import { writeSafetensorsSync } from "../../src/weights/safetensors.js";
import { crossWeights, uniform } from "./cross-weights.js";

await tf.setBackend("cpu");

const scratch = mkdtempSync(join(tmpdir(), "medg-cross-"));
writeFileSync(join(scratch, "medg.json"), "{}\n");
const runtime = pathToFileURL(fileURLToPath(new URL("../../src/runtime/index.ts", import.meta.url))).href;

interface Spec {
  name: string;
  size: number;
  ci: boolean;
  batch?: number;
}

const models: Spec[] = [
  { name: "resnet18", size: 32, ci: true },
  { name: "resnet34", size: 32, ci: false },
  { name: "resnet50", size: 32, ci: false },
  { name: "resnet101", size: 32, ci: false },
  { name: "densenet121", size: 32, ci: true },
  { name: "densenet169", size: 32, ci: false },
  { name: "efficientnet_b0", size: 32, ci: true },
  { name: "efficientnet_b1", size: 32, ci: false },
  { name: "efficientnet_b3", size: 32, ci: false },
  { name: "convnext_tiny", size: 32, ci: true },
  { name: "convnext_small", size: 32, ci: false },
  { name: "deit_ti", size: 32, ci: true },
  { name: "deit_s", size: 32, ci: false },
  { name: "deit_b", size: 32, ci: false },
  { name: "vit_b_16", size: 32, ci: false },
  { name: "swin_t", size: 64, ci: false },
  { name: "swin_s", size: 64, ci: false },
];

const all = process.env.MEDG_CROSS_BACKEND === "all";
const report = process.env.MEDG_CROSS_REPORT;

export interface CrossResult {
  model: string;
  input: number[];
  params: number;
  maxAbsError: number;
  maxAbs: number;
  relative: number;
  tfjsMs: number;
  onnxMs: number;
}

function compileModel(name: string, size: number): CheckedModel {
  const file = join(scratch, `${name}.medg`);
  writeFileSync(file, `model ${name}_cross {\n  input image(3, ${size}, ${size})\n  backbone ${name}(classes=10)\n}\n`);
  const r = compileFile(file, { root: scratch });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => d.message).join("\n"));
  return r.models[0]!;
}

async function compare(spec: Spec): Promise<CrossResult> {
  const batch = spec.batch ?? 2;
  const input = [batch, 3, spec.size, spec.size];
  const x = uniform(input.reduce((a, b) => a * b, 1), 7, -1, 1);

  // tfjs: the emitted model.js on the values.
  const model = compileModel(spec.name, spec.size);
  const values = crossWeights(model, 0);
  const program = await emitTfjsProgram(model, { runtime });
  const dir = mkdtempSync(join(scratch, `${spec.name}-`));
  writeFileSync(join(dir, "model.js"), program.files["model.js"]!);
  const module = (await import(pathToFileURL(join(dir, "model.js")).href)) as ModelModule;
  const params: Record<string, tf.Tensor> = {};
  for (const p of model.graph.params.values()) params[p.name] = tf.tensor(values.get(p.name)!, [...p.shape]);
  let t0 = performance.now();
  const y = tf.tidy(() => module.forward(params as never, tf.tensor(x, input) as never, createForwardContext(tf as never)) as unknown as tf.Tensor);
  const got = (await y.data()) as Float32Array;
  const tfjsMs = performance.now() - t0;
  tf.dispose([y, ...Object.values(params)]);

  // ONNX: the same values through --weights, exported (bn folded) and run in onnxruntime.
  const weights = join(dir, "weights.safetensors");
  const written = writeSafetensorsSync(weights, [...values].map(([name, data]) => ({ name, shape: model.graph.params.get(name)!.shape, data })));
  if (!written.ok) throw new Error(written.error.message);
  const exported = exportOnnx(compileModel(spec.name, spec.size), { sourceText: "", weights: [{ file: weights }] });
  if (!exported.model) throw new Error(exported.diagnostics.map((d) => d.message).join("\n"));
  const session = await ort.InferenceSession.create(encodeModel(exported.model));
  t0 = performance.now();
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", x, input) });
  const onnxMs = performance.now() - t0;
  const want = out[session.outputNames[0]!]!.data as Float32Array;
  await session.release();

  expect(got.length).toBe(want.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  const params_ = [...model.graph.params.values()].filter((p) => !p.buffer).reduce((a, p) => a + p.shape.reduce((s, d) => s * d, 1), 0);
  return { model: spec.name, input, params: params_, maxAbsError: err, maxAbs: scale, relative: err / scale, tfjsMs, onnxMs };
}

describe("tfjs against onnxruntime, stdlib models", () => {
  for (const spec of models) {
    it.runIf(all || spec.ci)(`${spec.name} at ${spec.size}×${spec.size}`, async () => {
      const r = await compare(spec);
      if (report) appendFileSync(report, `${JSON.stringify(r)}\n`);
      expect(r.relative).toBeLessThanOrEqual(1e-4);
    }, 600_000);
  }
});
