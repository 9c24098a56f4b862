/**
 * The same small CNN trained for 20 steps from the same weights and seed (AdamW, cross-entropy, the
 * training loop's step: batch statistics, seeded dropout, running-statistic updates) gives the same
 * losses on the wasm backend as on pure JS, within 1e-3 relative at every step.
 */
import { describe, expect, it } from "vitest";
import { createForwardContext } from "../../src/runtime/kernels/context.js";
import { makeLoss } from "../../src/runtime/losses.js";
import { makeOptimizer } from "../../src/runtime/optim.js";
import type { Tensor } from "../../src/runtime/types.js";
import { buildProgram, type Program } from "../tfjs/program.js";
import { rng, tf, tfjs, type Backend } from "./harness.js";

// Every kind of layer that has a gradient of its own on the wasm backend: strided, grouped,
// depthwise and 1x1 convolutions, max pooling, batch norm, squeeze-excitation, dropout, linear.
const recipe = `model tiny_wasm {
  task classify(classes=["a", "b", "c"])
  input image(3, 32, 32)
  backbone features: [
    conv_bn_act(16, 3, s=2),
    maxpool(3, s=2, p=1),
    conv_bn_act(16, 3, g=4),
    conv_bn_act(16, 5, s=2, g=16, act=silu),
    squeeze_excitation(4),
    conv_bn_act(24, 1),
  ] | gap
  head mlp(16, dropout=0.2)
}
`;

export async function stepLosses(backend: Backend, program: Program, steps: number, batch: number, seed: number): Promise<number[]> {
  await tf.setBackend(backend);
  const [, c, h, w] = program.plan.input.shape.length === 3 ? [0, ...program.plan.input.shape] : program.plan.input.shape;
  const params: Record<string, tf.Variable> = {};
  for (const p of program.plan.parameters) params[p.name] = tf.variable(tf.tensor(program.initial.get(p.name)!, p.shape), !p.buffer, `${backend}/${p.name}`);
  const trainable = program.plan.parameters.filter((p) => !p.buffer).map((p) => params[p.name]!);
  const optimizer = makeOptimizer(tfjs, { name: "adamw", args: {} }, { lr: 3e-3 });
  const loss = makeLoss(tfjs, { terms: [{ weight: 1, entry: { name: "ce", args: { label_smoothing: 0, ignore_index: null } } }] }, { classes: 3, multilabel: false });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const r = rng(seed * 1000 + step);
    // The class is the channel made brighter, so there is something to learn.
    const labels = Int32Array.from({ length: batch }, () => r.int(0, 2));
    const pixels = r.values(batch * c! * h! * w!);
    labels.forEach((k, n) => pixels.subarray((n * c! + k) * h! * w!, (n * c! + k + 1) * h! * w!).forEach((v, i, row) => (row[i] = v + 0.5)));
    const x = tf.tensor(pixels, [batch, c!, h!, w!]);
    const y = tf.tensor(labels, [batch], "int32");
    const ctx = createForwardContext(tfjs, { training: true, seed, step });
    const { value, grads } = tf.variableGrads(() => {
      const out = program.model.forward(params as never, x as never, ctx);
      return loss((Array.isArray(out) ? out[0] : out) as Tensor, y as never) as unknown as tf.Scalar;
    }, trainable);
    losses.push((await value.data())[0]!);
    optimizer.step(trainable as never, trainable.map((v) => grads[v.name]!) as never, 3e-3);
    for (const u of ctx.updates) {
      u.target.assign(u.value);
      u.value.dispose();
    }
    tf.dispose([value, x, y, ...Object.values(grads)]);
  }
  tf.dispose(Object.values(params));
  return losses;
}

describe("training on the wasm backend", () => {
  it("gives pure JS's losses over 20 AdamW steps, within 1e-3 relative", async () => {
    const program = await buildProgram(recipe, 7);
    const expected = await stepLosses("cpu", program, 20, 8, 11);
    const actual = await stepLosses("wasm", program, 20, 8, 11);
    const gaps = actual.map((a, i) => Math.abs(a - expected[i]!) / Math.abs(expected[i]!));
    expect(Math.max(...gaps), `pure JS ${expected.map((v) => v.toFixed(5)).join(" ")}\nwasm    ${actual.map((v) => v.toFixed(5)).join(" ")}`).toBeLessThanOrEqual(1e-3);
    // It learns: the loss falls.
    expect(actual.slice(-5).reduce((a, b) => a + b) / 5).toBeLessThan(actual.slice(0, 5).reduce((a, b) => a + b) / 5);
  }, 120_000);
});
