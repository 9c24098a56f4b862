/**
 * Sum and Mean over leading axes ([N, H, W, C] → [C]), as one pass over the heap. The wasm backend
 * first transposes the reduced axes innermost (a full copy at some 15 ns an element) and then sums
 * in float32; in a training step that is every batch-norm statistic and gradient and every
 * broadcast's gradient over channels-last tensors. This loop reads the input once, a block of rows
 * at a time, and accumulates in float64, as the pure-JS backend does: several times as fast, and
 * closer to pure JS. Other reductions (innermost axes; middle axes, where the backend's transpose
 * is cheap) and other dtypes stay with the backend's kernels.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Tf } from "../types.js";
import { composed } from "./ops.js";

/** Consecutive axes merged while all reduced or all kept: sizes and whether each group is reduced. */
function groups(shape: readonly number[], reduced: ReadonlySet<number>): { sizes: number[]; reduce: boolean[] } {
  const sizes: number[] = [];
  const reduce: boolean[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const r = reduced.has(i);
    if (reduce.length && reduce[reduce.length - 1] === r) sizes[sizes.length - 1]! *= d;
    else {
      sizes.push(d);
      reduce.push(r);
    }
  });
  return { sizes, reduce };
}

/** Rows read per pass of eight columns: a block of rows stays in cache while its columns are summed. */
const ROWS = 256;

/**
 * acc[k] = Σ_r src[r · inner + k], in float64. Eight columns at a time are summed in registers over
 * a block of rows (two thirds of the memory traffic of adding each element into acc), the remaining
 * columns element by element.
 */
function columnSums(src: Float32Array, inner: number, acc: Float64Array): void {
  const rows = src.length / inner;
  const blocked = inner - (inner % 8);
  for (let r0 = 0; r0 < rows; r0 += ROWS) {
    const r1 = Math.min(rows, r0 + ROWS);
    for (let k = 0; k < blocked; k += 8) {
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let a4 = 0;
      let a5 = 0;
      let a6 = 0;
      let a7 = 0;
      for (let r = r0, at = r0 * inner + k; r < r1; r++, at += inner) {
        a0 += src[at]!;
        a1 += src[at + 1]!;
        a2 += src[at + 2]!;
        a3 += src[at + 3]!;
        a4 += src[at + 4]!;
        a5 += src[at + 5]!;
        a6 += src[at + 6]!;
        a7 += src[at + 7]!;
      }
      acc[k]! += a0;
      acc[k + 1]! += a1;
      acc[k + 2]! += a2;
      acc[k + 3]! += a3;
      acc[k + 4]! += a4;
      acc[k + 5]! += a5;
      acc[k + 6]! += a6;
      acc[k + 7]! += a7;
    }
    for (let r = r0; r < r1; r++) for (let k = blocked, at = r * inner; k < inner; k++) acc[k]! += src[at + k]!;
  }
}

function reduction(tf: Tf, original: tfjs.KernelFunc | undefined, mean: boolean): tfjs.KernelFunc {
  const fallback = (args: Parameters<tfjs.KernelFunc>[0]) => {
    if (!original) throw new Error(`the wasm backend has no ${mean ? "Mean" : "Sum"} kernel`);
    return original(args);
  };
  const loop = composed(tf, (ops, { inputs, backend, attrs }) => {
    const x = inputs.x!;
    const reduced = new Set(tf.util.parseAxisParam(attrs.axis as number | number[], x.shape));
    const outShape = attrs.keepDims ? x.shape.map((d, i) => (reduced.has(i) ? 1 : d)) : x.shape.filter((_, i) => !reduced.has(i));
    const out = ops.output(outShape, "float32");
    const src = backend.typedArrayFromHeap(x) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    const inner = dst.length;
    const acc = new Float64Array(inner);
    columnSums(src, inner, acc);
    const scale = mean ? inner / src.length : 1;
    for (let k = 0; k < inner; k++) dst[k] = acc[k]! * scale;
    return out;
  });
  return (args) => {
    const x = (args.inputs as Record<string, tfjs.TensorInfo>).x!;
    if (x.dtype !== "float32" || x.shape.length === 0) return fallback(args);
    const axes = tf.util.parseAxisParam((args.attrs as { axis: number | number[] }).axis, x.shape);
    const { sizes, reduce } = groups(x.shape, new Set(axes));
    // Only [reduced, kept] after merging: reduced axes leading, kept axes trailing.
    if (sizes.length !== 2 || !reduce[0]) return fallback(args);
    return loop(args);
  };
}

export function sum(tf: Tf, original: tfjs.KernelFunc | undefined): tfjs.KernelFunc {
  return reduction(tf, original, false);
}

export function mean(tf: Tf, original: tfjs.KernelFunc | undefined): tfjs.KernelFunc {
  return reduction(tf, original, true);
}
