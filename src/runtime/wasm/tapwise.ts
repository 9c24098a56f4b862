/**
 * The filter gradient of a 2-d convolution (weight [o, c, kh, kw]) as one matrix product per filter
 * tap, with no im2col: dW[:, :, i, j]ᵀ = x(i, j) · dy, where x(i, j) [c, p] holds, for each channel
 * and output pixel, the input value tap (i, j) reads (zero in the padding), gathered from x
 * transposed once to [c, b·h·w] in runs along output rows. The products' right-hand operand is dy
 * [p, o] itself for every tap: XNNPACK packs it once (it keeps a packed operand per tensor) where
 * im2col's single product packs all p·c·kh·kw patch values, and each left-hand x(i, j) is read as
 * it is.
 */
import type { Info, Ops } from "./ops.js";
import { type Geometry, matMul, transpose2d } from "./gemm.js";

/**
 * Whether the filter gradient runs tap by tap: kernels wider than 1×1 (a 1×1 one needs no im2col)
 * with at least two output pixels per output channel. Measured on ResNet-18 at 64×64, batch 16, one
 * thread (ms per call, the convolution or single product it replaces → tap by tap): 16×16×64 → 64
 * 19.4 → 16.9, 8×8×128 → 128 19.2 → 15.1, 16×16×64 → 128 stride 2 9.4 → 8.0, the 7×7 stem 25.4 →
 * 24.3; 4×4×256 → 256 (one pixel per channel) 15.0 → 16.4, so it stays a single product.
 */
export const prefersTapwise = (g: Geometry): boolean => g.kh * g.kw > 1 && g.b * g.ho * g.wo >= 2 * g.o;

export function tapwiseFilterGradient(ops: Ops, x: Info, dy: Info, g: Geometry): Info {
  const p = g.b * g.ho * g.wo;
  const xT = transpose2d(ops, x, g.b * g.h * g.w, g.c);
  const dy2 = ops.reshape(dy, [p, g.o]);
  const parts: Info[] = [];
  for (let i = 0; i < g.kh; i++)
    for (let j = 0; j < g.kw; j++) {
      // Output column z reads input column z·sw + j - left; [z0, z1) of them lie inside the image.
      const z0 = Math.max(0, Math.ceil((g.left - j) / g.sw));
      const z1 = Math.min(g.wo, Math.floor((g.w - 1 + g.left - j) / g.sw) + 1);
      const shifted = ops.output([g.c, p], "float32");
      // Views after the allocation: growing the heap detaches the older ones.
      const src = ops.backend.typedArrayFromHeap(xT) as Float32Array;
      const dst = ops.backend.typedArrayFromHeap(shifted) as Float32Array;
      const plane = g.b * g.h * g.w;
      for (let ch = 0; ch < g.c; ch++)
        for (let n = 0; n < g.b; n++)
          for (let y = 0; y < g.ho; y++) {
            const row = y * g.sh + i - g.top;
            if (row < 0 || row >= g.h) continue;
            const from = ch * plane + (n * g.h + row) * g.w + j - g.left;
            const to = ch * p + (n * g.ho + y) * g.wo;
            if (g.sw === 1) for (let z = z0; z < z1; z++) dst[to + z] = src[from + z]!;
            else for (let z = z0; z < z1; z++) dst[to + z] = src[from + z * g.sw]!;
          }
      parts.push(matMul(ops, shifted, dy2));
    }
  // parts[t] is [1, c, o]; dW[o, c, t].
  const k2 = g.kh * g.kw;
  const out = ops.backend.makeOutput([g.o, g.c, g.kh, g.kw], "float32");
  ops.adopt(out);
  const dw = ops.backend.typedArrayFromHeap(out) as Float32Array;
  for (let t = 0; t < k2; t++) {
    const part = ops.backend.typedArrayFromHeap(parts[t]!) as Float32Array;
    for (let ch = 0, e = 0; ch < g.c; ch++) for (let o = 0; o < g.o; o++, e++) dw[(o * g.c + ch) * k2 + t] = part[e]!;
  }
  return out;
}
