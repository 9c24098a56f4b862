/**
 * Tensor plumbing. Permute and transpose only relabel the layout; concat, split, pad, resize and
 * channel repetition work along whichever physical axis holds the logical one; reshape and
 * flatten materialise the logical order unless the merged axes are already adjacent.
 */
import type { Tensor, Tf } from "../types.js";
import type { ForwardContext, Kernel } from "./context.js";
import { Act, identity, logical, toLayout } from "./layout.js";
import { padOrCrop, vectorAlong } from "./util.js";

/** Zeroes elements with probability p in training, scaling the rest by 1 / (1 - p). */
export function dropoutTensor(ctx: ForwardContext, t: Tensor, p: number): Tensor {
  const tf = ctx.tf;
  if (!ctx.training || p <= 0) return t;
  if (p >= 1) return tf.zerosLike(t);
  const keep = tf.cast(tf.greaterEqual(ctx.uniform(t.shape as number[]), p), "float32");
  return tf.mul(t, tf.mul(keep, 1 / (1 - p)));
}

export const dropout: Kernel<{ p: number }> = (ctx, [x], _w, a) => new Act(dropoutTensor(ctx, x!.t, a.p), x!.layout);

/** torchvision.ops.stochastic_depth: the whole residual branch of a sample (or of the batch) is dropped. */
export const stochastic_depth: Kernel<{ p: number; mode: string }> = (ctx, [x], _w, a) => {
  const tf = ctx.tf;
  if (!ctx.training || a.p <= 0) return x!;
  const survival = 1 - a.p;
  const batchAxis = x!.axis(0);
  const shape = x!.t.shape.map((d, i) => (a.mode === "row" && i === batchAxis ? d! : 1));
  let noise = tf.cast(tf.less(ctx.uniform(shape), survival), "float32");
  if (survival > 0) noise = tf.div(noise, survival);
  return new Act(tf.mul(x!.t, noise), x!.layout);
};

/**
 * Channels-first broadcasting: shorter inputs gain trailing 1s ([N, C] against [N, C, H, W]); then
 * every input is brought to the layout of the first full-rank one.
 */
function broadcasting(f: (tf: Tf, a: Tensor, b: Tensor) => Tensor): Kernel<unknown> {
  return (ctx, inputs) => {
    const tf = ctx.tf;
    const rank = Math.max(...inputs.map((x) => x.rank));
    const target = inputs.find((x) => x.rank === rank)!.layout;
    const aligned = inputs.map((x) => {
      if (x.rank === rank) return toLayout(tf, x, target);
      const t = logical(tf, x);
      const padded = new Act(tf.reshape(t, [...t.shape, ...new Array<number>(rank - x.rank).fill(1)]), identity(rank));
      return toLayout(tf, padded, target);
    });
    return new Act(aligned.reduce((acc, t) => f(tf, acc, t)), target);
  };
}

export const concat: Kernel<{ axis: number }> = (ctx, inputs, _w, a) => {
  const target = inputs[0]!.layout;
  const ts = inputs.map((x) => toLayout(ctx.tf, x, target));
  return new Act(ts.length === 1 ? ts[0]! : ctx.tf.concat(ts, target.indexOf(a.axis)), target);
};

export const split: Kernel<{ axis: number; sizes: number[] }> = (ctx, [x], _w, a) =>
  ctx.tf.split(x!.t, a.sizes, x!.axis(a.axis)).map((t) => new Act(t, x!.layout));

/** Per-sample dims; a symbolic one ("?") is the one left for tfjs to infer. */
export const reshape: Kernel<{ shape: (number | string)[] }> = (ctx, [x], _w, a) => {
  const t = logical(ctx.tf, x!);
  const dims = a.shape.map((d) => (typeof d === "number" ? d : -1));
  return new Act(ctx.tf.reshape(t, [t.shape[0]!, ...dims]), identity(dims.length + 1));
};

export const flatten: Kernel<{ start: number; end: number }> = (ctx, [x], _w, a) => {
  const tf = ctx.tf;
  const { start, end } = a;
  if (end <= start) return x!;
  const merged = end - start;
  const positions = Array.from({ length: merged + 1 }, (_, i) => x!.axis(start + i));
  const shape = x!.t.shape as number[];
  if (positions.every((p, i) => i === 0 || p === positions[i - 1]! + 1)) {
    // The merged axes already sit side by side in order: a reshape of the physical tensor.
    const first = positions[0]!;
    const size = positions.reduce((acc, p) => acc * shape[p]!, 1);
    const newShape = [...shape.slice(0, first), size, ...shape.slice(first + merged + 1)];
    const layout = x!.layout
      .filter((_, j) => j <= first || j > first + merged)
      .map((l) => (l > end ? l - merged : l));
    return new Act(tf.reshape(x!.t, newShape), layout);
  }
  const t = logical(tf, x!);
  const ls = t.shape as number[];
  const size = ls.slice(start, end + 1).reduce((p, d) => p * d, 1);
  const newShape = [...ls.slice(0, start), size, ...ls.slice(end + 1)];
  return new Act(tf.reshape(t, newShape), identity(newShape.length));
};

/** The output's logical axis i is the input's perm[i]; the data stays where it is. */
export const permute: Kernel<{ perm: number[] }> = (_ctx, [x], _w, a) => {
  const inverse: number[] = [];
  a.perm.forEach((p, i) => (inverse[p] = i));
  return new Act(x!.t, x!.layout.map((l) => inverse[l]!));
};

interface ResizeAttrs {
  rank: number;
  mode: string;
  alignCorners: boolean;
  sizes: (number | string)[];
  scales: number[] | null;
}

/** Source taps along one axis: indices into the input and their weights (none: a single tap). */
interface Taps {
  index: number[][];
  weight?: number[][];
}

const f32 = Math.fround;

const LINEAR_MODES: ReadonlySet<string> = new Set(["linear", "bilinear", "trilinear"]);

/**
 * PyTorch's interpolate along one axis, output position j → input coordinates. The scale is
 * 1 / scale_factor when a factor was given (as PyTorch uses it), else in / out.
 */
function taps(mode: string, alignCorners: boolean, n: number, out: number, factor: number | undefined): Taps {
  const scale = factor !== undefined ? 1 / factor : n / out;
  const clamp = (i: number) => Math.min(Math.max(i, 0), n - 1);
  const js = Array.from({ length: out }, (_, j) => j);
  if (mode === "nearest") return { index: [js.map((j) => Math.min(Math.floor(f32(j * f32(scale))), n - 1))] };
  const alignScale = out > 1 ? (n - 1) / (out - 1) : 0;
  const source = (j: number) => (alignCorners ? j * alignScale : (j + 0.5) * scale - 0.5);
  if (mode === "bicubic") {
    const A = -0.75;
    const index: number[][] = [[], [], [], []];
    const weight: number[][] = [[], [], [], []];
    for (const j of js) {
      const s = source(j);
      const i0 = Math.floor(s);
      const t = s - i0;
      const w0 = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
      const w1 = ((A + 2) * t - (A + 3)) * t * t + 1;
      const w2 = ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1;
      const ws = [w0, w1, w2, 1 - w0 - w1 - w2];
      for (let k = 0; k < 4; k++) {
        index[k]!.push(clamp(i0 - 1 + k));
        weight[k]!.push(ws[k]!);
      }
    }
    return { index, weight };
  }
  const index: number[][] = [[], []];
  const weight: number[][] = [[], []];
  for (const j of js) {
    const s = Math.max(source(j), 0);
    const i0 = Math.min(Math.floor(s), n - 1);
    const l = Math.min(s - i0, 1);
    index[0]!.push(i0);
    index[1]!.push(Math.min(i0 + 1, n - 1));
    weight[0]!.push(1 - l);
    weight[1]!.push(l);
  }
  return { index, weight };
}

/**
 * Separable resampling by gathers, on any layout and any rank. It also replaces tf.image's
 * resizeBilinear, whose gradient on the CPU backend of tfjs 4.22 fails for non-square images.
 */
function resample(tf: Tf, t: Tensor, axis: number, tp: Taps): Tensor {
  const gather = (idx: number[]) => tf.gather(t, tf.tensor1d(idx, "int32"), axis);
  if (!tp.weight) return gather(tp.index[0]!);
  let acc: Tensor | null = null;
  tp.index.forEach((idx, k) => {
    const term = tf.mul(gather(idx), vectorAlong(tf, tf.tensor1d(tp.weight![k]!), t.rank, axis));
    acc = acc === null ? term : tf.add(acc, term);
  });
  return acc!;
}

export const resize: Kernel<ResizeAttrs> = (ctx, [x], _w, a) => {
  let t = x!.t;
  for (let i = 0; i < a.rank; i++) {
    const axis = x!.axis(2 + i);
    const n = t.shape[axis]!;
    const want = a.sizes[i];
    const out = typeof want === "number" ? want : Math.floor(n * a.scales![i]!);
    const factor = a.scales ? a.scales[i] : undefined;
    // An axis of unchanged length: PyTorch's linear modes copy it, nearest and bicubic map it by the factor.
    if (out === n && (factor === undefined || factor === 1 || LINEAR_MODES.has(a.mode))) continue;
    t = resample(ctx.tf, t, axis, taps(a.mode, a.alignCorners, n, out, factor));
  }
  return new Act(t, x!.layout);
};

/** F.pad: constant pads (negative ones crop); reflect and replicate read mirrored or edge indices. */
export const pad: Kernel<{ mode: string; value: number; begin: number[]; end: number[] }> = (ctx, [x], _w, a) => {
  const tf = ctx.tf;
  const pads = x!.layout.map((l): [number, number] => [a.begin[l]!, a.end[l]!]);
  if (a.mode === "constant") return new Act(padOrCrop(tf, x!.t, pads, a.value), x!.layout);
  let t = x!.t;
  pads.forEach(([b, e], axis) => {
    if (b === 0 && e === 0) return;
    const n = t.shape[axis]!;
    const idx = Array.from({ length: n + b + e }, (_, k) => {
      const i = k - b;
      if (a.mode === "replicate") return Math.min(Math.max(i, 0), n - 1);
      return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
    });
    t = tf.gather(t, tf.tensor1d(idx, "int32"), axis);
  });
  return new Act(t, x!.layout);
};

/** x.repeat(1, n, 1, …): the channel block is tiled. */
export const repeat_channels: Kernel<{ repeats: number }> = (ctx, [x], _w, a) => {
  const c = x!.axis(1);
  return new Act(ctx.tf.tile(x!.t, x!.layout.map((_, j) => (j === c ? a.repeats : 1))), x!.layout);
};

export const tensorKernels = {
  dropout,
  stochastic_depth,
  add: broadcasting((tf, a, b) => tf.add(a, b)),
  mul: broadcasting((tf, a, b) => tf.mul(a, b)),
  concat,
  split,
  reshape,
  flatten,
  permute,
  transpose: permute,
  resize,
  upsample: resize,
  pad,
  gray_to_rgb: repeat_channels,
  repeat_channels,
};

