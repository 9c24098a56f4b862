/**
 * Normalisations. Each reduces over physical axes found through the value's layout, so none
 * needs to move data. Batch norm follows PyTorch: batch statistics in training (biased variance
 * to normalise, unbiased to update the running variance with `momentum`), running statistics in
 * evaluation, and evaluation behaviour whenever its parameters are frozen (not trainable), so a
 * frozen backbone keeps its statistics.
 */
import type { Tensor, Tf, Variable } from "../types.js";
import type { Kernel } from "./context.js";
import { Act, channelsLast, channelsLastTensor } from "./layout.js";
import { vectorAlong } from "./util.js";
import { bnTrainWasm } from "../wasm/batchnorm.js";

interface NormAttrs {
  eps: number;
  channels: number;
  axis: number;
  affine?: boolean;
}

/** (x - mean) / sqrt(var + eps), then the optional per-channel affine along physical axis `at`. */
function normalise(tf: Tf, t: Tensor, mean: Tensor, variance: Tensor, eps: number, weight: Tensor | undefined, bias: Tensor | undefined, at: number): Tensor {
  return affine(tf, tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, eps))), weight, bias, at);
}

function affine(tf: Tf, y: Tensor, weight: Tensor | undefined, bias: Tensor | undefined, at: number): Tensor {
  let out = y;
  if (weight) out = tf.mul(out, vectorAlong(tf, weight, y.rank, at));
  if (bias) out = tf.add(out, vectorAlong(tf, bias, y.rank, at));
  return out;
}

/**
 * Batch norm as one multiply and one add per element: the per-channel scale weight / sqrt(var + eps)
 * and shift bias - mean · scale are formed on the [C]-sized statistics first.
 */
function perChannel(tf: Tf, t: Tensor, mean: Tensor, variance: Tensor, eps: number, weight: Tensor | undefined, bias: Tensor | undefined, at: number): Tensor {
  let scale = tf.rsqrt(tf.add(variance, eps));
  if (weight) scale = tf.mul(scale, vectorAlong(tf, weight, t.rank, at));
  let shift = tf.neg(tf.mul(mean, scale));
  if (bias) shift = tf.add(shift, vectorAlong(tf, bias, t.rank, at));
  return tf.add(tf.mul(t, scale), shift);
}

function isFrozen(t: Tensor | undefined): boolean {
  return t !== undefined && (t as Variable).trainable === false;
}

export const bn: Kernel<NormAttrs & { momentum: number }> = (ctx, [x], w, a) => {
  const tf = ctx.tf;
  const t = x!.t;
  const c = x!.axis(1);
  const axes = x!.layout.map((_, j) => j).filter((j) => j !== c);
  const rank = t.rank;
  if (!ctx.training || isFrozen(w.weight)) {
    const mean = vectorAlong(tf, w.running_mean!, rank, c);
    const variance = vectorAlong(tf, w.running_var!, rank, c);
    return new Act(perChannel(tf, t, mean, variance, a.eps, w.weight, w.bias, c), x!.layout);
  }
  // On the wasm backend, channels innermost: one fused kernel forward and one backward (wasm/batchnorm.ts).
  const fused = tf.getBackend() === "wasm" && c === rank - 1 && t.dtype === "float32";
  let y: Tensor | undefined;
  let mean: Tensor;
  let variance: Tensor;
  if (fused) {
    const weight = w.weight ?? tf.ones([a.channels]);
    const bias = w.bias ?? tf.zeros([a.channels]);
    ({ y, mean, variance } = bnTrainWasm(tf, t, weight, bias, a.eps));
  } else ({ mean, variance } = tf.moments(t, axes, true));
  const count = t.size / a.channels;
  const runningMean = w.running_mean as Variable | undefined;
  const runningVar = w.running_var as Variable | undefined;
  if (runningMean && runningVar && typeof runningMean.assign === "function") {
    const m = a.momentum;
    const batchMean = tf.reshape(mean, [a.channels]);
    const unbiased = tf.mul(tf.reshape(variance, [a.channels]), count > 1 ? count / (count - 1) : 1);
    ctx.updates.push(
      { target: runningMean, value: tf.keep(tf.add(tf.mul(runningMean, 1 - m), tf.mul(batchMean, m))) },
      { target: runningVar, value: tf.keep(tf.add(tf.mul(runningVar, 1 - m), tf.mul(unbiased, m))) },
    );
  }
  if (y) {
    tf.dispose([mean, variance]);
    return new Act(y, x!.layout);
  }
  return new Act(perChannel(tf, t, mean, variance, a.eps, w.weight, w.bias, c), x!.layout);
};

/** Normalises over logical axis `axis` alone (ln over the last dim, ln2d over channels). */
function layerNorm(axisOf: (a: NormAttrs, rank: number) => number): Kernel<NormAttrs> {
  return (ctx, [x], w, a) => {
    const tf = ctx.tf;
    const at = x!.axis(axisOf(a, x!.rank));
    const { mean, variance } = tf.moments(x!.t, [at], true);
    return new Act(normalise(tf, x!.t, mean, variance, a.eps, w.weight, w.bias, at), x!.layout);
  };
}

export const gn: Kernel<NormAttrs & { groups: number }> = (ctx, [x], w, a) => {
  const tf = ctx.tf;
  const t = channelsLastTensor(tf, x!);
  const shape = t.shape as number[];
  const grouped = tf.reshape(t, [...shape.slice(0, -1), a.groups, a.channels / a.groups]);
  const axes = grouped.shape.map((_, i) => i).filter((i) => i !== 0 && i !== grouped.rank - 2);
  const { mean, variance } = tf.moments(grouped, axes, true);
  const y = tf.reshape(tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, a.eps))), shape);
  return new Act(affine(tf, y, w.weight, w.bias, shape.length - 1), channelsLast(x!.rank));
};

export const instance_norm: Kernel<NormAttrs> = (ctx, [x], w, a) => {
  const tf = ctx.tf;
  const axes = x!.layout.map((_, j) => j).filter((j) => x!.layout[j]! >= 2);
  const { mean, variance } = tf.moments(x!.t, axes, true);
  return new Act(normalise(tf, x!.t, mean, variance, a.eps, w.weight, w.bias, x!.axis(1)), x!.layout);
};

export const normKernels = {
  bn,
  gn,
  ln: layerNorm((_, rank) => rank - 1),
  ln2d: layerNorm(() => 1),
  instance_norm,
};
