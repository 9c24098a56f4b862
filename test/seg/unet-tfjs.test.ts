/**
 * The U-Net family in both backends: the emitted tfjs program and onnxruntime, on the same weights
 * (the init rules' values, norm statistics, affine parameters and PReLU slopes made random) and input,
 * agree within 1e-4 of the output's largest magnitude.
 */
import * as tf from "@tensorflow/tfjs";
import { mkdtempSync, writeFileSync } from "node:fs";
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
import { initialValues } from "../../src/weights/init.js";
import { writeSafetensorsSync } from "../../src/weights/safetensors.js";
import { randomData } from "../onnx/helpers.js";
import { smallCases } from "./unet-models.js";

await tf.setBackend("cpu");

const scratch = mkdtempSync(join(tmpdir(), "medg-unet-tfjs-"));
writeFileSync(join(scratch, "medg.json"), "{}\n");
const runtime = pathToFileURL(fileURLToPath(new URL("../../src/runtime/index.ts", import.meta.url))).href;

function compile(text: string, name: string): CheckedModel {
  const file = join(scratch, `${name}.medg`);
  writeFileSync(file, text);
  const r = compileFile(file, { root: scratch });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => d.message).join("\n"));
  return r.models[0]!;
}

/** Init values, with the norms' statistics and affine parameters random so none is an identity. */
function weightsFor(model: CheckedModel): Map<string, Float32Array> {
  const values = initialValues(model.graph, { seed: 0 });
  let k = 0;
  for (const [name, v] of values) {
    k++;
    const op = model.graph.params.get(name)!.node.op;
    const u = randomData(v.length, k);
    if (name.endsWith("running_var")) values.set(name, u.map((x) => 1 + 0.5 * x));
    else if (name.endsWith("running_mean")) values.set(name, u.map((x) => 0.3 * x));
    else if ((op === "bn" || op === "instance_norm") && name.endsWith(".weight")) values.set(name, u.map((x) => 1 + 0.5 * x));
    else if ((op === "bn" || op === "instance_norm") && name.endsWith(".bias")) values.set(name, u.map((x) => 0.2 * x));
    else if (op === "prelu") values.set(name, u.map((x) => 0.25 + 0.2 * x));
  }
  return values;
}

describe("U-Net family: tfjs against onnxruntime", () => {
  it.each(smallCases)("$fixture", async (m) => {
    const size = m.size;
    const text = `model m {\n  input image(${m.channels}, ${size}, ${size})\n  ${m.roles}\n}\n`;
    const input = [2, m.channels, size, size];
    const x = randomData(input.reduce((a, b) => a * b, 1), 7);

    const model = compile(text, `a${m.fixture}`);
    const values = weightsFor(model);
    const program = await emitTfjsProgram(model, { runtime });
    const dir = mkdtempSync(join(scratch, `${m.fixture}-`));
    writeFileSync(join(dir, "model.js"), program.files["model.js"]!);
    const module = (await import(pathToFileURL(join(dir, "model.js")).href)) as ModelModule;
    const params: Record<string, tf.Tensor> = {};
    for (const p of model.graph.params.values()) params[p.name] = tf.tensor(values.get(p.name)!, [...p.shape]);
    const ys = tf.tidy(() => {
      const y = module.forward(params as never, tf.tensor(x, input) as never, createForwardContext(tf as never)) as unknown as tf.Tensor | tf.Tensor[];
      return Array.isArray(y) ? y : [y];
    });
    const got = await Promise.all(ys.map((y) => y.data() as Promise<Float32Array>));
    tf.dispose([...ys, ...Object.values(params)]);

    const weights = join(dir, "weights.safetensors");
    const written = writeSafetensorsSync(weights, [...values].map(([name, data]) => ({ name, shape: model.graph.params.get(name)!.shape, data })));
    if (!written.ok) throw new Error(written.error.message);
    const exported = exportOnnx(compile(text, `b${m.fixture}`), { sourceText: "", weights: [{ file: weights }] });
    if (!exported.model) throw new Error(exported.diagnostics.map((d) => d.message).join("\n"));
    const session = await ort.InferenceSession.create(encodeModel(exported.model));
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", x, input) });
    const want = session.outputNames.map((n) => out[n]!.data as Float32Array);
    await session.release();

    expect(got).toHaveLength(want.length);
    want.forEach((w, i) => {
      expect(got[i]!.length).toBe(w.length);
      let err = 0;
      let scale = 0;
      for (let j = 0; j < w.length; j++) {
        err = Math.max(err, Math.abs(got[i]![j]! - w[j]!));
        scale = Math.max(scale, Math.abs(w[j]!));
      }
      expect(err / scale).toBeLessThanOrEqual(1e-4);
    });
  }, 300_000);
});
