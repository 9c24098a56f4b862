/**
 * What the runtime's 2-d convolution kernels need of a call's geometry, and 2-d transposes over the
 * backend's heap (in SIMD where the sizes allow).
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Info, Ops } from "./ops.js";
import { simdKernels } from "./simd.js";

/** A 2-d convolution's geometry (dilation 1), NHWC. */
export interface Geometry {
  b: number;
  h: number;
  w: number;
  c: number;
  o: number;
  kh: number;
  kw: number;
  ho: number;
  wo: number;
  sh: number;
  sw: number;
  top: number;
  left: number;
}

export function geometry(info: tfjs.backend_util.Conv2DInfo): Geometry {
  return {
    b: info.batchSize,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    o: info.outChannels,
    kh: info.filterHeight,
    kw: info.filterWidth,
    ho: info.outHeight,
    wo: info.outWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

/**
 * x [r, c] transposed to [c, r]. With r and c multiples of four, four rows at a time in WebAssembly
 * SIMD (simd.ts), in strips of 256 columns: on ResNet-18 some 1.7 times the speed of the loop
 * below (a 512×4608 weight in ~6 ms). Otherwise a loop over the heap in tiles of 64 rows by 16
 * columns, four columns at a time; either is over twice the backend's Transpose's speed.
 */
export function transpose2d(ops: Ops, x: Info, r: number, c: number, shape: number[] = [c, r]): Info {
  const out = ops.backend.makeOutput(shape, "float32");
  ops.adopt(out);
  const src = ops.backend.typedArrayFromHeap(x) as Float32Array;
  const dst = ops.backend.typedArrayFromHeap(out) as Float32Array;
  const transpose4 = r % 4 === 0 && c % 4 === 0 ? simdKernels(ops.backend)?.transpose4 : undefined;
  if (transpose4) {
    const STRIP = 256;
    for (let j0 = 0; j0 < c; j0 += STRIP) {
      const bytes = Math.min(STRIP, c - j0) * 4;
      for (let i0 = 0; i0 < r; i0 += 4) transpose4(src.byteOffset + (i0 * c + j0) * 4, dst.byteOffset + (j0 * r + i0) * 4, c * 4, r * 4, bytes);
    }
    return out;
  }
  const ROWS = 64;
  const COLS = 16;
  for (let i0 = 0; i0 < r; i0 += ROWS) {
    const i1 = Math.min(r, i0 + ROWS);
    for (let j0 = 0; j0 < c; j0 += COLS) {
      const j1 = Math.min(c, j0 + COLS);
      let j = j0;
      for (; j + 4 <= j1; j += 4) {
        const to0 = j * r;
        const to1 = to0 + r;
        const to2 = to1 + r;
        const to3 = to2 + r;
        for (let i = i0, from = i * c + j; i < i1; i++, from += c) {
          dst[to0 + i] = src[from]!;
          dst[to1 + i] = src[from + 1]!;
          dst[to2 + i] = src[from + 2]!;
          dst[to3 + i] = src[from + 3]!;
        }
      }
      for (; j < j1; j++) for (let i = i0, from = i * c + j, to = j * r; i < i1; i++, from += c) dst[to + i] = src[from]!;
    }
  }
  return out;
}
