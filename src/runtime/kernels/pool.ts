/**
 * Pooling, channels-last, with PyTorch's output sizes (ceil mode) and divisors (count_include_pad,
 * windows clipped at the padded edge). Padding is applied explicitly so every case is a 'valid'
 * tfjs pool; the average's divisor is corrected by a constant per output position.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Tensor, Tf } from "../types.js";
import type { Kernel } from "./context.js";
import { Act, channelsLast, channelsLastTensor, layoutWithout } from "./layout.js";
import { padOrCrop, product, sliceAxis, takeStrided } from "./util.js";

export interface PoolAttrs {
  rank: number;
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
  ceil: boolean;
  countIncludePad?: boolean;
}

/** PyTorch's pooling output size (the last window must start inside the input or its left padding). */
function outSize(size: number, k: number, s: number, pb: number, pe: number, d: number, ceil: boolean): number {
  const span = size + pb + pe - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + pb) out--;
  return out;
}

interface Window {
  n: number;
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Per spatial dim: padding actually applied, so that a 'valid' pool gives `out` exactly. */
  pads: [number, number][];
  sizes: number[];
  out: number[];
}

function window(x: Tensor, a: PoolAttrs): Window {
  const n = a.rank;
  const sizes = x.shape.slice(1, 1 + n) as number[];
  const out = sizes.map((size, i) => outSize(size, a.kernel[i]!, a.strides[i]!, a.pads[i]!, a.pads[n + i]!, a.dilations[i]!, a.ceil));
  const pads = sizes.map((size, i): [number, number] => {
    const reach = a.dilations[i]! * (a.kernel[i]! - 1) + 1;
    const needed = (out[i]! - 1) * a.strides[i]! + reach;
    return [a.pads[i]!, needed - size - a.pads[i]!];
  });
  return { n, kernel: a.kernel, strides: a.strides, dilations: a.dilations, pads, sizes, out };
}

/** Max or sum over each window of an already padded tensor, for dilated windows (no tfjs gradient). */
function dilatedReduce(tf: Tf, x: Tensor, w: Window, how: "max" | "sum"): Tensor {
  let acc: Tensor | null = null;
  const offsets: number[][] = [[]];
  for (const k of w.kernel) offsets.splice(0, offsets.length, ...offsets.flatMap((o) => Array.from({ length: k }, (_, j) => [...o, j])));
  for (const o of offsets) {
    let part = x;
    for (let i = 0; i < w.n; i++) part = takeStrided(tf, part, 1 + i, o[i]! * w.dilations[i]!, w.strides[i]!, w.out[i]!);
    acc = acc === null ? part : how === "max" ? tf.maximum(acc, part) : tf.add(acc, part);
  }
  return acc!;
}

function poolValid(tf: Tf, x: Tensor, w: Window, how: "max" | "avg"): Tensor {
  if (w.dilations.some((d) => d > 1)) {
    const r = dilatedReduce(tf, x, w, how === "max" ? "max" : "sum");
    return how === "max" ? r : tf.div(r, product(w.kernel));
  }
  if (w.n === 2) {
    const k = w.kernel as [number, number];
    const s = w.strides as [number, number];
    return how === "max" ? tf.maxPool(x as tfjs.Tensor4D, k, s, "valid") : tf.avgPool(x as tfjs.Tensor4D, k, s, "valid");
  }
  const k = w.kernel as [number, number, number];
  const s = w.strides as [number, number, number];
  return how === "max" ? tf.maxPool3d(x as tfjs.Tensor5D, k, s, "valid") : tf.avgPool3d(x as tfjs.Tensor5D, k, s, "valid");
}

/** Runs a windowed pool on channels-last x of 1, 2 or 3 spatial dims. */
function pool(tf: Tf, x: Tensor, a: PoolAttrs, how: "max" | "avg"): Tensor {
  if (a.rank === 1) {
    const a2: PoolAttrs = {
      ...a,
      rank: 2,
      kernel: [1, a.kernel[0]!],
      strides: [1, a.strides[0]!],
      pads: [0, a.pads[0]!, 0, a.pads[1]!],
      dilations: [1, a.dilations[0]!],
    };
    return tf.squeeze(pool(tf, tf.expandDims(x, 1), a2, how), [1]);
  }
  const w = window(x, a);
  const padded = padOrCrop(tf, x, [[0, 0], ...w.pads, [0, 0]], how === "max" ? -Infinity : 0);
  const y = poolValid(tf, padded, w, how);
  if (how === "max") return y;
  // tfjs divides by the full window; PyTorch by the window clipped to the padded input (and to
  // the input itself without count_include_pad).
  const full = product(a.kernel);
  const factors = w.out.map((o, i) =>
    Array.from({ length: o }, (_, j) => {
      const [k, s, pb, pe, size] = [a.kernel[i]!, a.strides[i]!, a.pads[i]!, a.pads[w.n + i]!, w.sizes[i]!];
      const start = j * s - pb;
      const end = Math.min(start + k, size + pe);
      return a.countIncludePad === false ? Math.min(end, size) - Math.max(start, 0) : end - start;
    }),
  );
  if (factors.every((f) => f.every((c) => c === f[0])) && product(factors.map((f) => f[0]!)) === full) return y;
  // Each output is full / (c_1 · c_2 · …): built as a separable product.
  const correction = factors.reduce<number[]>((acc, f) => acc.flatMap((v) => f.map((c) => v / c)), [full]);
  return tf.mul(y, tf.tensor(correction, [1, ...w.out, 1]));
}

export const maxpool: Kernel<PoolAttrs> = (ctx, [x], _w, a) =>
  new Act(pool(ctx.tf, channelsLastTensor(ctx.tf, x!), a, "max"), channelsLast(a.rank + 2));

export const avgpool: Kernel<PoolAttrs> = (ctx, [x], _w, a) =>
  new Act(pool(ctx.tf, channelsLastTensor(ctx.tf, x!), a, "avg"), channelsLast(a.rank + 2));

function globalPool(how: "mean" | "max"): Kernel<{ rank: number }> {
  return (ctx, [x], _w, a) => {
    const spatial = Array.from({ length: a.rank }, (_, i) => 2 + i);
    const axes = spatial.map((l) => x!.axis(l));
    const t = how === "mean" ? ctx.tf.mean(x!.t, axes) : ctx.tf.max(x!.t, axes);
    return new Act(t, layoutWithout(x!.layout, spatial));
  };
}

/** PyTorch's adaptive bins: [floor(j·n/o), ceil((j+1)·n/o)). Separable per axis for mean and max. */
function adaptivePool(how: "mean" | "max"): Kernel<{ rank: number; size: number[] }> {
  return (ctx, [x], _w, a) => {
    const tf = ctx.tf;
    let t = x!.t;
    const reduce = (v: Tensor, axis: number) => (how === "mean" ? tf.mean(v, axis, true) : tf.max(v, axis, true));
    for (let i = 0; i < a.rank; i++) {
      const axis = x!.axis(2 + i);
      const n = t.shape[axis]!;
      const o = a.size[i]!;
      if (n === o) continue;
      if (n % o === 0) {
        const shape = [...t.shape];
        shape.splice(axis, 1, o, n / o);
        t = tf.squeeze(reduce(tf.reshape(t, shape), axis + 1), [axis + 1]);
        continue;
      }
      const bins = Array.from({ length: o }, (_, j) => {
        const start = Math.floor((j * n) / o);
        const end = Math.ceil(((j + 1) * n) / o);
        return reduce(sliceAxis(tf, t, axis, start, end - start), axis);
      });
      t = tf.concat(bins, axis);
    }
    return new Act(t, x!.layout);
  };
}

export const poolKernels = {
  maxpool,
  avgpool,
  gap: globalPool("mean"),
  gmp: globalPool("max"),
  adaptive_avgpool: adaptivePool("mean"),
  adaptive_maxpool: adaptivePool("max"),
};
