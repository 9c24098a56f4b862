/**
 * Convolutions, channels-last. The IR's weights stay in PyTorch's layout ([out, in / g, ...k], and
 * [in, out / g, ...k] for conv_transpose), so checkpoints need no conversion; each call reorders
 * them for tfjs, which costs little next to the convolution itself.
 *
 * tfjs 4.22 has no gradient for dilated convolutions nor for conv3dTranspose, so a dilated kernel
 * is spread out with zeros, and a transposed convolution other than the plain 2-d one becomes a
 * stride-1 convolution over the zero-interleaved input (which has the same gradient).
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Tensor, Tf } from "../types.js";
import { conv2dOihw } from "../wasm/layers.js";
import type { Kernel } from "./context.js";
import { Act, channelsLast, channelsLastTensor } from "./layout.js";
import { dilateAxis, padOrCrop, takeStrided } from "./util.js";

export interface ConvAttrs {
  /** Spatial dims: 1, 2 or 3. */
  rank: number;
  in: number;
  out: number;
  kernel: number[];
  strides: number[];
  /** Per side: [begin..., end...]. */
  pads: number[];
  dilations: number[];
  group: number;
  bias: boolean;
  outputPadding?: number[];
}

type Pad = [number, number];
type ExplicitPadding = [Pad, Pad, Pad, Pad];

function spatialPads(a: ConvAttrs): Pad[] {
  return a.kernel.map((_, i) => [a.pads[i]!, a.pads[a.rank + i]!]);
}

/** A 1-d problem as a 2-d one of height 1. */
function as2d(a: ConvAttrs): ConvAttrs {
  return {
    ...a,
    rank: 2,
    kernel: [1, a.kernel[0]!],
    strides: [1, a.strides[0]!],
    pads: [0, a.pads[0]!, 0, a.pads[1]!],
    dilations: [1, a.dilations[0]!],
    ...(a.outputPadding ? { outputPadding: [0, a.outputPadding[0]!] } : {}),
  };
}

/** Native backends (tfjs-node, GPU) have fast gradient kernels of their own. */
function pureJs(tf: Tf): boolean {
  return tf.getBackend() === "cpu";
}

/**
 * On the pure-JS backend, conv2d whose filter gradient is itself a convolution. tfjs 4.22's CPU Conv2DBackpropFilter
 * reads every element through TensorBuffer.get and runs some 30× slower than the forward pass;
 * dW[i, j, c, o] = Σ x[b, y·s + i, x·s + j, c] · dy[b, y, x, o] is a forward conv2d of x (batch and
 * channels swapped) with dy as the filter, dilated by the stride. A frozen weight gets no gradient.
 */
function conv2d(tf: Tf, x: Tensor, filter: Tensor, strides: [number, number], pads: Pad[], weightGrad: boolean): Tensor {
  const explicit = [[0, 0], ...pads, [0, 0]] as ExplicitPadding;
  const pad = pads.every(([b, e]) => b + e === 0) ? "valid" : explicit;
  if (!pureJs(tf)) return tf.conv2d(x as tfjs.Tensor4D, filter as tfjs.Tensor4D, strides, pad);
  const op = tf.customGrad((...args: unknown[]) => {
    const [xi, wi, save] = args as [tfjs.Tensor4D, tfjs.Tensor4D, tfjs.GradSaveFunc];
    save([xi, wi]);
    return {
      value: tf.conv2d(xi, wi, strides, pad),
      gradFunc: (dy: tfjs.Tensor | tfjs.Tensor[], saved: tfjs.Tensor[]) => {
        const [xs, ws] = saved as [tfjs.Tensor4D, tfjs.Tensor4D];
        const g = dy as tfjs.Tensor4D;
        const dx = tf.conv2dTranspose(g, ws, xs.shape, strides, pad);
        if (!weightGrad) return [dx, tf.zerosLike(ws)];
        const padded = pad === "valid" ? xs : tf.pad(xs, explicit);
        return [dx, filterGradient(tf, padded, g, strides, ws.shape[0], ws.shape[1])];
      },
    };
  });
  return op(x, filter);
}

/** Σ_b,y,x x[b, y·s + i, x·s + j, c] · dy[b, y, x, o] for i < kh, j < kw: [kh, kw, c, o]. */
function filterGradient(tf: Tf, x: Tensor, dy: Tensor, strides: [number, number], kh: number, kw: number): Tensor {
  const lhs = tf.transpose(x, [3, 1, 2, 0]) as tfjs.Tensor4D;
  const rhs = tf.transpose(dy, [1, 2, 0, 3]) as tfjs.Tensor4D;
  const full = tf.conv2d(lhs, rhs, 1, "valid", "NHWC", strides);
  return tf.transpose(tf.slice(full, [0, 0, 0, 0], [full.shape[0], kh, kw, full.shape[3]]), [1, 2, 0, 3]);
}

/**
 * conv2dTranspose ('valid'); on the pure-JS backend with both gradients as forward convolutions: dx = conv2d(dy, W) and
 * dW the filter gradient of that convolution with the roles of x and dy swapped.
 */
function conv2dTranspose(tf: Tf, x: Tensor, filter: Tensor, outShape: [number, number, number, number], strides: [number, number], weightGrad: boolean): Tensor {
  if (!pureJs(tf)) return tf.conv2dTranspose(x as tfjs.Tensor4D, filter as tfjs.Tensor4D, outShape, strides, "valid");
  const op = tf.customGrad((...args: unknown[]) => {
    const [xi, wi, save] = args as [tfjs.Tensor4D, tfjs.Tensor4D, tfjs.GradSaveFunc];
    save([xi, wi]);
    return {
      value: tf.conv2dTranspose(xi, wi, outShape, strides, "valid"),
      gradFunc: (dy: tfjs.Tensor | tfjs.Tensor[], saved: tfjs.Tensor[]) => {
        const [xs, ws] = saved as [tfjs.Tensor4D, tfjs.Tensor4D];
        const g = dy as tfjs.Tensor4D;
        const dx = tf.conv2d(g, ws, strides, "valid");
        return [dx, weightGrad ? filterGradient(tf, g, xs, strides, ws.shape[0], ws.shape[1]) : tf.zerosLike(ws)];
      },
    };
  });
  return op(x, filter);
}

/**
 * depthwiseConv2d; on the pure-JS backend with the filter gradient as kernel-sized sums of strided slices (tfjs's CPU
 * kernel for it has the same per-element cost problem as Conv2DBackpropFilter).
 */
function depthwiseConv2d(tf: Tf, x: Tensor, filter: Tensor, strides: [number, number], pads: Pad[], weightGrad: boolean): Tensor {
  const explicit = [[0, 0], ...pads, [0, 0]] as ExplicitPadding;
  const pad = pads.every(([b, e]) => b + e === 0) ? "valid" : explicit;
  if (!pureJs(tf)) return tf.depthwiseConv2d(x as tfjs.Tensor4D, filter as tfjs.Tensor4D, strides, pad);
  const op = tf.customGrad((...args: unknown[]) => {
    const [xi, wi, save] = args as [tfjs.Tensor4D, tfjs.Tensor4D, tfjs.GradSaveFunc];
    save([xi, wi]);
    return {
      value: tf.depthwiseConv2d(xi, wi, strides, pad),
      gradFunc: (dy: tfjs.Tensor | tfjs.Tensor[], saved: tfjs.Tensor[]) => {
        const [xs, ws] = saved as [tfjs.Tensor4D, tfjs.Tensor4D];
        const g = dy as tfjs.Tensor4D;
        // tfjs exports no op for this kernel (and a nested tf.grad would end the outer tape).
        const dx = tf.engine().runKernel("DepthwiseConv2dNativeBackpropInput", { dy: g, filter: ws }, { strides, pad, dilations: [1, 1], inputShape: xs.shape }) as Tensor;
        if (!weightGrad) return [dx, tf.zerosLike(ws)];
        const [kh, kw, c, mult] = ws.shape;
        const [n, ho, wo] = g.shape;
        const padded = pad === "valid" ? xs : tf.pad(xs, explicit);
        const grouped = tf.reshape(g, [n, ho, wo, c, mult]);
        const taps: Tensor[] = [];
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            const rows = takeStrided(tf, padded, 1, i, strides[0], ho);
            const window = takeStrided(tf, rows, 2, j, strides[1], wo);
            taps.push(tf.sum(tf.mul(tf.expandDims(window, 4), grouped), [0, 1, 2]));
          }
        return [dx, tf.reshape(tf.stack(taps), [kh, kw, c, mult])];
      },
    };
  });
  return op(x, filter);
}

function convOnce(tf: Tf, x: Tensor, w: Tensor, strides: number[], pads: Pad[], n: number, weightGrad: boolean): Tensor {
  // On the wasm backend a kernel of the runtime's own convolves with the IR-layout weight directly.
  if (n === 2 && tf.getBackend() === "wasm") {
    const pad = pads.every(([b, e]) => b + e === 0) ? "valid" : ([[0, 0], ...pads, [0, 0]] as ExplicitPadding);
    return conv2dOihw(tf, x, w, strides as [number, number], pad);
  }
  if (n === 2) return conv2d(tf, x, tf.transpose(w, [2, 3, 1, 0]), strides as [number, number], pads, weightGrad);
  const filter = tf.transpose(w, [2, 3, 4, 1, 0]) as tfjs.Tensor5D;
  return tf.conv3d(x as tfjs.Tensor5D, filter, strides as [number, number, number], "valid");
}

/** Convolution of a channels-last tensor with an IR-layout weight; returns channels-last. */
export function convChannelsLast(tf: Tf, x: Tensor, weight: Tensor, a: ConvAttrs, weightGrad = true): Tensor {
  const n = a.rank;
  if (n === 1) return tf.squeeze(convChannelsLast(tf, tf.expandDims(x, 1), tf.expandDims(weight, 2), as2d(a), weightGrad), [1]);
  let w = weight;
  for (let i = 0; i < n; i++) w = dilateAxis(tf, w, 2 + i, a.dilations[i]!);
  let pads = spatialPads(a);
  let input = x;
  // conv3d takes no explicit padding.
  if (n === 3 && pads.some(([b, e]) => b + e > 0)) {
    input = tf.pad(x, [[0, 0], ...pads, [0, 0]]);
    pads = pads.map(() => [0, 0]);
  }
  const g = a.group;
  if (g === 1) return convOnce(tf, input, w, a.strides, pads, n, weightGrad);
  if (n === 2 && g === a.in) {
    const [kh, kw] = w.shape.slice(2) as [number, number];
    const filter = tf.transpose(tf.reshape(w, [a.in, a.out / a.in, kh, kw]), [2, 3, 0, 1]);
    return depthwiseConv2d(tf, input, filter, a.strides as [number, number], pads, weightGrad);
  }
  const xs = tf.split(input, g, n + 1);
  const ws = tf.split(w, g, 0);
  return tf.concat(
    xs.map((xi, i) => convOnce(tf, xi, ws[i]!, a.strides, pads, n, weightGrad)),
    n + 1,
  );
}

function addBias(tf: Tf, y: Tensor, bias: Tensor | undefined): Tensor {
  return bias ? tf.add(y, bias) : y;
}

/** False for a frozen weight (a variable not trainable): its gradient is never asked for. */
function trainable(t: Tensor | undefined): boolean {
  return (t as { trainable?: boolean } | undefined)?.trainable !== false;
}

export const conv: Kernel<ConvAttrs> = (ctx, [x], w, a) => {
  const tf = ctx.tf;
  const y = convChannelsLast(tf, channelsLastTensor(tf, x!), w.weight!, a, trainable(w.weight));
  return new Act(addBias(tf, y, w.bias), channelsLast(a.rank + 2));
};

/** Transposed convolution of a channels-last tensor with an IR-layout weight [in, out / g, ...k]. */
export function convTransposeChannelsLast(tf: Tf, x: Tensor, weight: Tensor, a: ConvAttrs, weightGrad = true): Tensor {
  const n = a.rank;
  if (n === 1) return tf.squeeze(convTransposeChannelsLast(tf, tf.expandDims(x, 1), tf.expandDims(weight, 2), as2d(a), weightGrad), [1]);
  const outputPadding = a.outputPadding ?? a.kernel.map(() => 0);
  const pads = spatialPads(a);
  // What PyTorch removes from, or adds to, the full transposed convolution on each side.
  const trim = (full: Pad[]): Pad[] => full.map(([b, e], i) => [b - pads[i]![0], e - pads[i]![1] + outputPadding[i]!]);
  if (n === 2 && a.group === 1 && a.dilations.every((d) => d === 1)) {
    const [batch, h, wd] = x.shape as [number, number, number, number];
    const full = [(h - 1) * a.strides[0]! + a.kernel[0]!, (wd - 1) * a.strides[1]! + a.kernel[1]!] as [number, number];
    const filter = tf.transpose(weight, [2, 3, 1, 0]);
    const y = conv2dTranspose(tf, x, filter, [batch, full[0], full[1], a.out], a.strides as [number, number], weightGrad);
    return padOrCrop(tf, y, [[0, 0], ...trim([[0, 0], [0, 0]]), [0, 0]]);
  }
  // Zero-interleave the input by the stride, pad by the dilated kernel's reach, then convolve
  // with the flipped kernel whose in/out roles are swapped (per group).
  let input = x;
  for (let i = 0; i < n; i++) input = dilateAxis(tf, input, 1 + i, a.strides[i]!);
  const reach = a.kernel.map((k, i) => a.dilations[i]! * (k - 1));
  input = padOrCrop(tf, input, [[0, 0], ...trim(reach.map((r) => [r, r] as Pad)), [0, 0]]);
  const spatial = a.kernel.map((_, i) => 2 + i);
  // tfjs's gradient of a split into one piece fails (it gets dy as a tensor, not a list).
  const groups = (a.group === 1 ? [weight] : tf.split(weight, a.group, 0)).map((wg) => tf.reverse(tf.transpose(wg, [1, 0, ...spatial]), spatial));
  const w = groups.length === 1 ? groups[0]! : tf.concat(groups, 0);
  return convChannelsLast(
    tf,
    input,
    w,
    { ...a, strides: a.kernel.map(() => 1), pads: [...a.kernel, ...a.kernel].map(() => 0) },
    weightGrad,
  );
}

export const conv_transpose: Kernel<ConvAttrs> = (ctx, [x], w, a) => {
  const tf = ctx.tf;
  const y = convTransposeChannelsLast(tf, channelsLastTensor(tf, x!), w.weight!, a, trainable(w.weight));
  return new Act(addBias(tf, y, w.bias), channelsLast(a.rank + 2));
};

export const convKernels = { conv, dwconv: conv, conv_transpose };
