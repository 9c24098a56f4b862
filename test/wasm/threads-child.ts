/**
 * Run by threads.test.ts in a process of its own (one WebAssembly instance per process): starts the
 * wasm backend on the threads given, trains a convolution's gradient on it, compares with pure JS,
 * prints one JSON line and then simply returns (the process must end by itself).
 */
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import type { Tf } from "../../src/runtime/types.js";
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
await tf.setBackend("cpu");
const cpu = grads();
let gap = 0;
for (let k = 0; k < cpu.length; k++) {
  const scale = cpu[k]!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  gap = Math.max(gap, cpu[k]!.reduce((m, v, i) => Math.max(m, Math.abs(v - wasm[k]![i]!)), 0) / scale);
}
process.stdout.write(`${JSON.stringify({ ...started, gap })}\n`);
