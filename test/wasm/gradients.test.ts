/**
 * The kernels src/runtime/wasm registers for the wasm backend (gradients it lacks or gets wrong,
 * faster reductions) against the pure-JS backend's, on random shapes: value and every input's
 * gradient to 1e-4 relative.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { convChannelsLast, convTransposeChannelsLast, type ConvAttrs } from "../../src/runtime/kernels/conv.js";
import { createForwardContext } from "../../src/runtime/kernels/context.js";
import { useSimdKernels } from "../../src/runtime/wasm/simd.js";
import { gradientGap, on, relative, rng, tf, tfjs } from "./harness.js";

const TOLERANCE = 1e-4;
const CASES = 10;

type Rng = ReturnType<typeof rng>;
type Padding = "valid" | "same" | [[0, 0], [number, number], [number, number], [0, 0]];

const input = (r: Rng, shape: number[], shift = 0) => ({ shape, values: r.values(shape.reduce((a, b) => a * b, 1), -1 + shift, 1 + shift) });

/**
 * "same" only where its total padding is ≥ 0: where it would be negative the wasm backend's own
 * forward (XNNPACK's TensorFlow-SAME flag) pads differently from pure JS. The runtime never asks
 * for "same" (its pads are explicit), and the gradients agree either way.
 */
function padding(r: Rng, k: [number, number], s: [number, number], size: [number, number]): Padding {
  const kind = r.pick(["valid", "same", "explicit"] as const);
  const sameOk = size.every((n, i) => (Math.ceil(n / s[i]!) - 1) * s[i]! + k[i]! - n >= 0);
  if (kind === "valid" || (kind === "same" && !sameOk)) return "valid";
  if (kind === "same") return kind;
  return [[0, 0], [r.int(0, k[0] - 1), r.int(0, k[0] - 1)], [r.int(0, k[1] - 1), r.int(0, k[1] - 1)], [0, 0]];
}

const cases = (name: string, body: (r: Rng) => Promise<{ gap: number; what: string }>) =>
  it.each(Array.from({ length: CASES }, (_, i) => i))(`${name}, random case %i`, async (i) => {
    const { gap, what } = await body(rng(1000 * name.length + i));
    expect(gap, what).toBeLessThanOrEqual(TOLERANCE);
  });

describe("tfjs ops on the wasm backend", () => {
  cases("conv2d (Conv2DBackpropFilter, Conv2DBackpropInput)", async (r) => {
    const k: [number, number] = [r.int(1, 5), r.int(1, 5)];
    const s: [number, number] = [r.int(1, 3), r.int(1, 3)];
    const x = input(r, [r.int(1, 3), r.int(k[0], 13), r.int(k[1], 13), r.int(1, 6)]);
    const pad = padding(r, k, s, [x.shape[1]!, x.shape[2]!]);
    const w = input(r, [...k, x.shape[3]!, r.int(1, 7)]);
    const what = JSON.stringify({ x: x.shape, w: w.shape, s, pad });
    return { what, gap: await gradientGap((a, b) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), [x, w]) };
  });

  cases("conv2dTranspose", async (r) => {
    const k: [number, number] = [r.int(1, 4), r.int(1, 4)];
    const s: [number, number] = [r.int(1, 3), r.int(1, 3)];
    const pad = r.pick(["valid", "same"] as const);
    const out: [number, number, number, number] = [r.int(1, 2), r.int(k[0], 12), r.int(k[1], 12), r.int(1, 5)];
    const inner = tf.conv2d(tf.zeros(out) as tf.Tensor4D, tf.zeros([...k, out[3]!, 1]) as tf.Tensor4D, s, pad).shape;
    const x = input(r, [out[0]!, inner[1], inner[2], r.int(1, 5)]);
    const w = input(r, [...k, out[3]!, x.shape[3]!]);
    const what = JSON.stringify({ x: x.shape, w: w.shape, out, s, pad });
    return { what, gap: await gradientGap((a, b) => tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, out, s, pad), [x, w]) };
  });

  cases("depthwiseConv2d (DepthwiseConv2dNativeBackpropFilter/Input)", async (r) => {
    const k: [number, number] = [r.int(1, 5), r.int(1, 5)];
    const s = r.int(1, 3);
    // Up to 20 channels: with one filter per channel, eight at a time are summed apart from the rest.
    const x = input(r, [r.int(1, 3), r.int(k[0], 12), r.int(k[1], 12), r.int(1, 20)]);
    const pad = padding(r, k, [s, s], [x.shape[1]!, x.shape[2]!]);
    const w = input(r, [...k, x.shape[3]!, r.pick([1, 1, 2, 3])]);
    const what = JSON.stringify({ x: x.shape, w: w.shape, s, pad });
    return { what, gap: await gradientGap((a, b) => tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), [x, w]) };
  });

  cases("conv3d (Conv3DBackpropFilterV2, Conv3DBackpropInputV2)", async (r) => {
    const k = [r.int(1, 3), r.int(1, 3), r.int(1, 3)] as [number, number, number];
    const s = [r.int(1, 2), r.int(1, 3), r.int(1, 2)] as [number, number, number];
    const pad = r.pick(["valid", "same"] as const);
    const x = input(r, [r.int(1, 2), r.int(k[0], 6), r.int(k[1], 7), r.int(k[2], 6), r.int(1, 4)]);
    const w = input(r, [...k, x.shape[4]!, r.int(1, 4)]);
    const what = JSON.stringify({ x: x.shape, w: w.shape, s, pad });
    return { what, gap: await gradientGap((a, b) => tf.conv3d(a as tf.Tensor5D, b as tf.Tensor5D, s, pad), [x, w]) };
  });

  cases("maxPool (MaxPoolGrad), negative and tied values", async (r) => {
    const k: [number, number] = [r.int(1, 4), r.int(1, 4)];
    const s: [number, number] = [r.int(1, 3), r.int(1, 3)];
    const pad = r.pick(["valid", "same"] as const);
    const x = input(r, [r.int(1, 3), r.int(k[0], 11), r.int(k[1], 11), r.int(1, 5)], r.pick([0, -0.6]));
    const relu = r.next() < 0.5;
    const what = JSON.stringify({ x: x.shape, k, s, pad, relu });
    return { what, gap: await gradientGap((a) => tf.maxPool((relu ? tf.relu(a) : a) as tf.Tensor4D, k, s, pad), [x]) };
  });

  // Square in height and width: elsewhere the pure-JS backend's own MaxPool3DGrad is wrong (below).
  cases("maxPool3d (MaxPool3D, MaxPool3DGrad), negative and tied values", async (r) => {
    const hw = r.int(1, 3);
    const k = [r.int(1, 3), hw, hw] as [number, number, number];
    const s = [r.int(1, 2), r.int(1, 2), r.int(1, 2)] as [number, number, number];
    const pad = r.pick(["valid", "same"] as const);
    const x = input(r, [r.int(1, 2), r.int(k[0], 6), r.int(k[1], 6), r.int(k[2], 6), r.int(1, 3)], r.pick([0, -0.6]));
    const relu = r.next() < 0.5;
    const what = JSON.stringify({ x: x.shape, k, s, pad, relu });
    return { what, gap: await gradientGap((a) => tf.maxPool3d((relu ? tf.relu(a) : a) as tf.Tensor5D, k, s, pad), [x]) };
  });

  /**
   * tfjs-backend-cpu 4.22 flattens a 3-d window position as (d · h + r) · h + c, with the window's
   * height where its width belongs, so its MaxPool3DGrad misplaces gradients of windows whose
   * height and width differ; there the wasm kernel is checked against a plain loop.
   */
  it.each([0, 1, 2, 3, 4])("maxPool3d with a non-square window against a loop, case %i", async (i) => {
    const r = rng(77 + i);
    const k = [r.int(1, 3), 2, 3] as [number, number, number];
    const s = [r.int(1, 2), r.int(1, 2), r.int(1, 3)] as [number, number, number];
    const shape = [r.int(1, 2), r.int(k[0], 5), r.int(2, 6), r.int(3, 7), r.int(1, 3)];
    const x = input(r, shape, -0.5);
    const [n, d, h, w, c] = shape as [number, number, number, number, number];
    const out = [Math.floor((d - k[0]) / s[0]) + 1, Math.floor((h - k[1]) / s[1]) + 1, Math.floor((w - k[2]) / s[2]) + 1];
    const g = rng(5).values(n * out[0]! * out[1]! * out[2]! * c);
    const expected = new Float32Array(x.values.length);
    const at = (b: number, z: number, y: number, xx: number, ch: number) => (((b * d + z) * h + y) * w + xx) * c + ch;
    let o = 0;
    for (let b = 0; b < n; b++)
      for (let z = 0; z < out[0]!; z++)
        for (let y = 0; y < out[1]!; y++)
          for (let xx = 0; xx < out[2]!; xx++)
            for (let ch = 0; ch < c; ch++, o++) {
              let best = -Infinity;
              let arg = -1;
              for (let i0 = 0; i0 < k[0]; i0++)
                for (let i1 = 0; i1 < k[1]; i1++)
                  for (let i2 = 0; i2 < k[2]; i2++) {
                    const p = at(b, z * s[0] + i0, y * s[1] + i1, xx * s[2] + i2, ch);
                    if (x.values[p]! > best) [best, arg] = [x.values[p]!, p];
                  }
              expected[arg] += g[o]!;
            }
    const [actual] = await on("wasm", () => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool3d(a as tf.Tensor5D, k, s, "valid"), tf.tensor(g, [n, ...out, c]))))(tf.tensor(x.values, shape)));
    expect(relative(actual!, expected)).toBeLessThanOrEqual(TOLERANCE);
  });

  cases("sum and mean over any axes (Sum, Mean)", async (r) => {
    const shape = Array.from({ length: r.int(2, 5) }, () => r.pick([1, 2, 3, 5, 8]));
    const axes = shape.map((_, i) => i).filter(() => r.next() < 0.5);
    const keep = r.next() < 0.5;
    const x = input(r, shape);
    const what = JSON.stringify({ shape, axes, keep });
    return { what, gap: await gradientGap((a) => tf.add(tf.sum(a, axes, keep), tf.mul(tf.mean(a, axes, keep), 2)), [x]) };
  });

  // Blocks of 256 rows and eight columns, with rows and columns left over.
  it.each([
    [[3, 17, 11, 13], [0, 1, 2]],
    [[600, 24], [0]],
    [[2, 300, 7], [0, 1]],
  ])("sum and mean of %j over %j", async (shape, axes) => {
    const x = input(rng(shape.length), shape);
    expect(await gradientGap((a) => tf.add(tf.sum(a, axes), tf.mean(a, axes)), [x])).toBeLessThanOrEqual(TOLERANCE);
  });

  cases("gather (UnsortedSegmentSum)", async (r) => {
    const x = input(r, [r.int(1, 4), r.int(2, 6), r.int(1, 4)]);
    const axis = r.int(0, 2);
    const indices = Array.from({ length: r.int(1, 8) }, () => r.int(0, x.shape[axis]! - 1));
    const what = JSON.stringify({ x: x.shape, axis, indices });
    return { what, gap: await gradientGap((a) => tf.gather(a, tf.tensor1d(indices, "int32"), axis), [x]) };
  });
});

/** The runtime's convolutions: dilation (a spread kernel), groups (split or depthwise), 1-d, 3-d, transposed. */
describe("the runtime's convolution kernels on the wasm backend", () => {
  function attrs(r: Rng, rank: number, transpose: boolean): ConvAttrs {
    const group = r.pick([1, 1, 2, 3]);
    const kernel = Array.from({ length: rank }, () => r.int(1, 3));
    const depthwise = !transpose && rank === 2 && r.next() < 0.3;
    const inC = depthwise ? r.int(1, 4) : group * r.int(1, 2);
    const g = depthwise ? inC : group;
    const out = depthwise ? inC * r.int(1, 2) : group * r.int(1, 3);
    const strides = kernel.map(() => r.int(1, 2));
    const dilations = kernel.map(() => (transpose && rank !== 2 ? 1 : r.int(1, 2)));
    const pads = [...kernel, ...kernel].map((_, i) => r.int(0, kernel[i % rank]! - 1));
    return { rank, in: inC, out, kernel, strides, pads, dilations, group: g, bias: false, ...(transpose ? { outputPadding: strides.map((s) => r.int(0, s - 1)) } : {}) };
  }

  const run = (rank: number, transpose: boolean) => async (r: Rng) => {
    const a = attrs(r, rank, transpose);
    const spatial = a.kernel.map((k, i) => (transpose ? r.int(1, 5) : r.int(a.dilations[i]! * (k - 1) + 1, 9 - 2 * (rank - 2))));
    const x = input(r, [r.int(1, 2), ...spatial, a.in]);
    const w = input(r, transpose ? [a.in, a.out / a.group, ...a.kernel] : [a.out, a.in / a.group, ...a.kernel]);
    const f = (xi: tf.Tensor, wi: tf.Tensor) => {
      const ctx = createForwardContext(tfjs);
      return (transpose ? convTransposeChannelsLast : convChannelsLast)(ctx.tf, xi, wi, a) as tf.Tensor;
    };
    return { what: JSON.stringify({ x: x.shape, ...a }), gap: await gradientGap(f, [x, w]) };
  };

  cases("conv 2-d: strides, padding, dilation, groups", run(2, false));

  /**
   * Small images with more output channels than pixels: the products read the weight as it is and
   * move the patches (wasm/products.ts): 1×1 and larger kernels, strides, padding, dilation, groups.
   */
  cases("conv 2-d as matrix products: small images, many channels", async (r) => {
    const kernel = [r.pick([1, 1, 2, 3]), r.pick([1, 2, 3])];
    const group = r.pick([1, 1, 2]);
    const dilations = kernel.map((k) => (k > 1 ? r.int(1, 2) : 1));
    const reach = kernel.map((k, i) => dilations[i]! * (k - 1) + 1);
    const inPerGroup = kernel[0]! * kernel[1]! === 1 ? r.int(64, 80) : r.int(16, 24);
    const spatial = reach.map((k) => r.int(k, k + 1));
    const strides = kernel.map(() => r.int(1, 2));
    const pads = [...kernel, ...kernel].map(() => r.int(0, 1));
    const batch = r.int(1, 2);
    const pixels = batch * spatial.reduce((p, n, i) => p * (Math.floor((n + pads[i]! + pads[i + 2]! - reach[i]!) / strides[i]!) + 1), 1);
    const a: ConvAttrs = { rank: 2, in: group * inPerGroup, out: group * (2 * pixels + r.int(0, 8)), kernel, strides, pads, dilations, group, bias: false };
    const x = input(r, [batch, ...spatial, a.in]);
    const w = input(r, [a.out, inPerGroup, ...kernel]);
    const f = (xi: tf.Tensor, wi: tf.Tensor) => convChannelsLast(createForwardContext(tfjs).tf, xi, wi, a) as tf.Tensor;
    return { what: JSON.stringify({ x: x.shape, ...a }), gap: await gradientGap(f, [x, w]) };
  });
  /**
   * Channel counts in fours from 16 (a tap at a time, the weight transposed four rows at a time in
   * SIMD, simd.ts), wider than a tile of the product.
   */
  const inFours = async (r: Rng) => {
    const kernel = r.pick([[1, 1], [3, 3], [1, 3]]);
    const strides = kernel.map(() => r.int(1, 2));
    const pads = [...kernel, ...kernel].map((k) => (k - 1) / 2);
    const a: ConvAttrs = { rank: 2, in: 4 * r.int(4, 18), out: 4 * r.int(17, 20), kernel, strides, pads, dilations: [1, 1], group: 1, bias: false };
    const spatial = strides.map((s) => 2 * s);
    const x = input(r, [2, ...spatial, a.in]);
    const w = input(r, [a.out, a.in, ...kernel]);
    const f = (xi: tf.Tensor, wi: tf.Tensor) => convChannelsLast(createForwardContext(tfjs).tf, xi, wi, a) as tf.Tensor;
    return { what: JSON.stringify({ x: x.shape, ...a }), gap: await gradientGap(f, [x, w]) };
  };
  cases("conv 2-d as matrix products: sizes in fours", inFours);
  /** Without the SIMD module (a machine whose WebAssembly has no SIMD): XNNPACK and the gradients of conv.ts. */
  describe("without the SIMD module", () => {
    beforeAll(() => useSimdKernels(false));
    afterAll(() => useSimdKernels(true));
    cases("conv 2-d", run(2, false));
    cases("conv 2-d: sizes in fours", inFours);
  });
  /**
   * Larger images with few channels: the products read the image a tap at a time, or (under 16
   * channels) its patches moved into rows (wasm/products.ts). Kernels of several shapes, strides,
   * uneven padding, groups.
   */
  cases("conv 2-d tap by tap: larger images, few channels", async (r) => {
    const kernel = [r.pick([2, 3, 5]), r.pick([1, 3, 4])];
    const group = r.pick([1, 1, 2]);
    const strides = kernel.map(() => r.int(1, 2));
    const pads = [...kernel, ...kernel].map((k) => r.int(0, k - 1));
    const spatial = kernel.map((k) => r.int(k + 2, k + 9));
    const a: ConvAttrs = { rank: 2, in: group * r.int(3, 9), out: group * r.int(1, 6), kernel, strides, pads, dilations: [1, 1], group, bias: false };
    const x = input(r, [r.int(1, 3), ...spatial, a.in]);
    const w = input(r, [a.out, a.in / group, ...kernel]);
    const f = (xi: tf.Tensor, wi: tf.Tensor) => convChannelsLast(createForwardContext(tfjs).tf, xi, wi, a) as tf.Tensor;
    return { what: JSON.stringify({ x: x.shape, ...a }), gap: await gradientGap(f, [x, w]) };
  });
  cases("conv 1-d", run(1, false));
  cases("conv 3-d: strides, padding, dilation, groups", run(3, false));
  cases("conv_transpose 2-d", run(2, true));
  cases("conv_transpose 3-d", run(3, true));
});
