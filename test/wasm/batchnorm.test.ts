/**
 * Training-mode batch norm on the wasm backend (one fused kernel forward, one backward: see
 * src/runtime/wasm/batchnorm.ts) against the op-by-op path on the pure-JS backend, on random
 * channels-last shapes: output, gradients of input, weight and bias, and the running statistics.
 */
import { describe, expect, it } from "vitest";
import { createForwardContext } from "../../src/runtime/kernels/context.js";
import { Act, channelsLast } from "../../src/runtime/kernels/layout.js";
import { bn } from "../../src/runtime/kernels/norm.js";
import type { Tensor } from "../../src/runtime/types.js";
import { gradientGap, on, relative, rng, tf, tfjs } from "./harness.js";

const TOLERANCE = 1e-4;

function shapeOf(r: ReturnType<typeof rng>): number[] {
  const batch = r.int(1, 4);
  const c = r.int(1, 64);
  const spatial = r.pick([0, 1, 2, 3]);
  return [batch, ...Array.from({ length: spatial }, () => r.int(1, 9)), c];
}

describe("batch norm in training mode on the wasm backend", () => {
  it.each(Array.from({ length: 12 }, (_, i) => i))("random case %i", async (i) => {
    const r = rng(7000 + i);
    const shape = shapeOf(r);
    const c = shape[shape.length - 1]!;
    const eps = r.pick([1e-5, 1e-3, 0.1]);
    const momentum = r.pick([0.1, 0.01, 0.5]);
    const affine = r.next() < 0.8;
    const size = shape.reduce((a, b) => a * b, 1);
    const x = { shape, values: r.values(size, -2, 3) };
    const weight = { shape: [c], values: r.values(c, 0.5, 1.5) };
    const bias = { shape: [c], values: r.values(c) };
    const runMean = r.values(c);
    const runVar = r.values(c, 0.5, 2);
    const attrs = { eps, momentum, channels: c, axis: 1 };
    const layout = channelsLast(shape.length);
    const apply = (ctx: ReturnType<typeof createForwardContext>, xt: Tensor, w?: Tensor, b?: Tensor) => {
      const params = { weight: w, bias: b, running_mean: tf.variable(tf.tensor(runMean)), running_var: tf.variable(tf.tensor(runVar)) };
      const out = bn(ctx, [new Act(xt, layout)], params as never, attrs) as Act;
      return out.t;
    };
    const f = affine
      ? (xt: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => apply(createForwardContext(tfjs, { training: true }), xt as Tensor, w as Tensor, b as Tensor) as tf.Tensor
      : (xt: tf.Tensor) => apply(createForwardContext(tfjs, { training: true }), xt as Tensor) as tf.Tensor;
    const gap = await gradientGap(f, affine ? [x, weight, bias] : [x]);
    expect(gap, `shape ${shape}, eps ${eps}, affine ${affine}`).toBeLessThanOrEqual(TOLERANCE);
    // Running statistics, updated with momentum (unbiased variance).
    const stats = (backend: "cpu" | "wasm") =>
      on(backend, () => {
        const ctx = createForwardContext(tfjs, { training: true });
        apply(ctx, tf.tensor(x.values, shape) as Tensor, tf.tensor(weight.values) as Tensor, tf.tensor(bias.values) as Tensor);
        return ctx.updates.map((u) => u.value as tf.Tensor);
      });
    const [expected, actual] = [await stats("cpu"), await stats("wasm")];
    expect(actual.length).toBe(2);
    for (let k = 0; k < 2; k++) expect(relative(actual[k]!, expected[k]!)).toBeLessThanOrEqual(1e-5);
  });
});
