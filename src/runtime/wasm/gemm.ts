/**
 * The runtime's 2-d convolution (weight [o, c, kh, kw]) as matrix products, for layers whose weight
 * outweighs their activations (the deep, small-image layers: ResNet's 512-channel 2×2 ones at 64×64).
 *
 * XNNPACK packs the right-hand operand of a convolution or a matrix product (the "weights") into
 * its own layout on every call with a new tensor, at some 10 ns an element; a weight changes every
 * step, so each of its convolutions (forward and input gradient) packs it again, which for a
 * 512×512×3×3 weight at a 2×2 image costs twice the arithmetic. Here the weight is always the
 * left-hand operand (never packed) and the activations the packed one. With cols = im2col(x) as
 * [p, k] (p = b·ho·wo output pixels, k = c·kh·kw in the weight's own order) and W = weight as [o, k]:
 *
 * - forward:         yᵀ[o, p] = W · colsᵀ            (then transposed to channels-last)
 * - filter gradient: dW[o, k] = dyᵀ · cols           (already the weight's layout)
 * - input gradient:  dcolsᵀ[k, p] = Wᵀ · dyᵀ         (then summed back into dx: col2im)
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Info, Ops } from "./ops.js";
import { simdKernels } from "./simd.js";

/** What the three products need of a 2-d convolution's geometry (dilation 1). */
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

export type Direction = "forward" | "input" | "filter";

/**
 * Whether the products beat XNNPACK's convolution, per direction. Forward and input gradient from
 * rough costs per element on one thread: packing an operand ~10 ns, a transpose or im2col ~3 ns,
 * col2im ~2 ns; a convolution packs its weight (o·k) on every call, the products pack an
 * activation (p·k or p·o) instead and pay for im2col and transposes. The filter gradient as a
 * convolution (dy as a kernel the size of the image) takes XNNPACK's slow path: measured on
 * ResNet-18 and EfficientNet-B0, the product is faster up to some eight output pixels per output
 * channel, and for 1×1 layers (no im2col) at any size. Dilated kernels never come here (the
 * runtime spreads them).
 */
export const prefersGemm: Record<Direction, (g: Geometry) => boolean> = {
  forward: (g) => 10 * g.o * k(g) > 12 * p(g) * k(g) + 3 * p(g) * g.o,
  input: (g) => 10 * g.o * k(g) > 13 * p(g) * g.o + 2 * p(g) * k(g),
  filter: (g) => g.kh * g.kw === 1 || p(g) <= 8 * g.o,
};

const k = (g: Geometry) => g.c * g.kh * g.kw;
const p = (g: Geometry) => g.b * g.ho * g.wo;

/** For each output pixel p, each tap (i, j): the input pixel's offset, or -1 in the padding. */
export function taps(g: Geometry): Int32Array {
  const k2 = g.kh * g.kw;
  const at = new Int32Array(g.b * g.ho * g.wo * k2);
  let n = 0;
  for (let b = 0; b < g.b; b++)
    for (let y = 0; y < g.ho; y++)
      for (let x = 0; x < g.wo; x++)
        for (let i = 0; i < g.kh; i++) {
          const row = y * g.sh + i - g.top;
          for (let j = 0; j < g.kw; j++, n++) {
            const col = x * g.sw + j - g.left;
            at[n] = row < 0 || row >= g.h || col < 0 || col >= g.w ? -1 : ((b * g.h + row) * g.w + col) * g.c;
          }
        }
  return at;
}

/**
 * The patches of x (NHWC) as [p, c·kh·kw], or as its transpose [c·kh·kw, p] when `transposed`, zero
 * in the padding: a loop over the heap.
 */
export function im2col(ops: Ops, x: Info, g: Geometry, at: Int32Array, transposed: boolean): Info {
  if (!transposed && g.kh * g.kw * g.sh * g.sw === 1 && g.top === 0 && g.left === 0 && g.ho === g.h && g.wo === g.w) return ops.reshape(x, [g.b * g.h * g.w, g.c]);
  const k2 = g.kh * g.kw;
  const k = g.c * k2;
  const p = g.b * g.ho * g.wo;
  const out = ops.output(transposed ? [k, p] : [p, k], "float32");
  const src = ops.backend.typedArrayFromHeap(x) as Float32Array;
  const dst = ops.backend.typedArrayFromHeap(out) as Float32Array;
  // Element (q, ch·k2 + t) sits at q·qStep + (ch·k2 + t)·kStep.
  const [qStep, kStep] = transposed ? [1, p] : [k, 1];
  const chStep = k2 * kStep;
  for (let q = 0; q < p; q++)
    for (let t = 0; t < k2; t++) {
      const from = at[q * k2 + t]!;
      if (from < 0) continue;
      for (let ch = 0, to = q * qStep + t * kStep; ch < g.c; ch++, to += chStep) dst[to] = src[from + ch]!;
    }
  return out;
}

/** dx (NHWC) from dcolsᵀ [c·kh·kw, p]: each patch element added back where it came from. */
export function col2im(ops: Ops, colsT: Info, g: Geometry, at: Int32Array): Info {
  const k2 = g.kh * g.kw;
  const p = g.b * g.ho * g.wo;
  const out = ops.output([g.b, g.h, g.w, g.c], "float32");
  const src = ops.backend.typedArrayFromHeap(colsT) as Float32Array;
  const dst = ops.backend.typedArrayFromHeap(out) as Float32Array;
  for (let ch = 0; ch < g.c; ch++)
    for (let t = 0; t < k2; t++) {
      const row = (ch * k2 + t) * p;
      for (let q = 0; q < p; q++) {
        const to = at[q * k2 + t]!;
        if (to >= 0) dst[to + ch]! += src[row + q]!;
      }
    }
  return out;
}

/**
 * x [r, c] transposed to [c, r]. With r and c multiples of four, four rows at a time in WebAssembly
 * SIMD (simd.ts), in strips of 256 columns: on ResNet-18 some 1.7 times the speed of the loop
 * below (a 512×4608 weight in ~6 ms). Otherwise a loop over the heap in tiles of 64 rows by 16
 * columns, four columns at a time; either is over twice the backend's Transpose's speed.
 */
export function transpose2d(ops: Ops, x: Info, r: number, c: number): Info {
  const out = ops.backend.makeOutput([c, r], "float32");
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

/**
 * a · b as [1, m, n] (a [m, k], b [k, n]). Neither is transposed and there is one batch: the
 * backend's other matrix products (transposed operands, batches) run several times slower.
 */
export function matMul(ops: Ops, a: Info, b: Info): Info {
  const [m, k] = a.shape as [number, number];
  const n = b.shape[1]!;
  return ops.run("BatchMatMul", { a: ops.reshape(a, [1, m, k]), b: ops.reshape(b, [1, k, n]) }, { transposeA: false, transposeB: false });
}

export function gemmForward(ops: Ops, x: Info, filter: Info, g: Geometry): Info {
  const colsT = im2col(ops, x, g, taps(g), true);
  const yT = matMul(ops, ops.reshape(filter, [g.o, k(g)]), colsT);
  return ops.reshape(transpose2d(ops, yT, g.o, p(g)), [g.b, g.ho, g.wo, g.o]);
}

/** dW [o, c, kh, kw] = dyᵀ · cols, already in the weight's layout. */
export function gemmFilterGradient(ops: Ops, x: Info, dy: Info, g: Geometry): Info {
  const cols = im2col(ops, x, g, taps(g), false);
  return ops.reshape(matMul(ops, transpose2d(ops, dy, p(g), g.o), cols), [g.o, g.c, g.kh, g.kw]);
}

export function gemmInputGradient(ops: Ops, dy: Info, filter: Info, g: Geometry): Info {
  const wT = transpose2d(ops, filter, g.o, k(g));
  const dyT = transpose2d(ops, dy, p(g), g.o);
  return col2im(ops, matMul(ops, wT, dyT), g, taps(g));
}
