/**
 * The sr_attention kernel against the loop-by-loop reference of Hugging Face's efficient
 * self-attention, in three physical layouts, and its gradients against finite differences.
 */
import { describe, expect, it } from "vitest";
import { createForwardContext } from "../../src/runtime/kernels/context.js";
import { opKernels } from "../../src/runtime/kernels/index.js";
import { Act } from "../../src/runtime/kernels/layout.js";
import { expectClose, infer, random, randomParams, run, tf, tfjs } from "./harness.js";
import { nd } from "./reference.js";
import { srAttention, srWeights } from "./reference-segformer.js";

const cases: { name: string; shape: number[]; args: Record<string, unknown> }[] = [
  { name: "sr 2 on 6x4, 2 heads", shape: [2, 6, 4, 8], args: { heads: 2, sr: 2 } },
  { name: "sr 3 on 7x8 (a partial window dropped), 3 heads", shape: [1, 7, 8, 6], args: { heads: 3, sr: 3 } },
  { name: "sr 1 (plain attention), no bias", shape: [2, 3, 5, 4], args: { heads: 1, sr: 1, qkv_bias: false } },
  { name: "sr equal to the map", shape: [1, 4, 4, 4], args: { heads: 2, sr: 4, eps: 1e-3 } },
];

describe("sr_attention kernel", () => {
  cases.forEach((c, k) => {
    it.each(["logical", "channels_last", "reversed"] as const)(`${c.name} (%s layout)`, (layout) => {
      const inf = infer("sr_attention", c.args, [c.shape]);
      const x = random(c.shape, 10 + k);
      const p = randomParams(inf.params, 50 + k);
      const want = srAttention(x.data, c.shape, srWeights((s) => p[s]?.data), inf.attrs.heads as number, inf.attrs.sr as number, inf.attrs.eps as number);
      let got = nd([1]);
      tf.tidy(() => {
        got = run("sr_attention", [x], inf.attrs, p, { layout })[0]!;
      });
      expect(got.shape).toEqual(inf.outputs[0]);
      expectClose(got, nd(c.shape, want), 1e-5);
    });
  });
});

describe("sr_attention gradients", () => {
  it("match central differences for the input, the sr conv and the query weight", () => {
    const shape = [1, 4, 4, 4];
    const inf = infer("sr_attention", { heads: 2, sr: 2 }, [shape]);
    const p = randomParams(inf.params, 7);
    const x0 = random(shape, 8);
    const g = random(shape, 9);
    const kernel = opKernels.sr_attention as unknown as (c: unknown, x: Act[], w: Record<string, tf.Tensor>, a: unknown) => Act;
    const loss = (x: tf.Tensor, w: Record<string, tf.Tensor>) => {
      const y = kernel(createForwardContext(tfjs, { training: true }), [new Act(x as never, [0, 1, 2, 3])], w, inf.attrs);
      return tf.sum(tf.mul(y.t as unknown as tf.Tensor, tf.tensor(Float32Array.from(g.data), shape)));
    };
    const tensors = () => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, tf.tensor(Float32Array.from(v.data), v.shape)]));
    const value = (x: Float64Array, name: string | null, w: Float64Array | null): number => {
      // The reference in float64, so the differences are not float32 noise.
      const weights = srWeights((s) => (s === name ? w! : p[s]?.data));
      const y = srAttention(x, shape, weights, 2, 2);
      return y.reduce((a, v, i) => a + v * g.data[i]!, 0);
    };
    const check = (grad: Float32Array, base: Float64Array, f: (v: Float64Array) => number) => {
      for (let i = 0; i < base.length; i += 3) {
        const [up, down] = [Float64Array.from(base), Float64Array.from(base)];
        up[i]! += 1e-5;
        down[i]! -= 1e-5;
        expect(grad[i]).toBeCloseTo((f(up) - f(down)) / 2e-5, 3);
      }
    };
    const dx = tf.grad((x: tf.Tensor) => loss(x, tensors()))(tf.tensor(Float32Array.from(x0.data), shape)).dataSync() as Float32Array;
    check(dx, x0.data, (v) => value(v, null, null));
    for (const name of ["sr.weight", "query.weight", "layer_norm.weight"]) {
      const dw = tf.grad((w: tf.Tensor) => loss(tf.tensor(Float32Array.from(x0.data), shape), { ...tensors(), [name]: w }))(tf.tensor(Float32Array.from(p[name]!.data), p[name]!.shape)).dataSync() as Float32Array;
      check(dw, p[name]!.data, (v) => value(x0.data, name, v));
    }
  });
});
