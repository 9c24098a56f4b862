/** Tensor helpers shared by the kernels: every one is built from ops that tfjs can differentiate. */
import type { Tensor, Tf } from "../types.js";

export function product(xs: readonly number[]): number {
  return xs.reduce((a, b) => a * b, 1);
}

/** Every `step`-th element along `axis`, from `start`, `count` of them (a strided slice with a gradient). */
export function takeStrided(tf: Tf, t: Tensor, axis: number, start: number, step: number, count: number): Tensor {
  if (step === 1) return sliceAxis(tf, t, axis, start, count);
  if (start === 0 && count * step === t.shape[axis]) {
    // Split the axis into [count, step] and keep index 0 of the second: a reshape and a slice.
    const shape = [...t.shape];
    shape.splice(axis, 1, count, step);
    const r = tf.reshape(t, shape);
    return tf.squeeze(sliceAxis(tf, r, axis + 1, 0, 1), [axis + 1]);
  }
  const idx = Array.from({ length: count }, (_, i) => start + i * step);
  return tf.gather(t, tf.tensor1d(idx, "int32"), axis);
}

export function sliceAxis(tf: Tf, t: Tensor, axis: number, start: number, size: number): Tensor {
  if (start === 0 && size === t.shape[axis]) return t;
  const begin = t.shape.map((_, i) => (i === axis ? start : 0));
  const sizes = t.shape.map((d, i) => (i === axis ? size : d!));
  return tf.slice(t, begin, sizes);
}

/** Inserts `factor - 1` zeros between neighbours along `axis`: n → (n - 1) · factor + 1. */
export function dilateAxis(tf: Tf, t: Tensor, axis: number, factor: number): Tensor {
  if (factor === 1) return t;
  const n = t.shape[axis]!;
  const expanded = tf.expandDims(t, axis + 1);
  const pads = expanded.shape.map((_, i): [number, number] => (i === axis + 1 ? [0, factor - 1] : [0, 0]));
  const shape = [...t.shape];
  shape[axis] = n * factor;
  return sliceAxis(tf, tf.reshape(tf.pad(expanded, pads), shape), axis, 0, (n - 1) * factor + 1);
}

/** Pads (or, for negative amounts, crops) each axis by [begin, end]. */
export function padOrCrop(tf: Tf, t: Tensor, pads: readonly (readonly [number, number])[], value = 0): Tensor {
  let out = t;
  if (pads.some(([b, e]) => b < 0 || e < 0)) {
    const begin = pads.map(([b]) => Math.max(0, -b));
    const size = out.shape.map((d, i) => d! - begin[i]! - Math.max(0, -pads[i]![1]));
    out = tf.slice(out, begin, size);
  }
  if (pads.some(([b, e]) => b > 0 || e > 0)) out = tf.pad(out, pads.map(([b, e]) => [Math.max(0, b), Math.max(0, e)] as [number, number]), value);
  return out;
}

/** A constant tensor broadcastable along physical axis `at` of a rank-`rank` value. */
export function vectorAlong(tf: Tf, v: Tensor, rank: number, at: number): Tensor {
  const shape = Array.from({ length: rank }, (_, i) => (i === at ? v.size : 1));
  return tf.reshape(v, shape);
}

/** torch.roll along one axis (positive shifts move elements towards higher indices). */
export function roll(tf: Tf, t: Tensor, shift: number, axis: number): Tensor {
  const n = t.shape[axis]!;
  const s = ((shift % n) + n) % n;
  if (s === 0) return t;
  return tf.concat([sliceAxis(tf, t, axis, n - s, s), sliceAxis(tf, t, axis, 0, n - s)], axis);
}
