/**
 * Run by threads.test.ts in a process of its own (one WebAssembly instance per process): starts the
 * wasm backend on the threads given, computes a tfjs convolution's gradients and the runtime's own
 * convolution's (its products split over the threads) and batch norm's (its passes split too) and
 * compares them with pure JS, and AdamW updates (on the shared memory, in SIMD, a large one split over the threads) with the float64
 * rule; prints one JSON line and then simply returns (the process must end by itself).
 */
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import type { Tf } from "../../src/runtime/types.js";
import { simdKernels } from "../../src/runtime/wasm/simd.js";
import { runAdamStep } from "../../src/runtime/wasm/adam.js";
import { startWasm } from "../../src/runtime/wasm/backend.js";
import { conv2dOihw } from "../../src/runtime/wasm/layers.js";
import { createForwardContext } from "../../src/runtime/kernels/context.js";
import { Act, channelsLast } from "../../src/runtime/kernels/layout.js";
import { bn } from "../../src/runtime/kernels/norm.js";
import type { Tensor } from "../../src/runtime/types.js";

const threads = Number(process.argv[2] ?? 2);
const started = await startWasm(tf as unknown as Tf, createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm"), threads);

function grads(): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from({ length: 2 * 24 * 24 * 16 }, (_, i) => Math.sin(i)), [2, 24, 24, 16]);
    const w = tf.tensor4d(Float32Array.from({ length: 3 * 3 * 16 * 32 }, (_, i) => Math.cos(i) / 10), [3, 3, 16, 32]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, "same"))))([x, w]);
    return g.map((t) => Float32Array.from(t.dataSync()));
  });
}

/** The runtime's convolution (weight [o, c, kh, kw]), forward and both gradients; on pure JS through tf.conv2d. */
function runtimeConv(strides: [number, number]): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from({ length: 4 * 12 * 12 * 24 }, (_, i) => Math.sin(0.7 * i)), [4, 12, 12, 24]);
    const w = tf.tensor4d(Float32Array.from({ length: 40 * 24 * 3 * 3 }, (_, i) => Math.cos(1.3 * i) / 10), [40, 24, 3, 3]);
    const pad = [[0, 0], [1, 1], [1, 1], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]];
    const conv = (a: tf.Tensor, b: tf.Tensor) =>
      (tf.getBackend() === "wasm" ? (conv2dOihw(tf as unknown as Tf, a as never, b as never, strides, pad) as unknown as tf.Tensor4D) : tf.conv2d(a as tf.Tensor4D, tf.transpose(b, [2, 3, 1, 0]) as tf.Tensor4D, strides, pad));
    const y = conv(x, w);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(conv(a, b))))([x, w]);
    return [y, ...g].map((t) => Float32Array.from(t.dataSync()));
  });
}
const wasmRuntime = [...runtimeConv([1, 1]), ...runtimeConv([2, 2])];

/** Training-mode batch norm (on wasm its statistics and passes split over the threads): y and the gradients of x, weight, bias. */
function batchNorm(): Float32Array[] {
  return tf.tidy(() => {
    const shape = [4, 12, 12, 32];
    const x = tf.tensor4d(Float32Array.from({ length: 4 * 12 * 12 * 32 }, (_, i) => Math.sin(0.3 * i) * 2 + 0.5), shape as [number, number, number, number]);
    const w = tf.tensor1d(Float32Array.from({ length: 32 }, (_, i) => 1 + 0.01 * i));
    const b = tf.tensor1d(Float32Array.from({ length: 32 }, (_, i) => 0.1 * Math.cos(i)));
    const apply = (xt: tf.Tensor, wt: tf.Tensor, bt: tf.Tensor) => {
      const ctx = createForwardContext(tf as unknown as Tf, { training: true });
      const params = { weight: wt, bias: bt, running_mean: tf.variable(tf.zeros([32])), running_var: tf.variable(tf.ones([32])) };
      return (bn(ctx, [new Act(xt as unknown as Tensor, channelsLast(4))], params as never, { eps: 1e-5, momentum: 0.1, channels: 32, axis: 1 }) as Act).t as unknown as tf.Tensor;
    };
    const g = tf.grads((xt: tf.Tensor, wt: tf.Tensor, bt: tf.Tensor) => tf.sum(tf.mul(apply(xt, wt, bt), tf.sin(tf.range(0, 4 * 12 * 12 * 32).reshape(shape)))))([x, w, b]);
    return [apply(x, w, b), ...g].map((t) => Float32Array.from(t.dataSync()));
  });
}
const wasmBatchNorm = batchNorm();
const wasm = grads();

/** One AdamW update of n elements (four lanes at a time and the rest after) against a float64 loop. */
function adamGap(n: number): number {
  const [p, g, m, v] = [1, 2, 3, 4].map((k) => Float32Array.from({ length: n }, (_, i) => (k === 4 ? 0.5 + 0.4 * Math.sin(i * k) : Math.sin(i * k))));
  const attrs = { beta1: 0.9, beta2: 0.999, eps: 1e-8, shrink: 1 - 1e-5, l2: 0, rootBc2: Math.sqrt(1 - 0.999 ** 3), stepSize: 1e-3 / (1 - 0.9 ** 3) };
  const out = tf.tidy(() => runAdamStep(tf as unknown as Tf, ...([p, g, m, v].map((a) => tf.tensor1d(a!)) as [never, never, never, never]), attrs).map((t) => Float32Array.from(t.dataSync())));
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const mi = m![i]! * attrs.beta1 + g![i]! * (1 - attrs.beta1);
    const vi = v![i]! * attrs.beta2 + g![i]! * g![i]! * (1 - attrs.beta2);
    const pi = p![i]! * attrs.shrink - (mi / (Math.sqrt(vi) / attrs.rootBc2 + attrs.eps)) * attrs.stepSize;
    worst = Math.max(worst, Math.abs(out[0]![i]! - pi), Math.abs(out[1]![i]! - mi), Math.abs(out[2]![i]! - vi));
  }
  return worst;
}
const kernels = simdKernels(tf.backend());
// 1027: one thread; 99,999 (390 KiB an array): split over the threads.
const adam = { simd: kernels !== null, gap: Math.max(adamGap(1027), adamGap(99_999)) };
await tf.setBackend("cpu");

/** max over the arrays of max |a - b| / max |b|. */
function worst(a: Float32Array[], b: Float32Array[]): number {
  let gap = 0;
  for (let k = 0; k < b.length; k++) {
    const scale = b[k]!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    gap = Math.max(gap, b[k]!.reduce((m, v, i) => Math.max(m, Math.abs(v - a[k]![i]!)), 0) / scale);
  }
  return gap;
}
const gap = worst(wasm, grads());
const runtimeGap = worst(wasmRuntime, [...runtimeConv([1, 1]), ...runtimeConv([2, 2])]);
const batchNormGap = worst(wasmBatchNorm, batchNorm());
process.stdout.write(`${JSON.stringify({ ...started, simdThreads: kernels?.threads, gap, runtimeGap, batchNormGap, adam })}\n`);
