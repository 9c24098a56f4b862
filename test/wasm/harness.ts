/**
 * The wasm backend next to the pure-JS one in one process: the same computation runs on each (the
 * engine switches backends; tensors are made afresh from plain arrays on each side) and the
 * results are compared as arrays.
 */
import * as tf from "@tensorflow/tfjs";
import { createRequire } from "node:module";
import { expect } from "vitest";
import type { Tf } from "../../src/runtime/types.js";
import { startWasm } from "../../src/runtime/wasm/backend.js";

export const tfjs = tf as unknown as Tf;
export { tf };

export const wasmMain = createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm");
await startWasm(tfjs, wasmMain, 1);

export type Backend = "cpu" | "wasm";

/** Runs `f` with `backend` active; every tensor it returns comes back as an array. */
export async function on<T extends tf.Tensor | tf.Tensor[]>(backend: Backend, f: () => T): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const arrays = list.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(list);
  return arrays;
}

/** A seeded generator: uniform floats and integers. */
export function rng(seed: number) {
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!,
    values: (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * next()),
  };
}

/** max |a - b| / max |b|. */
export function relative(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  let scale = 1e-12;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}

/**
 * f's value and the gradients of ⟨f(xs), g⟩ (g fixed and random) for every input, on wasm and on
 * pure JS; returns the largest relative difference among them.
 */
export async function gradientGap(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: { shape: number[]; values: Float32Array }[], seed = 99): Promise<number> {
  const run = (backend: Backend) =>
    on(backend, () => {
      const xs = inputs.map((x) => tf.tensor(x.values, x.shape));
      const y = f(...xs);
      const g = tf.tensor(rng(seed).values(y.size), y.shape);
      const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(...args), g)))(xs);
      return [y, ...grads];
    });
  const expected = await run("cpu");
  const actual = await run("wasm");
  return Math.max(...actual.map((a, i) => relative(a, expected[i]!)));
}
