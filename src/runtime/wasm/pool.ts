/**
 * Max pooling kernels for the wasm backend, as loops over its heap.
 *
 * tfjs-backend-wasm 4.22's MaxPoolGrad, MaxPool3D and MaxPool3DGrad lose windows whose maximum is
 * negative (MaxPool3D returns a wrong value there, the gradients drop it), which the runtime's
 * -Infinity padding and any pre-activation input produce. These loops pick the same element as
 * the pure-JS backend (the first maximum in a 2-d window, the last in a 3-d one), so gradients
 * agree exactly, ties after a ReLU included.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Tf } from "../types.js";
import { composed } from "./ops.js";

type Quad = [number, number, number, number];
type Quint = [number, number, number, number, number];

/** A pool's geometry as 3-d (a 2-d pool is one of depth 1): extents outermost first. */
interface Windows {
  batch: number;
  channels: number;
  in: [number, number, number];
  out: [number, number, number];
  strides: [number, number, number];
  dilations: [number, number, number];
  kernel: [number, number, number];
  before: [number, number, number];
}

function windows2d(info: tfjs.backend_util.Conv2DInfo): Windows {
  return {
    batch: info.batchSize,
    channels: info.inChannels,
    in: [1, info.inHeight, info.inWidth],
    out: [1, info.outHeight, info.outWidth],
    strides: [1, info.strideHeight, info.strideWidth],
    dilations: [1, info.dilationHeight, info.dilationWidth],
    kernel: [1, info.filterHeight, info.filterWidth],
    before: [0, info.padInfo.top, info.padInfo.left],
  };
}

function windows3d(info: tfjs.backend_util.Conv3DInfo): Windows {
  return {
    batch: info.batchSize,
    channels: info.inChannels,
    in: [info.inDepth, info.inHeight, info.inWidth],
    out: [info.outDepth, info.outHeight, info.outWidth],
    strides: [info.strideDepth, info.strideHeight, info.strideWidth],
    dilations: [info.dilationDepth, info.dilationHeight, info.dilationWidth],
    kernel: [info.filterDepth, info.filterHeight, info.filterWidth],
    before: [info.padInfo.front, info.padInfo.top, info.padInfo.left],
  };
}

/**
 * Calls `visit(outputOffset, argmax, max)` per output pixel, with `argmax[c]` the input offset of
 * the window's maximum for channel c (-1 for a window with no element above -Infinity). Windows are
 * scanned outermost axis first; `last` keeps the last of equal maxima instead of the first.
 */
function scanWindows(x: Float32Array, w: Windows, last: boolean, visit: (out: number, argmax: Int32Array, max: Float32Array) => void): void {
  const c = w.channels;
  const [id, ih, iw] = w.in;
  const [od, oh, ow] = w.out;
  const [sd, sh, sw] = w.strides;
  const [dd, dh, dw] = w.dilations;
  const [kd, kh, kw] = w.kernel;
  const [pd, ph, pw] = w.before;
  const max = new Float32Array(c);
  const argmax = new Int32Array(c);
  let o = 0;
  for (let b = 0; b < w.batch; b++)
    for (let z = 0; z < od; z++)
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++, o += c) {
          max.fill(-Infinity);
          argmax.fill(-1);
          for (let p = 0; p < kd; p++) {
            const zi = z * sd + p * dd - pd;
            if (zi < 0 || zi >= id) continue;
            for (let q = 0; q < kh; q++) {
              const yi = y * sh + q * dh - ph;
              if (yi < 0 || yi >= ih) continue;
              for (let r = 0; r < kw; r++) {
                const xi = xx * sw + r * dw - pw;
                if (xi < 0 || xi >= iw) continue;
                const at = (((b * id + zi) * ih + yi) * iw + xi) * c;
                if (last) {
                  for (let ch = 0; ch < c; ch++)
                    if (x[at + ch]! >= max[ch]!) {
                      max[ch] = x[at + ch]!;
                      argmax[ch] = at + ch;
                    }
                } else {
                  for (let ch = 0; ch < c; ch++)
                    if (x[at + ch]! > max[ch]!) {
                      max[ch] = x[at + ch]!;
                      argmax[ch] = at + ch;
                    }
                }
              }
            }
          }
          visit(o, argmax, max);
        }
}

function gradient(tf: Tf, windowsOf: (x: tfjs.TensorInfo, attrs: Record<string, unknown>) => Windows, last: boolean): tfjs.KernelFunc {
  return composed(tf, (ops, { inputs, backend, attrs }) => {
    const x = inputs.input!;
    const dy = inputs.dy!;
    const dx = ops.output([...x.shape], "float32");
    const xs = backend.typedArrayFromHeap(x) as Float32Array;
    const g = backend.typedArrayFromHeap(dy) as Float32Array;
    const out = backend.typedArrayFromHeap(dx) as Float32Array;
    scanWindows(xs, windowsOf(x, attrs), last, (o, argmax) => {
      for (let ch = 0; ch < argmax.length; ch++) if (argmax[ch]! >= 0) out[argmax[ch]!]! += g[o + ch]!;
    });
    return dx;
  });
}

interface PoolAttrs {
  filterSize: number | number[];
  strides: number | number[];
  pad: "valid" | "same" | number | tfjs.backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/**
 * The 2-d gradient from the forward's output y: each window's first element equal to its maximum
 * (above -Infinity) takes dy, the same element the scan picks. Comparing with the known maximum
 * branches predictably; tracking a running maximum (the scan) mispredicts about every other
 * element on real activations, and took three times as long.
 */
export function maxPoolGrad(tf: Tf): tfjs.KernelFunc {
  return composed(tf, (ops, { inputs, backend, attrs }) => {
    const a = attrs as unknown as PoolAttrs;
    const x = inputs.input!;
    const w = windows2d(tf.backend_util.computePool2DInfo(x.shape as Quad, a.filterSize as [number, number], a.strides as [number, number], 1, a.pad, a.dimRoundingMode));
    const dx = ops.output([...x.shape], "float32");
    const xs = backend.typedArrayFromHeap(x) as Float32Array;
    const ys = backend.typedArrayFromHeap(inputs.output!) as Float32Array;
    const g = backend.typedArrayFromHeap(inputs.dy!) as Float32Array;
    const out = backend.typedArrayFromHeap(dx) as Float32Array;
    const c = w.channels;
    const [, ih, iw] = w.in;
    const [, oh, ow] = w.out;
    const [, sh, sw] = w.strides;
    const [, dh, dw] = w.dilations;
    const [, kh, kw] = w.kernel;
    const [, ph, pw] = w.before;
    // The window's valid taps as input offsets (relative to the image), per output pixel.
    const taps = new Int32Array(kh * kw);
    let o = 0;
    for (let b = 0; b < w.batch; b++)
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++, o += c) {
          let n = 0;
          for (let q = 0; q < kh; q++) {
            const yi = y * sh + q * dh - ph;
            if (yi < 0 || yi >= ih) continue;
            for (let r = 0; r < kw; r++) {
              const xi = xx * sw + r * dw - pw;
              if (xi >= 0 && xi < iw) taps[n++] = ((b * ih + yi) * iw + xi) * c;
            }
          }
          for (let ch = 0; ch < c; ch++) {
            const max = ys[o + ch]!;
            if (!(max > -Infinity)) continue;
            for (let t = 0; t < n; t++)
              if (xs[taps[t]! + ch] === max) {
                out[taps[t]! + ch]! += g[o + ch]!;
                break;
              }
          }
        }
    return dx;
  });
}


function info3d(tf: Tf, x: tfjs.TensorInfo, attrs: Record<string, unknown>): Windows {
  const a = attrs as unknown as PoolAttrs;
  return windows3d(tf.backend_util.computePool3DInfo(x.shape as Quint, a.filterSize as [number, number, number], a.strides as [number, number, number], 1, a.pad as "valid" | "same" | number, a.dimRoundingMode));
}

export function maxPool3dGrad(tf: Tf): tfjs.KernelFunc {
  return gradient(tf, (x, attrs) => info3d(tf, x, attrs), true);
}

export function maxPool3d(tf: Tf): tfjs.KernelFunc {
  return composed(tf, (ops, { inputs, backend, attrs }) => {
    const x = inputs.x!;
    const w = info3d(tf, x, attrs);
    const y = ops.output([w.batch, ...w.out, w.channels], "float32");
    const xs = backend.typedArrayFromHeap(x) as Float32Array;
    const out = backend.typedArrayFromHeap(y) as Float32Array;
    scanWindows(xs, w, true, (o, _argmax, max) => out.set(max, o));
    return y;
  });
}
