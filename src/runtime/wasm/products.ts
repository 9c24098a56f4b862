/**
 * The runtime's 2-d convolution (weight [o, c, kh, kw], activations NHWC) in its three directions
 * as products of simd-gemm.ts, whose tables of row pointers read the operands where they lie.
 * Most layers have more pixels than output channels ("activation-heavy"):
 *
 * - forward, y[p, o] = Σ_tap x(p, tap)·w(tap): a row of A per output pixel and tap, pointing at the
 *   c contiguous inputs that tap reads (or at zeros outside the image); B the weight transposed.
 * - input gradient, stride 1: the same over dy (taps mirrored), B the weight as [tap, o, c].
 * - filter gradient: dw[o, tap, ·] = dyᵀ · x(tap), one product per tap: A is dyᵀ (dy read through
 *   its columns), B's rows the input pixels of that tap; reordered to [o, c, tap] by a strided move.
 *
 * With fewer than 16 channels (a stem's 3: a tap would be a run of 3 floats) the patches are moved
 * into rows first, a window row at a time from a padded copy, and read as a matrix.
 *
 * Where the weight outweighs the pixels (ResNet's last stages at 64×64) it is read as it is, and
 * the activations' patches are moved instead (im2col and col2im below, in WebAssembly):
 * yᵀ = w · colsᵀ, dcolsᵀ = wᵀ · dyᵀ (wᵀ read through its columns), dw = dyᵀ · cols. Strided input
 * gradients take the dcolsᵀ form too.
 *
 * The reductions run in chunks of some tens of steps, so that a chunk's rows of A and B and the
 * tile of C stay in the first-level cache (and its TLB, where A or B steps a page at a time).
 */
import type { Info, Ops } from "./ops.js";
import { type Geometry, transpose2d } from "./geometry.js";
import type { SimdKernels } from "./simd.js";

type Kernels = Pick<SimdKernels, "gemm" | "move">;

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
const filled = (ops: Ops, shape: number[]): Info => ops.adopt(ops.backend.makeOutput(shape, "float32"));

/** A reduction of k steps as equal chunks of `most` steps or somewhat fewer: [chunks, steps per chunk]. */
function chunking(k: number, most = 64): [number, number] {
  for (let t = Math.ceil(k / most); t <= 2 * Math.ceil(k / most); t++) if (k % t === 0) return [t, k / t];
  return [1, k];
}

interface Product {
  /** A(m, t·kt + j) at aTab[m·chunks + t] + j·sAk. */
  aTab: Int32Array | number;
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

function multiply(ops: Ops, { gemm }: Kernels, p: Product): void {
  const aTab = typeof p.aTab === "number" ? p.aTab : table(ops, p.aTab);
  gemm(aTab, p.sAk, p.chunks, p.kt, table(ops, p.bTab), p.c, p.ldc, 0, p.m, p.n);
}

/** `m` rows `stride` bytes apart from `base`, each in `chunks` pieces `chunk` bytes apart: A's table. */
function rowsOf(base: number, m: number, stride: number, chunks: number, chunk: number): Int32Array {
  const t = new Int32Array(m * chunks);
  for (let i = 0, e = 0; i < m; i++) for (let j = 0; j < chunks; j++, e++) t[e] = base + i * stride + j * chunk;
  return t;
}

/** The most floats of a window row one chunk of a product reduces over (in cache). */
const SPLIT = 256;
const k = (g: Geometry) => g.c * g.kh * g.kw;
const pixels = (g: Geometry) => g.b * g.ho * g.wo;

/** Whether the weight outweighs the pixels, so that it is best read as it is. */
const weightHeavy = (g: Geometry) => pixels(g) < g.o;

/** x padded (or cropped) so that every window lies inside: [b, hp, wp, c] with its hp, wp. */
function windowed(ops: Ops, x: Info, g: Geometry): { xp: Info; hp: number; wp: number } {
  const hp = (g.ho - 1) * g.sh + g.kh;
  const wp = (g.wo - 1) * g.sw + g.kw;
  const xp = ops.padOrCrop(x, [[0, 0], [g.top, hp - g.h - g.top], [g.left, wp - g.w - g.left], [0, 0]]);
  return { xp, hp, wp };
}

/** Per output pixel, for kernel row i, where its window row starts in xp (padded by windowed()). */
function windowRow(base: number, g: Geometry, hp: number, wp: number, i: number): Int32Array {
  const t = new Int32Array(pixels(g));
  let e = 0;
  for (let n = 0; n < g.b; n++) for (let y = 0; y < g.ho; y++) for (let x = 0; x < g.wo; x++) t[e++] = base + ((n * hp + y * g.sh + i) * wp + x * g.sw) * g.c * 4;
  return t;
}

/**
 * The patches of x as rows [p, (i, j, c)] (the taps' order, channels innermost): one run of kw·c
 * floats per output pixel and kernel row, copied from x padded (for few channels, where a run a
 * tap would be a few floats).
 */
function windowCols(ops: Ops, { move }: Kernels, x: Info, g: Geometry): Info {
  const { xp, hp, wp } = windowed(ops, x, g);
  const p = pixels(g);
  const run = g.kw * g.c;
  const cols = filled(ops, [p, k(g)]);
  const base = address(ops, cols);
  const rows = Array.from({ length: g.kh }, (_, i) => windowRow(address(ops, xp), g, hp, wp, i));
  const src = new Int32Array(p * g.kh);
  const dst = new Int32Array(p * g.kh);
  for (let q = 0, e = 0; q < p; q++) for (let i = 0; i < g.kh; i++, e++) [src[e], dst[e]] = [rows[i]![q]!, base + (q * k(g) + i * run) * 4];
  move(table(ops, src), 4, table(ops, dst), 4, p * g.kh, run, 0);
  return cols;
}

/**
 * The patches of x (NHWC) as cols [p, (c, tap)] (the weight's own order), or colsᵀ [(c, tap), p];
 * zero in the padding. One run of c floats per pixel and tap, in WebAssembly (move).
 */
function im2col(ops: Ops, { move }: Kernels, x: Info, g: Geometry, transposed: boolean): Info {
  const t2 = g.kh * g.kw;
  const p = pixels(g);
  const cols = filled(ops, transposed ? [k(g), p] : [p, k(g)]);
  const zeros = ops.output([g.c]);
  const base = address(ops, cols);
  const from = tapRows(address(ops, x), address(ops, zeros), g, g.c, g.h, g.w, 1, -g.top, 1, -g.left, 1, 0);
  const src = new Int32Array(p * t2);
  const dst = new Int32Array(p * t2);
  // Tap-major when transposed, so that neighbouring runs write neighbouring floats.
  for (let q = 0; q < p; q++)
    for (let t = 0; t < t2; t++) {
      const e = transposed ? t * p + q : q * t2 + t;
      src[e] = from[q * t2 + t]!;
      dst[e] = base + (transposed ? t * p + q : q * k(g) + t) * 4;
    }
  move(table(ops, src), 4, table(ops, dst), (transposed ? t2 * p : t2) * 4, p * t2, g.c, 0);
  return cols;
}

/** dx (NHWC) from dcolsᵀ [(c, tap), p]: each patch element added back where it came from (padding into a sink). */
function col2im(ops: Ops, { move }: Kernels, colsT: Info, g: Geometry): Info {
  const t2 = g.kh * g.kw;
  const p = pixels(g);
  const dx = ops.output([g.b, g.h, g.w, g.c]);
  const junk = ops.output([g.c]);
  const base = address(ops, colsT);
  const to = tapRows(address(ops, dx), address(ops, junk), g, g.c, g.h, g.w, 1, -g.top, 1, -g.left, 1, 0);
  const src = new Int32Array(p * t2);
  const dst = new Int32Array(p * t2);
  for (let t = 0, e = 0; t < t2; t++)
    for (let q = 0; q < p; q++, e++) {
      src[e] = base + (t * p + q) * 4;
      dst[e] = to[q * t2 + t]!;
    }
  move(table(ops, src), t2 * p * 4, table(ops, dst), 4, p * t2, g.c, 1);
  return dx;
}

/**
 * Per output pixel p (of g.b·ho·wo) and tap (i, j): the byte address of the input pixel the tap
 * reads in `src` (NHWC, `channels` deep, h × w pixels) at row y·sh + i·di + oi and column
 * x·sw + j·dj + oj, or `zero` outside it; `parts` entries per tap, kt floats apart.
 */
function tapRows(src: number, zero: number, g: Geometry, channels: number, h: number, w: number, di: number, oi: number, dj: number, oj: number, parts: number, kt: number): Int32Array {
  const t2 = g.kh * g.kw;
  const t = new Int32Array(pixels(g) * t2 * parts);
  let e = 0;
  for (let n = 0; n < g.b; n++)
    for (let y = 0; y < g.ho; y++)
      for (let x = 0; x < g.wo; x++)
        for (let i = 0; i < g.kh; i++) {
          const row = y * g.sh + i * di + oi;
          for (let j = 0; j < g.kw; j++) {
            const col = x * g.sw + j * dj + oj;
            const at = row < 0 || row >= h || col < 0 || col >= w ? -1 : ((n * h + row) * w + col) * channels * 4 + src;
            for (let s = 0; s < parts; s++) t[e++] = at < 0 ? zero : at + s * kt * 4;
          }
        }
  return t;
}

/**
 * Whether a product reads x (or dy) a tap at a time, `channels` floats per chunk, pointing at zeros
 * outside the image; with fewer channels (a stem's 3) over the patches moved into rows (windowCols).
 */
const byTaps = (channels: number) => channels >= 16;

export function productForward(ops: Ops, kernels: Kernels, x: Info, filter: Info, g: Geometry): Info {
  const p = pixels(g);
  if (weightHeavy(g)) {
    // yᵀ[o, p] = w[o, k] · colsᵀ[k, p]
    const colsT = im2col(ops, kernels, x, g, true);
    const yT = filled(ops, [g.o, p]);
    const [chunks, kt] = chunking(k(g));
    const cols = address(ops, colsT);
    multiply(ops, kernels, {
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
    return transpose2d(ops, yT, g.o, p, [g.b, g.ho, g.wo, g.o]);
  }
  // B: the weight transposed to [(c, tap), o], its rows taken in the order (tap, c) the chunks reduce in.
  const t2 = g.kh * g.kw;
  const wT = address(ops, transpose2d(ops, filter, g.o, k(g)));
  const bTab = new Int32Array(k(g));
  for (let t = 0, e = 0; t < t2; t++) for (let c = 0; c < g.c; c++) bTab[e++] = wT + (c * t2 + t) * g.o * 4;
  const y = filled(ops, [g.b, g.ho, g.wo, g.o]);
  if (byTaps(g.c)) {
    const [parts, kt] = chunking(g.c, SPLIT);
    const zeros = ops.output([g.c]);
    const aTab = tapRows(address(ops, x), address(ops, zeros), g, g.c, g.h, g.w, 1, -g.top, 1, -g.left, parts, kt);
    multiply(ops, kernels, { aTab, sAk: 4, chunks: t2 * parts, kt, bTab, c: address(ops, y), ldc: g.o * 4, m: p, n: g.o });
    return y;
  }
  const cols = address(ops, windowCols(ops, kernels, x, g));
  const [chunks, kt] = chunking(k(g), SPLIT);
  multiply(ops, kernels, { aTab: rowsOf(cols, p, k(g) * 4, chunks, kt * 4), sAk: 4, chunks, kt, bTab, c: address(ops, y), ldc: g.o * 4, m: p, n: g.o });
  return y;
}

export function productInputGradient(ops: Ops, kernels: Kernels, dy: Info, filter: Info, g: Geometry): Info {
  const p = pixels(g);
  if (g.sh > 1 || g.sw > 1 || weightHeavy(g) || !byTaps(g.o)) {
    // dcolsᵀ[(c, tap), p] = Σ_o w[o, (c, tap)] · dyᵀ[o, p], then summed back into dx.
    const dyT = transpose2d(ops, dy, p, g.o);
    const colsT = filled(ops, [k(g), p]);
    const [chunks, kt] = chunking(g.o);
    const rows = address(ops, dyT);
    multiply(ops, kernels, {
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
    return col2im(ops, kernels, colsT, g);
  }
  // Stride 1: dx[q] = Σ_{i,j} dy[q + (top - i, left - j)] · w[·, ·, i, j]: a convolution of dy, its
  // pixels the output's, a tap at a time; B the weight as [tap, o, c] ([o·c, tap] transposed).
  const t2 = g.kh * g.kw;
  const wT = address(ops, transpose2d(ops, filter, g.o * g.c, t2));
  const bTab = Int32Array.from({ length: t2 * g.o }, (_, r) => wT + r * g.c * 4);
  const inputs: Geometry = { ...g, ho: g.h, wo: g.w, sh: 1, sw: 1 };
  const [parts, kt] = chunking(g.o, SPLIT);
  const zeros = ops.output([g.o]);
  const aTab = tapRows(address(ops, dy), address(ops, zeros), inputs, g.o, g.ho, g.wo, -1, g.top, -1, g.left, parts, kt);
  const dx = filled(ops, [g.b, g.h, g.w, g.c]);
  multiply(ops, kernels, { aTab, sAk: 4, chunks: t2 * parts, kt, bTab, c: address(ops, dx), ldc: g.c * 4, m: g.b * g.h * g.w, n: g.c });
  return dx;
}

export function productFilterGradient(ops: Ops, kernels: Kernels, x: Info, dy: Info, g: Geometry): Info {
  const p = pixels(g);
  const [chunks, kt] = chunking(p);
  // A = dyᵀ: row o is dy's column o, a step of o floats per pixel.
  const aTab = table(ops, rowsOf(address(ops, dy), g.o, 4, chunks, kt * g.o * 4));
  if (weightHeavy(g)) {
    // dw[o, (c, tap)] = dyᵀ · cols, in the weight's own layout.
    const cols = im2col(ops, kernels, x, g, false);
    const dw = filled(ops, [g.o, g.c, g.kh, g.kw]);
    const rows = address(ops, cols);
    multiply(ops, kernels, { aTab, sAk: g.o * 4, chunks, kt, bTab: Int32Array.from({ length: p }, (_, r) => rows + r * k(g) * 4), c: address(ops, dw), ldc: k(g) * 4, m: g.o, n: k(g) });
    return dw;
  }
  // dw[o, tap, c] = Σ_p dy[p, o] · x(tap of pixel p)[c], one product per tap (B's rows the pixels
  // it reads, zeros outside); with few channels one product over the patches as rows (windowCols).
  const dwr = filled(ops, [g.o, g.kh, g.kw, g.c]);
  const out = address(ops, dwr);
  if (byTaps(g.c)) {
    const t2 = g.kh * g.kw;
    const zeros = ops.output([g.c]);
    const rows = tapRows(address(ops, x), address(ops, zeros), g, g.c, g.h, g.w, 1, -g.top, 1, -g.left, 1, 0);
    for (let t = 0; t < t2; t++) {
      const bTab = new Int32Array(p);
      for (let q = 0; q < p; q++) bTab[q] = rows[q * t2 + t]!;
      multiply(ops, kernels, { aTab, sAk: g.o * 4, chunks, kt, bTab, c: out + t * g.c * 4, ldc: k(g) * 4, m: g.o, n: g.c });
    }
  } else {
    const cols = address(ops, windowCols(ops, kernels, x, g));
    multiply(ops, kernels, { aTab, sAk: g.o * 4, chunks, kt, bTab: Int32Array.from({ length: p }, (_, q) => cols + q * k(g) * 4), c: out, ldc: k(g) * 4, m: g.o, n: k(g) });
  }
  // [o, tap, c] → [o, c, tap]: a run of c floats per output channel and tap, strided by the taps.
  const t2 = g.kh * g.kw;
  const dw = filled(ops, [g.o, g.c, g.kh, g.kw]);
  const to = address(ops, dw);
  const src = new Int32Array(g.o * t2);
  const dst = new Int32Array(g.o * t2);
  for (let o = 0, e = 0; o < g.o; o++) for (let t = 0; t < t2; t++, e++) [src[e], dst[e]] = [out + (o * t2 + t) * g.c * 4, to + (o * k(g) + t) * 4];
  kernels.move(table(ops, src), 4, table(ops, dst), t2 * 4, g.o * t2, g.c, 0);
  return dw;
}
