/**
 * Convolution gradients for the wasm backend, as forward convolutions it runs with XNNPACK.
 *
 * tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter or
 * DepthwiseConv2dNativeBackpropInput (tfjs issue 8474), its Conv3DBackpropInputV2 is wrong and its
 * Conv3DBackpropFilterV2 wrong for strides > 1, and its Conv2DBackpropInput is a plain loop several
 * times slower than the forward pass. Here, for y[b, i] = Σ_t x[b, i·s + t·d - pad] · w[t]:
 *
 * - the filter gradient dw[t] = Σ_b,i x[b, i·s + t·d] · dy[b, i] is a convolution of x with the
 *   batch and channel axes swapped (channels become the batch, the batch is summed as channels)
 *   and dy as the filter, dilated by the stride s and strided by the dilation d;
 * - the input gradient is a stride-1 convolution of dy, padded by the kernel's reach less the
 *   forward padding, with the flipped filter (in/out roles swapped); for strides > 1 one such
 *   convolution per phase of the stride with the filter taps of that phase, interleaved (2-d), or
 *   of dy with zeros put between its elements (depthwise, 3-d).
 *
 * Layouts are channels-last (NHWC, NDHWC): the wasm backend convolves nothing else.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Tf } from "../types.js";
import { type Geometry, geometry } from "./geometry.js";
import { composed, type Info, type Ops } from "./ops.js";
import { productFilterGradient, productForward, productInputGradient } from "./products.js";
import { type MaccSimd, simdKernels } from "./simd.js";

type Pad = tfjs.backend_util.ExplicitPadding | "valid" | "same" | number;
type Rounding = "floor" | "round" | "ceil" | undefined;
type Quad = [number, number, number, number];
type Quint = [number, number, number, number, number];

/** x cropped or zero-padded to exactly the rows the windows read: `need[i]` per spatial axis, from `before[i]`. */
function windowed(ops: Ops, x: Info, before: readonly number[], need: readonly number[]): Info {
  const spatial = need.map((n, i): [number, number] => [before[i]!, n - before[i]! - x.shape[1 + i]!]);
  return ops.padOrCrop(x, [[0, 0], ...spatial, [0, 0]]);
}

/**
 * For the input gradient of a channels-last convolution: dy with zeros between its elements (the
 * strides), padded so that a stride-1 correlation with the flipped filter of reach `reach` gives
 * exactly `inSpatial`.
 */
function spread(ops: Ops, dy: Info, strides: readonly number[], reach: readonly number[], pads: readonly number[], inSpatial: readonly number[]): Info {
  const d = ops.interleaveZeros(dy, [1, ...strides, 1]);
  const spatial = strides.map((s, i): [number, number] => {
    const before = reach[i]! - 1 - pads[i]!;
    return [before, inSpatial[i]! + reach[i]! - 1 - before - dy.shape[1 + i]! * s];
  });
  return ops.padOrCrop(d, [[0, 0], ...spatial, [0, 0]]);
}

/** The filter gradient as [c, kh, kw, o] (filterShape is HWIO), before any reordering. */
function filterGradient(tf: Tf, ops: Ops, x: Info, dy: Info, attrs: Record<string, unknown>): Info {
  const { strides, pad, dimRoundingMode, filterShape } = attrs as { strides: number | [number, number]; pad: Pad; dimRoundingMode: Rounding; filterShape: Quad };
  const info = tf.backend_util.computeConv2DInfo(x.shape as Quad, filterShape, strides, 1, pad, dimRoundingMode);
  const [kh, kw] = filterShape;
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const [, ho, wo] = dy.shape as Quad;
  const xp = windowed(ops, x, [info.padInfo.top, info.padInfo.left], [(ho - 1) * sh + kh, (wo - 1) * sw + kw]);
  const lhs = ops.transpose(xp, [3, 1, 2, 0]);
  const rhs = ops.transpose(dy, [1, 2, 0, 3]);
  return ops.conv2d(lhs, rhs, [sh, sw]);
}

export function conv2dBackpropFilter(tf: Tf): tfjs.KernelFunc {
  return composed(tf, (ops, { inputs, attrs }) => ops.transpose(filterGradient(tf, ops, inputs.x!, inputs.dy!, attrs), [1, 2, 0, 3]));
}

/**
 * With strides s > 1, dy with zeros between its elements wastes all but 1/s² of the work. Instead,
 * each phase r of the input (rows i = u·s + r) is a stride-1 correlation of dy with the taps
 * t ≡ r + pad (mod s) of the flipped filter, and the phases are interleaved: dx[u·s + r] =
 * Σ_j dy[u + off - (K - 1) + j] · w[t0 + s·(K - 1 - j)], t0 = (r + pad) mod s, off = (r + pad - t0) / s.
 */
function subPixelInput(ops: Ops, dy: Info, filter: Info, layout: "HWIO" | "OIHW", info: tfjs.backend_util.Conv2DInfo, shape: Quad): Info {
  const [b, h, w, c] = shape;
  const k = [info.filterHeight, info.filterWidth];
  const s = [info.strideHeight, info.strideWidth];
  const pads = [info.padInfo.top, info.padInfo.left];
  const phases = [Math.ceil(h / s[0]!), Math.ceil(w / s[1]!)];
  const phase = (r: number[]): Info => {
    const t0 = r.map((ri, i) => (ri + pads[i]!) % s[i]!);
    const taps = t0.map((t, i) => (t < k[i]! ? Math.ceil((k[i]! - t) / s[i]!) : 0));
    if (taps.some((t) => t === 0)) return ops.output([b, phases[0]!, phases[1]!, c], "float32");
    const spatial = r.map((ri, i): [number, number] => {
      const before = taps[i]! - 1 - (ri + pads[i]! - t0[i]!) / s[i]!;
      return [before, phases[i]! + taps[i]! - 1 - before - dy.shape[1 + i]!];
    });
    const padded = ops.padOrCrop(dy, [[0, 0], ...spatial, [0, 0]]);
    return ops.conv2d(padded, ops.subFilter(filter, layout, true, t0, s, taps), [1, 1]);
  };
  const rows = Array.from({ length: s[0]! }, (_, rh) =>
    ops.concat(
      Array.from({ length: s[1]! }, (_, rw) => ops.reshape(phase([rh, rw]), [b, phases[0]!, 1, phases[1]!, 1, c])),
      4,
    ),
  );
  const full = ops.reshape(ops.concat(rows, 2), [b, phases[0]! * s[0]!, phases[1]! * s[1]!, c]);
  return ops.slice(full, [0, 0, 0, 0], shape);
}

/** dx of a 2-d convolution; the filter is HWIO (tfjs's layout) or OIHW (PyTorch's). */
function inputGradient(tf: Tf, ops: Ops, dy: Info, filter: Info, layout: "HWIO" | "OIHW", attrs: Record<string, unknown>): Info {
  const { strides, pad, dimRoundingMode, inputShape: shape } = attrs as { strides: number | [number, number]; pad: Pad; dimRoundingMode: Rounding; inputShape: Quad };
  const hwio = (layout === "HWIO" ? filter.shape : [filter.shape[2], filter.shape[3], filter.shape[1], filter.shape[0]]) as Quad;
  const info = tf.backend_util.computeConv2DInfo(shape, hwio, strides, 1, pad, dimRoundingMode);
  if (info.strideHeight > 1 || info.strideWidth > 1) return subPixelInput(ops, dy, filter, layout, info, shape);
  const [kh, kw] = hwio;
  const padded = spread(ops, dy, [1, 1], [kh, kw], [info.padInfo.top, info.padInfo.left], [shape[1], shape[2]]);
  return ops.conv2d(padded, ops.subFilter(filter, layout, true, [0, 0], [1, 1], [kh, kw]), [1, 1]);
}

export function conv2dBackpropInput(tf: Tf): tfjs.KernelFunc {
  return composed(tf, (ops, { inputs, attrs }) => inputGradient(tf, ops, inputs.dy!, inputs.filter!, "HWIO", attrs));
}

/**
 * The runtime's own 2-d convolution, its weight in PyTorch's layout [o, c, kh, kw] (in which the
 * runtime keeps its weights), and its gradients. Through tfjs's conv2d the weight would be
 * transposed to [kh, kw, c, o] in the forward pass, and its gradient computed in that layout and
 * transposed back. Here each direction is one matrix product of the SIMD module (products.ts),
 * which reads the activations and the weight where they lie; where that module cannot run, XNNPACK's
 * convolution with the weight transposed and the gradients above.
 */
export const CONV2D_OIHW = "MedgConv2DOIHW";
export const CONV2D_OIHW_INPUT_GRADIENT = "MedgConv2DOIHWBackpropInput";
export const CONV2D_OIHW_FILTER_GRADIENT = "MedgConv2DOIHWBackpropFilter";

/** The geometry of a CONV2D_OIHW call (weight [o, c, kh, kw]). */
function oihwGeometry(tf: Tf, xShape: Quad, filterShape: Quad, attrs: Record<string, unknown>): Geometry {
  const { strides, pad } = attrs as { strides: [number, number]; pad: Pad };
  const [o, c, kh, kw] = filterShape;
  return geometry(tf.backend_util.computeConv2DInfo(xShape, [kh, kw, c, o], strides, 1, pad));
}

export function conv2dOihw(tf: Tf): tfjs.KernelFunc {
  return composed(tf, (ops, { inputs, attrs }) => {
    const simd = simdKernels(ops.backend);
    if (simd) return productForward(ops, simd, inputs.x!, inputs.filter!, oihwGeometry(tf, inputs.x!.shape as Quad, inputs.filter!.shape as Quad, attrs));
    const filter = ops.transpose(inputs.filter!, [2, 3, 1, 0]);
    return ops.run("Conv2D", { x: inputs.x!, filter }, { ...attrs, dataFormat: "NHWC", dilations: [1, 1] });
  });
}

export function conv2dOihwInputGradient(tf: Tf): tfjs.KernelFunc {
  return composed(tf, (ops, { inputs, attrs }) => {
    const simd = simdKernels(ops.backend);
    if (simd) return productInputGradient(ops, simd, inputs.dy!, inputs.filter!, oihwGeometry(tf, attrs.inputShape as Quad, inputs.filter!.shape as Quad, attrs));
    return inputGradient(tf, ops, inputs.dy!, inputs.filter!, "OIHW", attrs);
  });
}

export function conv2dOihwFilterGradient(tf: Tf): tfjs.KernelFunc {
  return composed(tf, (ops, { inputs, attrs }) => {
    const [kh, kw, c, o] = attrs.filterShape as Quad;
    const simd = simdKernels(ops.backend);
    if (simd) return productFilterGradient(ops, simd, inputs.x!, inputs.dy!, oihwGeometry(tf, inputs.x!.shape as Quad, [o, c, kh, kw], attrs));
    return ops.transpose(filterGradient(tf, ops, inputs.x!, inputs.dy!, attrs), [3, 0, 1, 2]);
  });
}

export function depthwiseBackpropInput(tf: Tf): tfjs.KernelFunc {
  return composed(tf, (ops, { inputs, attrs }) => {
    const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as { strides: number | [number, number]; dilations: number | [number, number]; pad: Pad; dimRoundingMode: Rounding; inputShape: Quad };
    const filter = inputs.filter!;
    const [kh, kw, c, m] = filter.shape as Quad;
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as Quad, strides, dilations, pad, dimRoundingMode, true);
    const [b, h, w] = inputShape;
    const padded = spread(ops, inputs.dy!, [info.strideHeight, info.strideWidth], [info.effectiveFilterHeight, info.effectiveFilterWidth], [info.padInfo.top, info.padInfo.left], [h, w]);
    const flipped = ops.reshape(ops.flipFilter(filter, false), [kh, kw, c * m, 1]);
    const y = ops.depthwise(padded, flipped, [info.dilationHeight, info.dilationWidth]);
    return m === 1 ? y : ops.sum(ops.reshape(y, [b, h, w, c, m]), 4);
  });
}

interface DepthwiseGeometry {
  b: number;
  h: number;
  w: number;
  c: number;
  ho: number;
  wo: number;
  strides: [number, number];
  dilations: [number, number];
  before: [number, number];
}

/**
 * Σ over the batch and output rows and columns of x[b, i·s + t·d - pad, c] · dy[b, i, c] for one tap
 * and the eight channels from c0, in registers: two loads per multiply-add and nothing stored
 * until the end. The output columns whose input column lies inside the image are [j0, j1).
 */
function tapSums8(x: Float32Array, dy: Float32Array, g: DepthwiseGeometry, ti: number, tj: number, c0: number, sums: Float64Array, at: number): void {
  const { b, h, w, c, ho, wo } = g;
  const [sh, sw] = g.strides;
  const offset = tj * g.dilations[1] - g.before[1];
  const j0 = Math.max(0, Math.ceil(-offset / sw));
  const j1 = Math.min(wo, Math.floor((w - 1 - offset) / sw) + 1);
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let a4 = 0;
  let a5 = 0;
  let a6 = 0;
  let a7 = 0;
  const step = sw * c;
  for (let n = 0; n < b; n++)
    for (let i = 0; i < ho; i++) {
      const row = i * sh + ti * g.dilations[0] - g.before[0];
      if (row < 0 || row >= h) continue;
      let xi = ((n * h + row) * w + j0 * sw + offset) * c + c0;
      let di = ((n * ho + i) * wo + j0) * c + c0;
      for (let j = j0; j < j1; j++, xi += step, di += c) {
        a0 += x[xi]! * dy[di]!;
        a1 += x[xi + 1]! * dy[di + 1]!;
        a2 += x[xi + 2]! * dy[di + 2]!;
        a3 += x[xi + 3]! * dy[di + 3]!;
        a4 += x[xi + 4]! * dy[di + 4]!;
        a5 += x[xi + 5]! * dy[di + 5]!;
        a6 += x[xi + 6]! * dy[di + 6]!;
        a7 += x[xi + 7]! * dy[di + 7]!;
      }
    }
  sums[at] = a0;
  sums[at + 1] = a1;
  sums[at + 2] = a2;
  sums[at + 3] = a3;
  sums[at + 4] = a4;
  sums[at + 5] = a5;
  sums[at + 6] = a6;
  sums[at + 7] = a7;
}

/** The general case, any channel multiplier m: dw[t, k, q] += x[…, k] · dy[…, k·m + q], channels innermost. */
function depthwiseSums(x: Float32Array, dy: Float32Array, g: DepthwiseGeometry, kh: number, kw: number, m: number, channels: readonly number[], sums: Float64Array): void {
  const { b, h, w, c, ho, wo } = g;
  const cm = c * m;
  for (let n = 0; n < b; n++)
    for (let i = 0; i < ho; i++)
      for (let ti = 0; ti < kh; ti++) {
        const row = i * g.strides[0] + ti * g.dilations[0] - g.before[0];
        if (row < 0 || row >= h) continue;
        for (let j = 0; j < wo; j++) {
          const dyAt = ((n * ho + i) * wo + j) * cm;
          for (let tj = 0; tj < kw; tj++) {
            const col = j * g.strides[1] + tj * g.dilations[1] - g.before[1];
            if (col < 0 || col >= w) continue;
            const xAt = ((n * h + row) * w + col) * c;
            const at = (ti * kw + tj) * cm;
            for (const k of channels) for (let q = 0, xv = x[xAt + k]!; q < m; q++) sums[at + k * m + q]! += xv * dy[dyAt + k * m + q]!;
          }
        }
      }
}

/**
 * With m = 1, dw[t, 0:lanes] += x[…, 0:lanes] · dy[…, 0:lanes] for every tap and output pixel, four
 * channels at a time in WebAssembly SIMD (simd.ts), summed in float32 in dw itself.
 */
function simdTapSums(macc: MaccSimd, x: Float32Array, dy: Float32Array, dw: Float32Array, g: DepthwiseGeometry, kh: number, kw: number, lanes: number): void {
  const { b, h, w, c, ho, wo } = g;
  const bytes = lanes * 4;
  for (let n = 0; n < b; n++)
    for (let i = 0; i < ho; i++)
      for (let ti = 0; ti < kh; ti++) {
        const row = i * g.strides[0] + ti * g.dilations[0] - g.before[0];
        if (row < 0 || row >= h) continue;
        for (let j = 0; j < wo; j++) {
          const dyAt = dy.byteOffset + ((n * ho + i) * wo + j) * c * 4;
          for (let tj = 0; tj < kw; tj++) {
            const col = j * g.strides[1] + tj * g.dilations[1] - g.before[1];
            if (col < 0 || col >= w) continue;
            macc(dw.byteOffset + (ti * kw + tj) * c * 4, x.byteOffset + ((n * h + row) * w + col) * c * 4, dyAt, bytes);
          }
        }
      }
}

/**
 * The depthwise filter gradient dw[t, c, q] = Σ_b,i x[b, i·s + t·d - pad, c] · dy[b, i, c·m + q], as
 * loops over the heap. As a convolution (channels and batch merged, dy as a kernel the size of the
 * image) it ran on XNNPACK's slowest path, ten times the forward's time. With one filter per
 * channel (m = 1, every stdlib model) four channels at a time are summed in WebAssembly SIMD (in
 * float32; simd.ts), or where that cannot run eight at a time in registers (in float64); the rest,
 * and other multipliers, channel by channel. (tfjs asks for no dilation here: its depthwise
 * gradient refuses one, and the runtime spreads dilated kernels.)
 */
export function depthwiseBackpropFilter(tf: Tf): tfjs.KernelFunc {
  return composed(tf, (ops, { inputs, backend, attrs }) => {
    const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as { strides: number | [number, number]; dilations: number | [number, number]; pad: Pad; dimRoundingMode: Rounding; filterShape: Quad };
    const info = tf.backend_util.computeConv2DInfo(inputs.x!.shape as Quad, filterShape, strides, dilations, pad, dimRoundingMode, true);
    const [kh, kw, c, m] = filterShape;
    const g: DepthwiseGeometry = {
      b: info.batchSize,
      h: info.inHeight,
      w: info.inWidth,
      c,
      ho: info.outHeight,
      wo: info.outWidth,
      strides: [info.strideHeight, info.strideWidth],
      dilations: [info.dilationHeight, info.dilationWidth],
      before: [info.padInfo.top, info.padInfo.left],
    };
    const out = ops.output([...filterShape], "float32");
    const x = backend.typedArrayFromHeap(inputs.x!) as Float32Array;
    const dy = backend.typedArrayFromHeap(inputs.dy!) as Float32Array;
    const dw = backend.typedArrayFromHeap(out) as Float32Array;
    const sums = new Float64Array(kh * kw * c * m);
    const macc = m === 1 ? simdKernels(backend)?.macc : undefined;
    const blocked = macc ? c - (c % 4) : m === 1 ? c - (c % 8) : 0;
    if (macc) simdTapSums(macc, x, dy, dw, g, kh, kw, blocked);
    else for (let ti = 0; ti < kh; ti++) for (let tj = 0; tj < kw; tj++) for (let c0 = 0; c0 < blocked; c0 += 8) tapSums8(x, dy, g, ti, tj, c0, sums, (ti * kw + tj) * c + c0);
    const rest = Array.from({ length: c - blocked }, (_, k) => blocked + k);
    if (rest.length) depthwiseSums(x, dy, g, kh, kw, m, rest, sums);
    // The SIMD loop summed its channels in place; the rest come from sums.
    for (let t = 0; t < kh * kw; t++) for (let k = macc ? blocked : 0; k < c * m; k++) dw[t * c * m + k] = sums[t * c * m + k]!;
    return out;
  });
}

export function conv3dBackpropFilter(tf: Tf): tfjs.KernelFunc {
  return composed(tf, (ops, { inputs, attrs }) => {
    const { strides, pad, filterShape } = attrs as { strides: number | [number, number, number]; pad: "valid" | "same"; filterShape: Quint };
    const x = inputs.x!;
    const dy = inputs.dy!;
    const info = tf.backend_util.computeConv3DInfo(x.shape as Quint, filterShape, strides, 1, pad);
    const [kd, kh, kw] = filterShape;
    const s = [info.strideDepth, info.strideHeight, info.strideWidth] as [number, number, number];
    const [, od, oh, ow] = dy.shape as Quint;
    const xp = windowed(ops, x, [info.padInfo.front, info.padInfo.top, info.padInfo.left], [(od - 1) * s[0] + kd, (oh - 1) * s[1] + kh, (ow - 1) * s[2] + kw]);
    const lhs = ops.transpose(xp, [4, 1, 2, 3, 0]);
    const rhs = ops.transpose(dy, [1, 2, 3, 0, 4]);
    return ops.transpose(ops.conv3d(lhs, rhs, s), [1, 2, 3, 0, 4]);
  });
}

export function conv3dBackpropInput(tf: Tf): tfjs.KernelFunc {
  return composed(tf, (ops, { inputs, attrs }) => {
    const { strides, pad, inputShape } = attrs as { strides: number | [number, number, number]; pad: "valid" | "same"; inputShape: Quint };
    const filter = inputs.filter!;
    const [kd, kh, kw] = filter.shape as Quint;
    const info = tf.backend_util.computeConv3DInfo(inputShape, filter.shape as Quint, strides, 1, pad);
    const padded = spread(
      ops,
      inputs.dy!,
      [info.strideDepth, info.strideHeight, info.strideWidth],
      [kd, kh, kw],
      [info.padInfo.front, info.padInfo.top, info.padInfo.left],
      inputShape.slice(1, 4),
    );
    const flipped = ops.flipFilter(filter, true);
    return ops.conv3d(padded, flipped, [1, 1, 1]);
  });
}
