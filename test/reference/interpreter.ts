/**
 * A plain-loop interpreter of the IR, for small graphs: each op computed from PyTorch's (and
 * torchvision's) definition in float64, one output element at a time, independently of every
 * backend. It is the oracle the ONNX property test compares onnxruntime against, so it favours
 * being obviously right over being fast.
 *
 * It runs the graph as built (bn in eval mode, dropout and stochastic depth as the identity), and
 * checks every shape it computes against the shape the IR inferred: a disagreement is a bug in
 * one of the two and is thrown.
 */
import type { Graph, Node, Value } from "../../src/ir/graph.js";

export interface Tensor {
  shape: number[];
  data: Float64Array;
}

type Params = ReadonlyMap<string, Float32Array>;

// ---- tensor helpers ----

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

function zeros(shape: readonly number[]): Tensor {
  return { shape: [...shape], data: new Float64Array(numel(shape)) };
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** Flat offset of a multi-index. */
function offsetOf(strides: readonly number[], idx: readonly number[]): number {
  let o = 0;
  for (let i = 0; i < idx.length; i++) o += idx[i]! * strides[i]!;
  return o;
}

/** Calls `f` with every multi-index of `shape` in row-major order (the array is reused). */
function forEachIndex(shape: readonly number[], f: (idx: number[]) => void): void {
  const n = numel(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    f(idx);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

/** Elementwise map. */
function map(x: Tensor, f: (v: number) => number): Tensor {
  return { shape: [...x.shape], data: x.data.map(f) };
}

/** Rows of the last dim: calls `f(base)` for each row of `width` contiguous elements. */
function rows(x: Tensor, width: number, f: (base: number) => void): void {
  for (let base = 0; base < x.data.length; base += width) f(base);
}

/** Moves dim `axis` to the end, applies `f` to each resulting row, moves it back. */
function alongAxis(x: Tensor, axis: number, f: (row: Float64Array) => Float64Array): Tensor {
  const rank = x.shape.length;
  const perm = [...Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis), axis];
  const moved = permute(x, perm);
  const width = x.shape[axis]!;
  rows(moved, width, (base) => moved.data.set(f(moved.data.subarray(base, base + width)), base));
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return permute(moved, inverse);
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const shape = perm.map((p) => x.shape[p]!);
  const y = zeros(shape);
  const xs = stridesOf(x.shape);
  const src = new Array<number>(x.shape.length);
  let k = 0;
  forEachIndex(shape, (idx) => {
    for (let i = 0; i < perm.length; i++) src[perm[i]!] = idx[i]!;
    y.data[k++] = x.data[offsetOf(xs, src)]!;
  });
  return y;
}

// ---- scalar functions ----

/** erf by its Maclaurin series (float64-exact for |x| < 4); beyond, |1 - |erf(x)|| < 1.6e-8. */
export function erf(x: number): number {
  if (Math.abs(x) >= 4) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
const relu6 = (v: number) => Math.min(Math.max(v, 0), 6);

function softmaxRow(row: Float64Array): Float64Array {
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v);
  const e = row.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** (x - mean) / sqrt(biased variance + eps) over a list of positions. */
function normalise(data: Float64Array, positions: readonly number[], eps: number, out: Float64Array): void {
  let mean = 0;
  for (const p of positions) mean += data[p]!;
  mean /= positions.length;
  let variance = 0;
  for (const p of positions) variance += (data[p]! - mean) ** 2;
  variance /= positions.length;
  for (const p of positions) out[p] = (data[p]! - mean) / Math.sqrt(variance + eps);
}

// ---- window arithmetic, as PyTorch's pooling_output_shape ----

function windowOut(size: number, k: number, s: number, padBegin: number, padEnd: number, d: number, ceil: boolean): number {
  const span = size + padBegin + padEnd - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // The last window must start inside the input or its left padding.
  if (ceil && (out - 1) * s >= size + padBegin) out--;
  return out;
}

// ---- ops ----

interface ConvAttrs {
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
  group: number;
  out: number;
}

/** nn.Conv1d/2d/3d: y[b, o, p] = bias[o] + Σ_{c in o's group, k} x[b, c, p·s − pad + k·d] · w[o, c, k]. */
function conv(x: Tensor, w: Float32Array, bias: Float32Array | undefined, a: ConvAttrs): Tensor {
  const [n, cin, ...sp] = x.shape as [number, number, ...number[]];
  const r = sp.length;
  const outSp = sp.map((L, i) => windowOut(L, a.kernel[i]!, a.strides[i]!, a.pads[i]!, a.pads[r + i]!, a.dilations[i]!, false));
  const y = zeros([n, a.out, ...outSp]);
  const [cinG, coutG] = [cin / a.group, a.out / a.group];
  const xs = stridesOf(x.shape);
  const ws = stridesOf([a.out, cinG, ...a.kernel]);
  const pos = new Array<number>(r);
  let k = 0;
  for (let b = 0; b < n; b++)
    for (let o = 0; o < a.out; o++) {
      const g = Math.floor(o / coutG);
      forEachIndex(outSp, (p) => {
        let sum = bias ? bias[o]! : 0;
        for (let ci = 0; ci < cinG; ci++) {
          const c = g * cinG + ci;
          forEachIndex(a.kernel, (kk) => {
            for (let i = 0; i < r; i++) {
              pos[i] = p[i]! * a.strides[i]! - a.pads[i]! + kk[i]! * a.dilations[i]!;
              if (pos[i]! < 0 || pos[i]! >= sp[i]!) return;
            }
            sum += x.data[offsetOf(xs, [b, c, ...pos])]! * w[offsetOf(ws, [o, ci, ...kk])]!;
          });
        }
        y.data[k++] = sum;
      });
    }
  return y;
}

/**
 * nn.ConvTranspose1d/2d/3d, the adjoint of conv: input x[b, c, p] scatters x · w[c, o, k] into
 * y[b, o, p·s − pad + k·d]; output padding only lengthens the far end.
 */
function convTranspose(x: Tensor, w: Float32Array, bias: Float32Array | undefined, a: ConvAttrs & { outputPadding: number[] }): Tensor {
  const [n, cin, ...sp] = x.shape as [number, number, ...number[]];
  const r = sp.length;
  const outSp = sp.map((L, i) => (L - 1) * a.strides[i]! - a.pads[i]! - a.pads[r + i]! + a.dilations[i]! * (a.kernel[i]! - 1) + a.outputPadding[i]! + 1);
  const y = zeros([n, a.out, ...outSp]);
  const [cinG, coutG] = [cin / a.group, a.out / a.group];
  const [xs, ys] = [stridesOf(x.shape), stridesOf(y.shape)];
  const ws = stridesOf([cin, coutG, ...a.kernel]);
  const pos = new Array<number>(r);
  for (let b = 0; b < n; b++)
    for (let c = 0; c < cin; c++) {
      const g = Math.floor(c / cinG);
      forEachIndex(sp, (p) => {
        const v = x.data[offsetOf(xs, [b, c, ...p])]!;
        for (let oc = 0; oc < coutG; oc++)
          forEachIndex(a.kernel, (kk) => {
            for (let i = 0; i < r; i++) {
              pos[i] = p[i]! * a.strides[i]! - a.pads[i]! + kk[i]! * a.dilations[i]!;
              if (pos[i]! < 0 || pos[i]! >= outSp[i]!) return;
            }
            y.data[offsetOf(ys, [b, g * coutG + oc, ...pos])]! += v * w[offsetOf(ws, [c, oc, ...kk])]!;
          });
      });
    }
  if (bias) forEachIndex(y.shape, (idx) => (y.data[offsetOf(ys, idx)]! += bias[idx[1]!]!));
  return y;
}

/** Applies f(value, channel) along dim 1. */
function perChannel(x: Tensor, f: (v: number, c: number) => number): Tensor {
  const c = x.shape[1]!;
  const inner = numel(x.shape.slice(2));
  return { shape: [...x.shape], data: x.data.map((v, i) => f(v, Math.floor(i / inner) % c)) };
}

/** Positions of sample b, channels [c0, c1), all spatial positions. */
function channelBlock(x: Tensor, b: number, c0: number, c1: number): number[] {
  const inner = numel(x.shape.slice(2));
  const base = b * x.shape[1]! * inner;
  return Array.from({ length: (c1 - c0) * inner }, (_, i) => base + c0 * inner + i);
}

function groupNorm(x: Tensor, groups: number, eps: number): Tensor {
  const y = zeros(x.shape);
  const per = x.shape[1]! / groups;
  for (let b = 0; b < x.shape[0]!; b++) for (let g = 0; g < groups; g++) normalise(x.data, channelBlock(x, b, g * per, (g + 1) * per), eps, y.data);
  return y;
}

function layerNormLast(x: Tensor, eps: number, w?: Float32Array, bias?: Float32Array): Tensor {
  const c = x.shape[x.shape.length - 1]!;
  const y = zeros(x.shape);
  rows(x, c, (base) => normalise(x.data, Array.from({ length: c }, (_, i) => base + i), eps, y.data));
  if (w) for (let i = 0; i < y.data.length; i++) y.data[i] = y.data[i]! * w[i % c]! + bias![i % c]!;
  return y;
}

interface PoolAttrs {
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations?: number[];
  ceil: boolean;
}

/**
 * max_pool / avg_pool over [N, C, ...spatial]. Max: over the window's positions inside the input.
 * Average (PyTorch's avg_pool): the window [o·s − pad, min(o·s − pad + k, L + pad)) sets the
 * divisor with count_include_pad, its part inside the input the summed values and the divisor without.
 */
function pool(x: Tensor, a: PoolAttrs, kind: "max" | "avg", countIncludePad = true): Tensor {
  const [n, c, ...sp] = x.shape as [number, number, ...number[]];
  const r = sp.length;
  const dil = a.dilations ?? sp.map(() => 1);
  const outSp = sp.map((L, i) => windowOut(L, a.kernel[i]!, a.strides[i]!, a.pads[i]!, a.pads[r + i]!, dil[i]!, a.ceil));
  const y = zeros([n, c, ...outSp]);
  const xs = stridesOf(x.shape);
  const pos = new Array<number>(r);
  let k = 0;
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      forEachIndex(outSp, (o) => {
        if (kind === "max") {
          let m = -Infinity;
          forEachIndex(a.kernel, (kk) => {
            for (let i = 0; i < r; i++) {
              pos[i] = o[i]! * a.strides[i]! - a.pads[i]! + kk[i]! * dil[i]!;
              if (pos[i]! < 0 || pos[i]! >= sp[i]!) return;
            }
            m = Math.max(m, x.data[offsetOf(xs, [b, ch, ...pos])]!);
          });
          y.data[k++] = m;
          return;
        }
        let poolSize = 1;
        const lo: number[] = [];
        const hi: number[] = [];
        for (let i = 0; i < r; i++) {
          const start = o[i]! * a.strides[i]! - a.pads[i]!;
          const end = Math.min(start + a.kernel[i]!, sp[i]! + a.pads[r + i]!);
          poolSize *= end - start;
          lo.push(Math.max(start, 0));
          hi.push(Math.min(end, sp[i]!));
        }
        let sum = 0;
        let count = 0;
        forEachIndex(
          hi.map((h, i) => h - lo[i]!),
          (d) => {
            sum += x.data[offsetOf(xs, [b, ch, ...d.map((v, i) => v + lo[i]!)])]!;
            count++;
          },
        );
        y.data[k++] = sum / (countIncludePad ? poolSize : count);
      });
  return y;
}

/** adaptive_avg_pool / adaptive_max_pool: output o of n over length L takes [⌊o·L/n⌋, ⌈(o+1)·L/n⌉). */
function adaptivePool(x: Tensor, size: number[], kind: "max" | "avg"): Tensor {
  const [n, c, ...sp] = x.shape as [number, number, ...number[]];
  const y = zeros([n, c, ...size]);
  const xs = stridesOf(x.shape);
  let k = 0;
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      forEachIndex(size, (o) => {
        const lo = o.map((v, i) => Math.floor((v * sp[i]!) / size[i]!));
        const hi = o.map((v, i) => Math.ceil(((v + 1) * sp[i]!) / size[i]!));
        let [sum, count, m] = [0, 0, -Infinity];
        forEachIndex(
          hi.map((h, i) => h - lo[i]!),
          (d) => {
            const v = x.data[offsetOf(xs, [b, ch, ...d.map((e, i) => e + lo[i]!)])]!;
            sum += v;
            count++;
            m = Math.max(m, v);
          },
        );
        y.data[k++] = kind === "max" ? m : sum / count;
      });
  return y;
}

/** Global pool to [N, C]. */
function globalPool(x: Tensor, kind: "max" | "avg"): Tensor {
  const [n, c] = [x.shape[0]!, x.shape[1]!];
  const y = zeros([n, c]);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) {
      const ps = channelBlock(x, b, ch, ch + 1);
      const vs = ps.map((p) => x.data[p]!);
      y.data[b * c + ch] = kind === "max" ? Math.max(...vs) : vs.reduce((s, v) => s + v, 0) / vs.length;
    }
  return y;
}

/** nn.Linear on the last dim: y = x Wᵀ + b, W [out, in]. */
function linear(x: Tensor, w: Float32Array, bias: Float32Array | undefined, out: number): Tensor {
  const inF = x.shape[x.shape.length - 1]!;
  const y = zeros([...x.shape.slice(0, -1), out]);
  const count = x.data.length / inF;
  for (let r = 0; r < count; r++)
    for (let o = 0; o < out; o++) {
      let s = bias ? bias[o]! : 0;
      for (let i = 0; i < inF; i++) s += x.data[r * inF + i]! * w[o * inF + i]!;
      y.data[r * out + o] = s;
    }
  return y;
}

/**
 * The IR's channels-first broadcast: shapes aligned at the batch, a shorter one padded with
 * trailing 1s, then each dim equal or 1.
 */
function broadcast(xs: Tensor[], f: (a: number, b: number) => number): Tensor {
  const rank = Math.max(...xs.map((x) => x.shape.length));
  const padded = xs.map((x) => [...x.shape, ...new Array<number>(rank - x.shape.length).fill(1)]);
  const shape = Array.from({ length: rank }, (_, d) => Math.max(...padded.map((s) => s[d]!)));
  for (const s of padded) for (let d = 0; d < rank; d++) if (s[d] !== 1 && s[d] !== shape[d]) throw new Error(`reference: cannot broadcast [${s}] to [${shape}]`);
  const strides = padded.map((s) => stridesOf(s).map((st, d) => (s[d] === 1 ? 0 : st)));
  const y = zeros(shape);
  let k = 0;
  forEachIndex(shape, (idx) => {
    let acc = xs[0]!.data[offsetOf(strides[0]!, idx)]!;
    for (let i = 1; i < xs.length; i++) acc = f(acc, xs[i]!.data[offsetOf(strides[i]!, idx)]!);
    y.data[k++] = acc;
  });
  return y;
}

function concat(xs: Tensor[], axis: number): Tensor {
  const shape = [...xs[0]!.shape];
  shape[axis] = xs.reduce((s, x) => s + x.shape[axis]!, 0);
  const y = zeros(shape);
  const ys = stridesOf(shape);
  let start = 0;
  for (const x of xs) {
    let k = 0;
    forEachIndex(x.shape, (idx) => {
      const dst = [...idx];
      dst[axis]! += start;
      y.data[offsetOf(ys, dst)] = x.data[k++]!;
    });
    start += x.shape[axis]!;
  }
  return y;
}

function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const shape = [...x.shape];
  shape[axis] = end - start;
  const y = zeros(shape);
  const xs = stridesOf(x.shape);
  let k = 0;
  forEachIndex(shape, (idx) => {
    const src = [...idx];
    src[axis]! += start;
    y.data[k++] = x.data[offsetOf(xs, src)]!;
  });
  return y;
}

/**
 * F.interpolate as ATen's CPU kernels compute it (UpSample.h, UpSampleKernel.cpp). Source coordinate of output index i:
 * nearest ⌊i · scale⌋ in float32; the linear modes (i + 0.5) · scale − 0.5 clamped at 0, or
 * i · (in − 1)/(out − 1) with align_corners; cubic as linear without the clamp. scale is
 * 1 / scale_factor when a factor was given, else in / out, and the linear modes copy a dim whose
 * size is unchanged. Nearest follows the generic (NCHW) kernel, which has no such copy: a factor
 * of 1.25 maps 2 rows to rows 0 and 0. (ATen's channels-last path, taken for a single channel,
 * copies instead; that path is the exception.)
 */
function resize(x: Tensor, a: { mode: string; alignCorners: boolean; sizes: number[]; scales: number[] | null }): Tensor {
  const [n, c, ...sp] = x.shape as [number, number, ...number[]];
  const r = sp.length;
  const outSp = a.scales ? sp.map((L, i) => Math.floor(L * a.scales![i]!)) : a.sizes;
  const scale = sp.map((L, i) => (a.scales ? 1 / a.scales[i]! : L / outSp[i]!));
  const y = zeros([n, c, ...outSp]);
  const xs = stridesOf(x.shape);
  const source = (i: number, d: number, cubic: boolean): number => {
    if (a.alignCorners) return outSp[d]! > 1 ? (i * (sp[d]! - 1)) / (outSp[d]! - 1) : 0;
    const s = (i + 0.5) * scale[d]! - 0.5;
    return cubic ? s : Math.max(s, 0);
  };
  // Per dim: the (index, weight) pairs that make output coordinate i.
  const taps = (i: number, d: number): [number, number][] => {
    const L = sp[d]!;
    const clamp = (j: number) => Math.min(Math.max(j, 0), L - 1);
    const out = outSp[d]!;
    if (a.mode === "nearest") {
      const f32 = Math.fround(a.scales ? 1 / a.scales[d]! : L / out);
      return [[Math.min(Math.floor(Math.fround(Math.fround(i) * f32)), L - 1), 1]];
    }
    if (a.mode === "bicubic") {
      const s = source(i, d, true);
      const f = Math.floor(s);
      const t = s - f;
      const A = -0.75;
      const near = (z: number) => ((A + 2) * z - (A + 3)) * z * z + 1;
      const far = (z: number) => ((A * z - 5 * A) * z + 8 * A) * z - 4 * A;
      return [
        [clamp(f - 1), far(t + 1)],
        [clamp(f), near(t)],
        [clamp(f + 1), near(1 - t)],
        [clamp(f + 2), far(2 - t)],
      ];
    }
    if (out === L) return [[i, 1]];
    const s = source(i, d, false);
    const f = Math.min(Math.floor(s), L - 1);
    const t = s - f;
    return [
      [f, 1 - t],
      [Math.min(f + 1, L - 1), t],
    ];
  };
  let k = 0;
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      forEachIndex(outSp, (o) => {
        const perDim = o.map((i, d) => taps(i, d));
        let sum = 0;
        forEachIndex(
          perDim.map((t) => t.length),
          (j) => {
            let weight = 1;
            const src = [b, ch];
            for (let d = 0; d < r; d++) {
              const [index, wt] = perDim[d]![j[d]!]!;
              weight *= wt;
              src.push(index);
            }
            sum += weight * x.data[offsetOf(xs, src)]!;
          },
        );
        y.data[k++] = sum;
      });
  return y;
}

/** F.pad with full-rank begin/end (negative crops); reflect mirrors without the edge, replicate clamps. */
function pad(x: Tensor, begin: number[], end: number[], mode: string, value: number): Tensor {
  const shape = x.shape.map((s, d) => s + begin[d]! + end[d]!);
  const y = zeros(shape);
  const xs = stridesOf(x.shape);
  let k = 0;
  forEachIndex(shape, (idx) => {
    const src: number[] = [];
    for (let d = 0; d < idx.length; d++) {
      const L = x.shape[d]!;
      let i = idx[d]! - begin[d]!;
      if (i < 0 || i >= L) {
        if (mode === "constant") {
          y.data[k++] = value;
          return;
        }
        if (mode === "reflect") i = i < 0 ? -i : 2 * (L - 1) - i;
        else i = Math.min(Math.max(i, 0), L - 1);
      }
      src.push(i);
    }
    y.data[k++] = x.data[offsetOf(xs, src)]!;
  });
  return y;
}

/** x.repeat(1, n, 1, …): output channel j is input channel j mod C. */
function repeatChannels(x: Tensor, n: number): Tensor {
  const shape = [...x.shape];
  const c = shape[1]!;
  shape[1] = c * n;
  const y = zeros(shape);
  const xs = stridesOf(x.shape);
  let k = 0;
  forEachIndex(shape, (idx) => {
    const src = [...idx];
    src[1] = idx[1]! % c;
    y.data[k++] = x.data[offsetOf(xs, src)]!;
  });
  return y;
}

/** Softmax attention of one sequence: scores q·kᵀ·scale + bias, over tokens × heads. */
function attend(q: Tensor, k: Tensor, v: Tensor, scale: number, bias: (h: number, i: number, j: number) => number): Tensor {
  // q, k, v: [heads, T, hd]
  const [heads, t, hd] = q.shape as [number, number, number];
  const y = zeros([heads, t, hd]);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < t; i++) {
      const scores = new Float64Array(t);
      for (let j = 0; j < t; j++) {
        let s = 0;
        for (let d = 0; d < hd; d++) s += q.data[(h * t + i) * hd + d]! * k.data[(h * t + j) * hd + d]!;
        scores[j] = s * scale + bias(h, i, j);
      }
      const p = softmaxRow(scores);
      for (let d = 0; d < hd; d++) {
        let o = 0;
        for (let j = 0; j < t; j++) o += p[j]! * v.data[(h * t + j) * hd + d]!;
        y.data[(h * t + i) * hd + d] = o;
      }
    }
  return y;
}

/**
 * One sequence [T, C] through packed q/k/v projections (q first, then k, then v; head h owns
 * channels h·hd … (h+1)·hd − 1 of each), attention, heads concatenated, output projection.
 */
function selfAttention(
  x: Tensor,
  heads: number,
  w: { qkvW: Float32Array; qkvB?: Float32Array; projW: Float32Array; projB?: Float32Array },
  bias: (h: number, i: number, j: number) => number = () => 0,
): Tensor {
  const [t, c] = x.shape as [number, number];
  const hd = c / heads;
  const qkv = linear(x, w.qkvW, w.qkvB, 3 * c);
  const part = (which: number) => {
    const y = zeros([heads, t, hd]);
    for (let h = 0; h < heads; h++) for (let i = 0; i < t; i++) for (let d = 0; d < hd; d++) y.data[(h * t + i) * hd + d] = qkv.data[i * 3 * c + which * c + h * hd + d]!;
    return y;
  };
  const o = attend(part(0), part(1), part(2), 1 / Math.sqrt(hd), bias);
  const merged = zeros([t, c]);
  for (let h = 0; h < heads; h++) for (let i = 0; i < t; i++) for (let d = 0; d < hd; d++) merged.data[i * c + h * hd + d] = o.data[(h * t + i) * hd + d]!;
  return linear(merged, w.projW, w.projB, c);
}

function sample(x: Tensor, b: number): Tensor {
  const per = numel(x.shape.slice(1));
  return { shape: x.shape.slice(1), data: x.data.slice(b * per, (b + 1) * per) };
}

function stack(xs: Tensor[]): Tensor {
  const y = zeros([xs.length, ...xs[0]!.shape]);
  xs.forEach((x, b) => y.data.set(x.data, b * x.data.length));
  return y;
}

/** Python's slice bounds of a[start:stop] on a length-`len` axis (negative counts from the end; -0 is 0). */
function pySlice(start: number | null, stop: number | null, len: number): [number, number] {
  const fix = (v: number | null, dflt: number) => {
    if (v === null) return dflt;
    if (Object.is(v, -0)) return 0;
    return v < 0 ? Math.max(0, len + v) : Math.min(v, len);
  };
  const a = fix(start, 0);
  return [a, Math.max(a, fix(stop, len))];
}

/** torchvision's relative_position_index, built as there from coordinate differences. */
export function relativePositionIndex(wh: number, ww: number): number[] {
  const n = wh * ww;
  const coords = Array.from({ length: n }, (_, i) => [Math.floor(i / ww), i % ww] as const);
  const out: number[] = [];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const dh = coords[i]![0] - coords[j]![0] + wh - 1;
      const dw = coords[i]![1] - coords[j]![1] + ww - 1;
      out.push(dh * (2 * ww - 1) + dw);
    }
  return out;
}

/** torchvision.models.swin_transformer.shifted_window_attention on one sample [H, W, C]. */
function windowAttentionSample(
  x: Tensor,
  heads: number,
  [wh, ww]: [number, number],
  shiftArg: [number, number],
  w: { qkvW: Float32Array; qkvB?: Float32Array; projW: Float32Array; projB?: Float32Array; table: Float32Array },
): Tensor {
  const [h, wd, c] = x.shape as [number, number, number];
  const padded = pad(x, [0, 0, 0], [(wh - (h % wh)) % wh, (ww - (wd % ww)) % ww, 0], "constant", 0);
  const [H, W] = [padded.shape[0]!, padded.shape[1]!];
  const shift = [wh >= H ? 0 : shiftArg[0], ww >= W ? 0 : shiftArg[1]] as const;
  const shifted = shift[0] + shift[1] > 0;
  // torch.roll(x, -shift): rolled[i] = x[(i + shift) mod size]
  const at = (r: number, q: number) => [(r + shift[0]) % H, (q + shift[1]) % W] as const;
  const region = new Array<number>(H * W).fill(0);
  if (shifted) {
    let count = 0;
    const hs: [number | null, number | null][] = [[0, -wh], [-wh, -shift[0]], [-shift[0], null]];
    const ws: [number | null, number | null][] = [[0, -ww], [-ww, -shift[1]], [-shift[1], null]];
    for (const [h0, h1] of hs)
      for (const [w0, w1] of ws) {
        const [ha, hb] = pySlice(h0, h1, H);
        const [wa, wb] = pySlice(w0, w1, W);
        for (let r = ha; r < hb; r++) for (let q = wa; q < wb; q++) region[r * W + q] = count;
        count++;
      }
  }
  const n = wh * ww;
  const index = relativePositionIndex(wh, ww);
  const out = zeros([H, W, c]);
  for (let bh = 0; bh < H / wh; bh++)
    for (let bw = 0; bw < W / ww; bw++) {
      const pos = Array.from({ length: n }, (_, t) => [bh * wh + Math.floor(t / ww), bw * ww + (t % ww)] as const);
      const win = zeros([n, c]);
      pos.forEach(([r, q], t) => {
        const [sr, sq] = at(r, q);
        win.data.set(padded.data.subarray((sr * W + sq) * c, (sr * W + sq + 1) * c), t * c);
      });
      const bias = (hh: number, i: number, j: number) => {
        const mask = shifted && region[pos[i]![0] * W + pos[i]![1]] !== region[pos[j]![0] * W + pos[j]![1]] ? -100 : 0;
        return w.table[index[i * n + j]! * heads + hh]! + mask;
      };
      const y = selfAttention(win, heads, w, bias);
      // the window's tokens go back to where the roll took them from
      pos.forEach(([r, q], t) => {
        const [sr, sq] = at(r, q);
        out.data.set(y.data.subarray(t * c, (t + 1) * c), (sr * W + sq) * c);
      });
    }
  return slice(slice(out, 0, 0, h), 1, 0, wd);
}

/** torchvision's PatchMerging on one sample [H, W, C]: pad to even, cat(x0, x1, x2, x3), LayerNorm(4C), Linear(4C → 2C). */
function patchMergingSample(x: Tensor, eps: number, w: { normW: Float32Array; normB: Float32Array; reduction: Float32Array }): Tensor {
  const [h, wd, c] = x.shape as [number, number, number];
  const p = pad(x, [0, 0, 0], [h % 2, wd % 2, 0], "constant", 0);
  const every2 = (t: Tensor, axis: number, start: number) => {
    const shape = [...t.shape];
    shape[axis] = Math.ceil((t.shape[axis]! - start) / 2);
    const y = zeros(shape);
    const ts = stridesOf(t.shape);
    let k = 0;
    forEachIndex(shape, (idx) => {
      const src = [...idx];
      src[axis] = start + 2 * idx[axis]!;
      y.data[k++] = t.data[offsetOf(ts, src)]!;
    });
    return y;
  };
  const part = (r: number, q: number) => every2(every2(p, 0, r), 1, q);
  const cat = concat([part(0, 0), part(1, 0), part(0, 1), part(1, 1)], 2);
  return linear(layerNormLast(cat, eps, w.normW, w.normB), w.reduction, undefined, 2 * c);
}

// ---- the interpreter ----

type Attrs = Readonly<Record<string, unknown>>;

function nodeParam(node: Node, values: Params, suffix: string): Float32Array | undefined {
  const name = suffix ? `${node.scope}.${suffix}` : node.scope;
  const p = node.params.find((q) => q.name === name);
  if (!p) return undefined;
  const v = values.get(p.name);
  if (!v) throw new Error(`reference: no value for ${p.name}`);
  if (v.length !== numel(p.shape)) throw new Error(`reference: ${p.name} has ${v.length} values, shape [${p.shape}]`);
  return v;
}

function required(node: Node, values: Params, suffix: string): Float32Array {
  const v = nodeParam(node, values, suffix);
  if (!v) throw new Error(`reference: ${node.op} at ${node.scope} has no parameter '${suffix}'`);
  return v;
}

/** One node's outputs from its inputs. */
function evaluate(node: Node, xs: Tensor[], values: Params): Tensor[] {
  const a: Attrs = node.attrs;
  const x = xs[0]!;
  const p = (suffix: string) => nodeParam(node, values, suffix);
  const req = (suffix: string) => required(node, values, suffix);
  const num = (k: string) => a[k] as number;
  const arr = (k: string) => a[k] as number[];
  switch (node.op) {
    case "conv":
    case "dwconv":
      return [conv(x, req("weight"), p("bias"), a as unknown as ConvAttrs)];
    case "conv_transpose":
      return [convTranspose(x, req("weight"), p("bias"), a as unknown as ConvAttrs & { outputPadding: number[] })];

    case "bn": {
      const [w, b, mean, variance] = [p("weight"), p("bias"), req("running_mean"), req("running_var")];
      return [perChannel(x, (v, c) => ((v - mean[c]!) / Math.sqrt(variance[c]! + num("eps"))) * (w ? w[c]! : 1) + (b ? b[c]! : 0))];
    }
    case "gn": {
      const [w, b] = [req("weight"), req("bias")];
      return [perChannel(groupNorm(x, num("groups"), num("eps")), (v, c) => v * w[c]! + b[c]!)];
    }
    case "instance_norm": {
      const [w, b] = [p("weight"), p("bias")];
      return [perChannel(groupNorm(x, x.shape[1]!, num("eps")), (v, c) => v * (w ? w[c]! : 1) + (b ? b[c]! : 0))];
    }
    case "ln":
      return [layerNormLast(x, num("eps"), p("weight"), p("bias"))];
    case "ln2d": {
      const rank = x.shape.length;
      const toLast = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
      const toFirst = [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
      return [permute(layerNormLast(permute(x, toLast), num("eps"), req("weight"), req("bias")), toFirst)];
    }

    case "relu":
      return [map(x, (v) => Math.max(v, 0))];
    case "relu6":
      return [map(x, relu6)];
    case "leaky_relu":
      return [map(x, (v) => (v > 0 ? v : num("slope") * v))];
    case "prelu": {
      // nn.PReLU: one slope for all, or one per channel (dim 1).
      const w = req("weight");
      return [w.length === 1 ? map(x, (v) => (v > 0 ? v : w[0]! * v)) : perChannel(x, (v, c) => (v > 0 ? v : w[c]! * v))];
    }
    case "gelu":
      return [
        map(x, a["approximate"] === "tanh" ? (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))) : (v) => 0.5 * v * (1 + erf(v / Math.SQRT2))),
      ];
    case "silu":
      return [map(x, (v) => v * sigmoid(v))];
    case "sigmoid":
      return [map(x, sigmoid)];
    case "hardswish":
      return [map(x, (v) => (v * relu6(v + 3)) / 6)];
    case "hardsigmoid":
      return [map(x, (v) => relu6(v + 3) / 6)];
    case "tanh":
      return [map(x, Math.tanh)];
    case "softmax":
      return [alongAxis(x, num("axis"), softmaxRow)];
    case "identity":
    case "dropout":
    case "stochastic_depth":
      return [x];

    case "maxpool":
      return [pool(x, a as unknown as PoolAttrs, "max")];
    case "avgpool":
      return [pool(x, a as unknown as PoolAttrs, "avg", a["countIncludePad"] as boolean)];
    case "gap":
      return [globalPool(x, "avg")];
    case "gmp":
      return [globalPool(x, "max")];
    case "adaptive_avgpool":
      return [adaptivePool(x, arr("size"), "avg")];
    case "adaptive_maxpool":
      return [adaptivePool(x, arr("size"), "max")];

    case "linear":
      return [linear(x, req("weight"), p("bias"), num("out"))];

    case "add":
      return [broadcast(xs, (u, v) => u + v)];
    case "mul":
      return [broadcast(xs, (u, v) => u * v)];
    case "concat":
      return [concat(xs, num("axis"))];
    case "split": {
      const out: Tensor[] = [];
      let start = 0;
      for (const s of arr("sizes")) {
        out.push(slice(x, num("axis"), start, start + s));
        start += s;
      }
      return out;
    }
    case "reshape":
    case "flatten": {
      // Row-major data is unchanged; only the per-sample dims are regrouped.
      const out = node.outputs[0]!.type.shape.slice(1);
      const per = numel(x.shape.slice(1));
      const known = out.filter((d): d is number => typeof d === "number");
      const shape = out.map((d) => (typeof d === "number" ? d : per / numel(known)));
      if (numel(shape) !== per) throw new Error(`reference: ${node.op} of [${x.shape}] to [${shape}] changes the element count`);
      return [{ shape: [x.shape[0]!, ...shape], data: x.data }];
    }
    case "permute":
    case "transpose":
      return [permute(x, arr("perm"))];
    case "resize":
    case "upsample":
      return [resize(x, a as unknown as { mode: string; alignCorners: boolean; sizes: number[]; scales: number[] | null })];
    case "pad":
      return [pad(x, arr("begin"), arr("end"), a["mode"] as string, num("value"))];
    case "gray_to_rgb":
    case "repeat_channels":
      return [repeatChannels(x, num("repeats"))];

    case "class_token": {
      const token = req("");
      const [n, , c] = x.shape as [number, number, number];
      const t: Tensor = { shape: [n, 1, c], data: new Float64Array(n * c) };
      for (let b = 0; b < n; b++) for (let i = 0; i < c; i++) t.data[b * c + i] = token[i]!;
      return [concat([t, x], 1)];
    }
    case "pos_embedding": {
      const e = req("");
      const per = numel(x.shape.slice(1));
      return [{ shape: [...x.shape], data: x.data.map((v, i) => v + e[i % per]!) }];
    }
    case "token": {
      const t = slice(x, 1, num("index"), num("index") + 1);
      return [{ shape: [x.shape[0]!, x.shape[2]!], data: t.data }];
    }
    case "mean_tokens": {
      const [n, t, c] = x.shape as [number, number, number];
      const start = num("start");
      const y = zeros([n, c]);
      for (let b = 0; b < n; b++)
        for (let i = 0; i < c; i++) {
          let s = 0;
          for (let j = start; j < t; j++) s += x.data[(b * t + j) * c + i]!;
          y.data[b * c + i] = s / (t - start);
        }
      return [y];
    }
    case "mhsa": {
      const timm = a["style"] === "timm";
      const w = timm
        ? { qkvW: req("qkv.weight"), qkvB: p("qkv.bias"), projW: req("proj.weight"), projB: p("proj.bias") }
        : { qkvW: req("in_proj_weight"), qkvB: p("in_proj_bias"), projW: req("out_proj.weight"), projB: p("out_proj.bias") };
      return [stack(Array.from({ length: x.shape[0]! }, (_, b) => selfAttention(sample(x, b), num("heads"), w)))];
    }
    case "window_attention": {
      const w = { qkvW: req("qkv.weight"), qkvB: p("qkv.bias"), projW: req("proj.weight"), projB: p("proj.bias"), table: req("relative_position_bias_table") };
      const win = a["window"] as [number, number];
      const shift = a["shift"] as [number, number];
      return [stack(Array.from({ length: x.shape[0]! }, (_, b) => windowAttentionSample(sample(x, b), num("heads"), win, shift, w)))];
    }
    case "patch_merging": {
      const w = { normW: req("norm.weight"), normB: req("norm.bias"), reduction: req("reduction.weight") };
      return [stack(Array.from({ length: x.shape[0]! }, (_, b) => patchMergingSample(sample(x, b), num("eps"), w)))];
    }
    case "layer_scale": {
      const g = req(a["param"] as string);
      const axis = num("axis");
      const inner = numel(x.shape.slice(axis + 1));
      const c = x.shape[axis]!;
      return [{ shape: [...x.shape], data: x.data.map((v, i) => v * g[Math.floor(i / inner) % c]!) }];
    }
  }
  throw new Error(`reference: no implementation of ${node.op}`);
}

function checkShape(node: Node, value: Value, t: Tensor, batch: number): void {
  const want = value.type.shape;
  const ok = want.length === t.shape.length && want.every((d, i) => (typeof d === "number" ? d === t.shape[i] : i !== 0 || t.shape[0] === batch));
  if (!ok) throw new Error(`reference: ${node.op} at ${node.scope || "(input)"} gives [${t.shape.join(", ")}], the IR infers [${want.join(", ")}]`);
}

/**
 * Runs `graph` on `input` (its single input's data, any batch size) with parameter values by
 * name; returns the graph outputs in order, as float32.
 */
export function runReference(graph: Graph, values: Params, input: Float32Array): Float32Array[] {
  if (graph.inputs.length !== 1) throw new Error(`reference: the graph has ${graph.inputs.length} inputs, expected 1`);
  const inShape = graph.inputs[0]!.type.shape;
  const per = numel(inShape.slice(1).map((d) => (typeof d === "number" ? d : NaN)));
  const batch = input.length / per;
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`reference: ${input.length} input values do not fill whole samples of [${inShape.join(", ")}]`);
  const env = new Map<Value, Tensor>();
  env.set(graph.inputs[0]!, { shape: [batch, ...(inShape.slice(1) as number[])], data: Float64Array.from(input) });
  for (const node of graph.nodes) {
    const xs = node.inputs.map((v) => {
      const t = env.get(v);
      if (!t) throw new Error(`reference: ${node.op} at ${node.scope} reads a value no earlier node made`);
      return t;
    });
    const ys = evaluate(node, xs, values);
    if (ys.length !== node.outputs.length) throw new Error(`reference: ${node.op} gave ${ys.length} outputs, the IR has ${node.outputs.length}`);
    ys.forEach((y, i) => {
      checkShape(node, node.outputs[i]!, y, batch);
      env.set(node.outputs[i]!, y);
    });
  }
  return graph.outputs.map((v) => Float32Array.from(env.get(v)!.data));
}

/** The shapes runReference's outputs have for a batch size. */
export function outputShapes(graph: Graph, batch: number): number[][] {
  return graph.outputs.map((v) => v.type.shape.map((d, i) => (i === 0 ? batch : (d as number))));
}
