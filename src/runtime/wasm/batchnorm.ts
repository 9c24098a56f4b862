/**
 * Training-mode batch norm over a channels-last tensor ([..., C], statistics over every axis but
 * the last) as two kernels over the wasm backend's heap. Op by op it is some ten kernels forward
 * (mean, squared difference, mean, rsqrt, scale, shift, multiply, add) and more backward, each a
 * pass over the activation; here the forward reads x twice (per-channel sums of x and x² in
 * float64, then y = x · scale + shift) and the backward reads dy and x twice (Σ dy and
 * Σ dy · (x - mean) in float64, then dx = a · dy + b · x + d per channel). The second pass of each
 * runs in WebAssembly SIMD (simd.ts's rowAffine) where it can. In a ResNet-18 step (64×64, batch
 * 16, one thread) batch norm forward and backward go from some 65 ms to some 20. Registered for the
 * wasm backend only; norm.ts uses it there for trainable batch norm with channels innermost.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Tensor, Tf } from "../types.js";
import type { KernelArgs, WasmBackend } from "./ops.js";
import { simdKernels } from "./simd.js";

export const BN_TRAIN = "MedgBatchNormTrain";
export const BN_TRAIN_GRAD = "MedgBatchNormTrainGrad";

type F32 = Float32Array;

/** Rows read per pass of four columns: a block of rows stays in cache while its columns are read. */
const ROWS = 256;

/** Floats of the scratch columnMoments needs for c columns: a centre, alignment, float64 sums per thread. */
const momentsScratch = (backend: WasmBackend, c: number) => c + 2 + 4 * c * (simdKernels(backend)?.threads ?? 1);

/**
 * Per-column Σ u and Σ u · (v - centre) (u = v when `u` is v itself) over rows of `c` columns, in
 * float64: in WebAssembly SIMD (simd.ts's moments) where it runs and `c` is a multiple of four, on
 * the helper threads too (each a band of rows into its own sums); else four columns at a time in
 * registers over a block of rows, as reduce.ts sums. `scratch` is a float32 tensor of the backend's
 * of at least 2 + 4c + 4c·threads floats (made before any view is taken).
 */
function columnMoments(backend: WasmBackend, scratch: F32, u: F32, v: F32, centre: F32 | undefined, c: number, su: Float64Array, suv: Float64Array): void {
  const simd = simdKernels(backend);
  if (simd && c % 4 === 0) {
    const rows = u.length / c;
    // The centre (zeros without one), then per band float64 sums [su | suv], 8-byte aligned.
    const zero = scratch.byteOffset;
    if (!centre) scratch.fill(0, 0, c);
    const sums = Math.ceil((zero + 4 * c) / 8) * 8;
    const bands = simd.split(rows, 64);
    const f64 = new Float64Array(scratch.buffer, sums, 2 * c * bands.length);
    f64.fill(0);
    simd.parallel(
      "moments",
      simd.moments,
      bands.map(([r0, r1], i) => [u.byteOffset + r0 * c * 4, v.byteOffset + r0 * c * 4, centre ? centre.byteOffset : zero, r1 - r0, c * 4, sums + 16 * c * i, sums + 16 * c * i + 8 * c]),
    );
    for (let i = 0; i < bands.length; i++)
      for (let k = 0; k < c; k++) {
        su[k]! += f64[2 * c * i + k]!;
        suv[k]! += f64[2 * c * i + c + k]!;
      }
    return;
  }
  const rows = u.length / c;
  const blocked = c - (c % 4);
  for (let r0 = 0; r0 < rows; r0 += ROWS) {
    const r1 = Math.min(rows, r0 + ROWS);
    for (let k = 0; k < blocked; k += 4) {
      const [m0, m1, m2, m3] = centre ? [centre[k]!, centre[k + 1]!, centre[k + 2]!, centre[k + 3]!] : [0, 0, 0, 0];
      let [a0, a1, a2, a3, b0, b1, b2, b3] = [0, 0, 0, 0, 0, 0, 0, 0];
      for (let r = r0, at = r0 * c + k; r < r1; r++, at += c) {
        const u0 = u[at]!;
        const u1 = u[at + 1]!;
        const u2 = u[at + 2]!;
        const u3 = u[at + 3]!;
        a0 += u0;
        a1 += u1;
        a2 += u2;
        a3 += u3;
        b0 += u0 * (v[at]! - m0);
        b1 += u1 * (v[at + 1]! - m1);
        b2 += u2 * (v[at + 2]! - m2);
        b3 += u3 * (v[at + 3]! - m3);
      }
      su[k]! += a0;
      su[k + 1]! += a1;
      su[k + 2]! += a2;
      su[k + 3]! += a3;
      suv[k]! += b0;
      suv[k + 1]! += b1;
      suv[k + 2]! += b2;
      suv[k + 3]! += b3;
    }
    for (let r = r0; r < r1; r++) {
      for (let k = blocked, at = r * c + k; k < c; k++, at++) {
        su[k]! += u[at]!;
        suv[k]! += u[at]! * (v[at]! - (centre ? centre[k]! : 0));
      }
    }
  }
}

/**
 * out[r, k] = u[r, k] · a[k] + v[r, k] · b[k] + d[k] over rows of `c` columns: four lanes at a time
 * in WebAssembly SIMD (simd.ts) where it runs and `c` is a multiple of four, else here. `coeffs` is
 * a [3c] float32 scratch tensor of the backend's for a, b, d (made before any view is taken). On
 * the helper threads too, by bands of rows.
 */
function rowAffine(backend: WasmBackend, coeffs: F32, u: F32, v: F32, a: Float64Array, b: Float64Array, d: Float64Array, out: F32, c: number): void {
  const simd = simdKernels(backend);
  if (simd && c % 4 === 0) {
    coeffs.set(a, 0);
    coeffs.set(b, c);
    coeffs.set(d, 2 * c);
    const at = coeffs.byteOffset;
    const bands = simd.split(out.length / c, 64);
    simd.parallel(
      "rowAffine",
      simd.rowAffine,
      bands.map(([r0, r1]) => [u.byteOffset + r0 * c * 4, v.byteOffset + r0 * c * 4, at, at + 4 * c, at + 8 * c, out.byteOffset + r0 * c * 4, 4 * c, 4 * c * (r1 - r0)]),
    );
    return;
  }
  for (let at = 0; at < out.length; at += c) for (let k = 0; k < c; k++) out[at + k] = u[at + k]! * a[k]! + v[at + k]! * b[k]! + d[k]!;
}

/** [y, mean, biased variance] from x [..., C], weight [C], bias [C]; attrs { eps }. */
export function bnTrain(): tfjs.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const x = inputs.x!;
    const c = x.shape[x.shape.length - 1]!;
    const outs = [backend.makeOutput([...x.shape], "float32"), backend.makeOutput([c], "float32"), backend.makeOutput([c], "float32")];
    const scratch = backend.makeOutput([3 * c + momentsScratch(backend, c)], "float32");
    // Views taken after every output is made: making one may grow (and so move) the heap.
    const [xs, w, b, work] = [x, inputs.weight!, inputs.bias!, scratch].map((t) => backend.typedArrayFromHeap(t) as F32) as [F32, F32, F32, F32];
    const [coeffs, sums] = [work.subarray(0, 3 * c), work.subarray(3 * c)];
    const [y, meanOut, varOut] = outs.map((t) => backend.typedArrayFromHeap(t) as F32) as [F32, F32, F32];
    const n = xs.length;
    const rows = n / c;
    const s1 = new Float64Array(c);
    const s2 = new Float64Array(c);
    columnMoments(backend, sums, xs, xs, undefined, c, s1, s2);
    const scale = new Float64Array(c);
    const shift = new Float64Array(c);
    const eps = attrs.eps as number;
    for (let k = 0; k < c; k++) {
      const m = s1[k]! / rows;
      const v = Math.max(0, s2[k]! / rows - m * m);
      meanOut[k] = m;
      varOut[k] = v;
      const sc = w[k]! / Math.sqrt(v + eps);
      scale[k] = sc;
      shift[k] = b[k]! - m * sc;
    }
    rowAffine(backend, coeffs, xs, xs, scale, new Float64Array(c), shift, y, c);
    backend.disposeData(scratch.dataId);
    return outs;
  };
}

/** [dx, dweight, dbias] from dy, x, mean, variance, weight; attrs { eps }. */
export function bnTrainGrad(): tfjs.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const x = inputs.x!;
    const c = x.shape[x.shape.length - 1]!;
    const outs = [backend.makeOutput([...x.shape], "float32"), backend.makeOutput([c], "float32"), backend.makeOutput([c], "float32")];
    const scratch = backend.makeOutput([3 * c + momentsScratch(backend, c)], "float32");
    const work = backend.typedArrayFromHeap(scratch) as F32;
    const [coeffs, sums] = [work.subarray(0, 3 * c), work.subarray(3 * c)];
    const [dy, xs, mean, variance, w] = [inputs.dy!, x, inputs.mean!, inputs.variance!, inputs.weight!].map((t) => backend.typedArrayFromHeap(t) as F32) as [F32, F32, F32, F32, F32];
    const [dx, dw, db] = outs.map((t) => backend.typedArrayFromHeap(t) as F32) as [F32, F32, F32];
    const n = xs.length;
    const rows = n / c;
    const sdy = new Float64Array(c);
    const sdyx = new Float64Array(c);
    columnMoments(backend, sums, dy, xs, mean, c, sdy, sdyx);
    // dx = w·r·(dy - Σdy/N - x̂·Σ(dy·x̂)/N), x̂ = (x - mean)·r: dx = a·dy + b·x + d per channel.
    const a = new Float64Array(c);
    const bx = new Float64Array(c);
    const d = new Float64Array(c);
    const eps = attrs.eps as number;
    for (let k = 0; k < c; k++) {
      const r = 1 / Math.sqrt(variance[k]! + eps);
      const dgamma = sdyx[k]! * r;
      db[k] = sdy[k]!;
      dw[k] = dgamma;
      // Rounded to float32 here, as the loop reads them, so that a·dy and d cancel exactly where a
      // channel's values are all equal.
      const ak = Math.fround(w[k]! * r);
      const bk = Math.fround((-ak * r * dgamma) / rows);
      a[k] = ak;
      bx[k] = bk;
      d[k] = (-ak * sdy[k]!) / rows - bk * mean[k]!;
    }
    rowAffine(backend, coeffs, dy, xs, a, bx, d, dx, c);
    backend.disposeData(scratch.dataId);
    return outs;
  };
}

/**
 * Training-mode batch norm of channels-last `x` on the wasm backend: y (differentiable in x,
 * weight, bias) and the batch mean and biased variance ([C], for the running statistics).
 */
export function bnTrainWasm(tf: Tf, x: Tensor, weight: Tensor, bias: Tensor, eps: number): { y: Tensor; mean: Tensor; variance: Tensor } {
  let stats: [Tensor, Tensor] | undefined;
  const f = tf.customGrad(((xi: Tensor, wi: Tensor, bi: Tensor, save: (ts: Tensor[]) => void) => {
    const [y, mean, variance] = tf.engine().runKernel(BN_TRAIN, { x: xi, weight: wi, bias: bi }, { eps } as unknown as tfjs.NamedAttrMap) as unknown as Tensor[];
    stats = [tf.keep(mean!.clone()), tf.keep(variance!.clone())];
    save([xi, mean!, variance!, wi]);
    return {
      value: y!,
      gradFunc: (dy: Tensor, saved: Tensor[]) => {
        const [sx, sm, sv, sw] = saved as [Tensor, Tensor, Tensor, Tensor];
        return tf.engine().runKernel(BN_TRAIN_GRAD, { dy, x: sx, mean: sm, variance: sv, weight: sw }, { eps } as unknown as tfjs.NamedAttrMap) as unknown as Tensor[];
      },
    };
  }) as never) as unknown as (x: Tensor, w: Tensor, b: Tensor) => Tensor;
  const y = f(x, weight, bias);
  return { y, mean: stats![0], variance: stats![1] };
}
