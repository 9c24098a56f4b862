/**
 * The runtime's 2-d convolution (weight [o, c, kh, kw], activations NHWC) in its three directions
 * as products of simd-gemm.ts, whose tables of row pointers read the operands where they lie:
 *
 * - forward, y[p, o] = Σ x(p, tap)[c] · w[o, c, tap]: a row of A per output pixel and kernel row,
 *   pointing at the kw·c contiguous inputs that row of the window covers in x padded once; B the
 *   weight as [kh, kw, c, o]. Where the weight outweighs the pixels, yᵀ = w · colsᵀ instead: the
 *   weight read as it is, the patches as rows (gemm.ts's im2col), and yᵀ transposed back.
 * - input gradient, stride 1: the same over dy padded by the kernel's reach, B rows the weight as
 *   [kh, kw, o, c] taken in reverse along kw. Otherwise dcolsᵀ = wᵀ · dyᵀ (wᵀ read through its
 *   columns, no transpose) summed back into dx (col2im).
 * - filter gradient: dw[o, ·] = dyᵀ · x(tap) per tap, dyᵀ read through its columns and x(tap)'s rows
 *   pointing at each output pixel's input for that tap (zeros in the padding), written as
 *   [o, kh, kw, c] and reordered; with few channels, dyᵀ · cols in the weight's own layout.
 *
 * The reductions run in chunks of at most some hundreds of steps so that C's rows and the chunk's
 * operands stay in cache.
 */
import type { Info, Ops } from "./ops.js";
import { type Geometry, col2im, im2col, taps, transpose2d } from "./gemm.js";
import type { GemmSimd } from "./simd.js";

/** Byte offset of a tensor's data in the backend's memory. */
const address = (ops: Ops, x: Info): number => ops.backend.typedArrayFromHeap(x).byteOffset;

/** A table of byte pointers in the backend's memory; its address. */
function table(ops: Ops, values: Int32Array): number {
  const t = ops.adopt(ops.backend.makeOutput([values.length], "int32"));
  const view = ops.backend.typedArrayFromHeap(t) as Int32Array;
  view.set(values);
  return view.byteOffset;
}

/** A fresh output the product fills entirely (not zeroed). */
function filled(ops: Ops, shape: number[]): Info {
  return ops.adopt(ops.backend.makeOutput(shape, "float32"));
}

/** Splits a reduction of k steps into equal chunks of at most `most`: [chunks, steps per chunk]. */
function chunking(k: number, most = 64): [number, number] {
  for (let t = Math.ceil(k / most); t <= k; t++) if (k % t === 0) return [t, k / t];
  return [1, k];
}

interface Product {
  /** A(m, t·kt + j) at aTab[m·chunks + t] + j·sAk. */
  aTab: Int32Array;
  sAk: number;
  chunks: number;
  kt: number;
  /** B(k, n) at bTab[k] + 4n. */
  bTab: Int32Array;
  /** C(m, n) at c + m·ldc + 4n. */
  c: number;
  ldc: number;
  m: number;
  n: number;
}

function multiply(ops: Ops, gemm: GemmSimd, p: Product): void {
  gemm(table(ops, p.aTab), p.sAk, p.chunks, p.kt, table(ops, p.bTab), p.c, p.ldc, 0, p.m, p.n);
}

/** A row-major matrix's rows as a table, `rows` of `stride` floats from `base`, in chunks of kt. */
function rowsOf(base: number, m: number, strideBytes: number, chunks: number, chunkBytes: number): Int32Array {
  const t = new Int32Array(m * chunks);
  for (let i = 0, e = 0; i < m; i++) for (let j = 0; j < chunks; j++, e++) t[e] = base + i * strideBytes + j * chunkBytes;
  return t;
}

const k = (g: Geometry) => g.c * g.kh * g.kw;
const pixels = (g: Geometry) => g.b * g.ho * g.wo;

/**
 * A per output pixel and kernel row over `src` (NHWC, `channels` deep) padded so that every window
 * lies inside: rows [hp, wp]; a window starts at (y·sh, x·sw).
 */
function windowRows(base: number, g: Geometry, channels: number, hp: number, wp: number): Int32Array {
  const t = new Int32Array(pixels(g) * g.kh);
  let e = 0;
  for (let n = 0; n < g.b; n++) for (let y = 0; y < g.ho; y++) for (let x = 0; x < g.wo; x++) for (let i = 0; i < g.kh; i++) t[e++] = base + ((n * hp + y * g.sh + i) * wp + x * g.sw) * channels * 4;
  return t;
}

/** Whether the weight outweighs the pixels, so that it is best read as it is. */
const weightHeavy = (g: Geometry) => pixels(g) <= g.o;

export function productForward(ops: Ops, gemm: GemmSimd, x: Info, filter: Info, g: Geometry): Info {
  const p = pixels(g);
  if (weightHeavy(g)) {
    // yᵀ[o, p] = w[o, k] · colsᵀ[k, p]
    const colsT = im2col(ops, x, g, taps(g), true);
    const yT = filled(ops, [g.o, p]);
    const [chunks, kt] = chunking(k(g));
    const cols = address(ops, colsT);
    multiply(ops, gemm, {
      aTab: rowsOf(address(ops, filter), g.o, k(g) * 4, chunks, kt * 4),
      sAk: 4,
      chunks,
      kt,
      bTab: Int32Array.from({ length: k(g) }, (_, r) => cols + r * p * 4),
      c: address(ops, yT),
      ldc: p * 4,
      m: g.o,
      n: p,
    });
    return ops.reshape(transpose2d(ops, yT, g.o, p), [g.b, g.ho, g.wo, g.o]);
  }
  const hp = (g.ho - 1) * g.sh + g.kh;
  const wp = (g.wo - 1) * g.sw + g.kw;
  const xp = ops.padOrCrop(x, [
    [0, 0],
    [g.top, hp - g.h - g.top],
    [g.left, wp - g.w - g.left],
    [0, 0],
  ]);
  const wf = ops.transpose(filter, [2, 3, 1, 0]);
  const y = filled(ops, [g.b, g.ho, g.wo, g.o]);
  const kt = g.kw * g.c;
  const base = address(ops, wf);
  multiply(ops, gemm, {
    aTab: windowRows(address(ops, xp), g, g.c, hp, wp),
    sAk: 4,
    chunks: g.kh,
    kt,
    bTab: Int32Array.from({ length: k(g) }, (_, r) => base + r * g.o * 4),
    c: address(ops, y),
    ldc: g.o * 4,
    m: p,
    n: g.o,
  });
  return y;
}

export function productInputGradient(ops: Ops, gemm: GemmSimd, dy: Info, filter: Info, g: Geometry): Info {
  const p = pixels(g);
  if (g.sh > 1 || g.sw > 1 || weightHeavy(g)) {
    // dcolsᵀ[(c, tap), p] = Σ_o w[o, (c, tap)] · dyᵀ[o, p], then summed back into dx.
    const dyT = transpose2d(ops, dy, p, g.o);
    const colsT = filled(ops, [k(g), p]);
    const [chunks, kt] = chunking(g.o);
    const rows = address(ops, dyT);
    multiply(ops, gemm, {
      aTab: rowsOf(address(ops, filter), k(g), 4, chunks, kt * k(g) * 4),
      sAk: k(g) * 4,
      chunks,
      kt,
      bTab: Int32Array.from({ length: g.o }, (_, r) => rows + r * p * 4),
      c: address(ops, colsT),
      ldc: p * 4,
      m: k(g),
      n: p,
    });
    return col2im(ops, colsT, g, taps(g));
  }
  // Stride 1: dx[q] = Σ dy[q + top - i, left - j] · w[·, ·, i, j], over dy padded so that every window
  // of the kernel's size lies inside; along a window row the columns run as j falls.
  const hd = g.h + g.kh - 1;
  const wd = g.w + g.kw - 1;
  const before = [g.kh - 1 - g.top, g.kw - 1 - g.left];
  const dyp = ops.padOrCrop(dy, [
    [0, 0],
    [before[0]!, hd - before[0]! - g.ho],
    [before[1]!, wd - before[1]! - g.wo],
    [0, 0],
  ]);
  const wi = ops.transpose(filter, [2, 3, 0, 1]);
  const dx = filled(ops, [g.b, g.h, g.w, g.c]);
  const aTab = new Int32Array(g.b * g.h * g.w * g.kh);
  const base = address(ops, dyp);
  let e = 0;
  for (let n = 0; n < g.b; n++) for (let y = 0; y < g.h; y++) for (let x = 0; x < g.w; x++) for (let i = 0; i < g.kh; i++) aTab[e++] = base + ((n * hd + y + g.kh - 1 - i) * wd + x) * g.o * 4;
  const bTab = new Int32Array(g.kh * g.kw * g.o);
  const wBase = address(ops, wi);
  e = 0;
  for (let i = 0; i < g.kh; i++) for (let jj = 0; jj < g.kw; jj++) for (let o = 0; o < g.o; o++) bTab[e++] = wBase + ((i * g.kw + g.kw - 1 - jj) * g.o + o) * g.c * 4;
  multiply(ops, gemm, { aTab, sAk: 4, chunks: g.kh, kt: g.kw * g.o, bTab, c: address(ops, dx), ldc: g.c * 4, m: g.b * g.h * g.w, n: g.c });
  return dx;
}

export function productFilterGradient(ops: Ops, gemm: GemmSimd, x: Info, dy: Info, g: Geometry): Info {
  const p = pixels(g);
  const [chunks, kt] = chunking(p);
  // A = dyᵀ: row o is dy's column o, a step of o floats per pixel.
  const aTab = rowsOf(address(ops, dy), g.o, 4, chunks, kt * g.o * 4);
  if (g.c % 4 !== 0 || g.c < 16 || weightHeavy(g)) {
    // dw[o, (c, tap)] = dyᵀ · cols, in the weight's own layout.
    const cols = im2col(ops, x, g, taps(g), false);
    const dw = filled(ops, [g.o, g.c, g.kh, g.kw]);
    const rows = address(ops, cols);
    multiply(ops, gemm, { aTab, sAk: g.o * 4, chunks, kt, bTab: Int32Array.from({ length: p }, (_, r) => rows + r * k(g) * 4), c: address(ops, dw), ldc: k(g) * 4, m: g.o, n: k(g) });
    return dw;
  }
  const zeros = ops.output([g.c]);
  const dwr = filled(ops, [g.o, g.kh, g.kw, g.c]);
  const xBase = address(ops, x);
  const zero = address(ops, zeros);
  const out = address(ops, dwr);
  const bTab = new Int32Array(p);
  const aAt = table(ops, aTab);
  for (let i = 0; i < g.kh; i++)
    for (let j = 0; j < g.kw; j++) {
      let e = 0;
      for (let n = 0; n < g.b; n++)
        for (let y = 0; y < g.ho; y++) {
          const row = y * g.sh + i - g.top;
          for (let z = 0; z < g.wo; z++, e++) {
            const col = z * g.sw + j - g.left;
            bTab[e] = row < 0 || row >= g.h || col < 0 || col >= g.w ? zero : xBase + ((n * g.h + row) * g.w + col) * g.c * 4;
          }
        }
      gemm(aAt, g.o * 4, chunks, kt, table(ops, bTab), out + (i * g.kw + j) * g.c * 4, k(g) * 4, 0, g.o, g.c);
    }
  return ops.transpose(dwr, [0, 3, 1, 2]);
}
