/**
 * Run by threads.test.ts in a process of its own (one WebAssembly instance per process): starts the
 * wasm backend on the threads given, trains a convolution's gradient on it, compares with pure JS,
 * and one AdamW update (on the shared memory, in SIMD) with the float64 rule, prints one JSON line and
 * then simply returns (the process must end by itself).
 */
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import type { Tf } from "../../src/runtime/types.js";
import { simdKernels } from "../../src/runtime/wasm/simd.js";
import { runAdamStep } from "../../src/runtime/wasm/adam.js";
import { startWasm } from "../../src/runtime/wasm/backend.js";

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
const wasm = grads();

/** One AdamW update of 1027 elements (four lanes at a time and three after) against a float64 loop. */
function adamGap(): number {
  const n = 1027;
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
const adam = { simd: simdKernels(tf.backend()) !== null, gap: adamGap() };
await tf.setBackend("cpu");
const cpu = grads();
let gap = 0;
for (let k = 0; k < cpu.length; k++) {
  const scale = cpu[k]!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  gap = Math.max(gap, cpu[k]!.reduce((m, v, i) => Math.max(m, Math.abs(v - wasm[k]![i]!)), 0) / scale);
}
process.stdout.write(`${JSON.stringify({ ...started, gap, adam })}\n`);
