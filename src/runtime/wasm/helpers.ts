/**
 * The SIMD matrix product (simd-gemm.ts) on several threads. On the multi-threaded backend the
 * memory is shared, so helper threads (Node worker_threads) instantiate the same module on it and
 * each computes a band of C's rows while the calling thread computes the first. XNNPACK's own
 * pool sleeps meanwhile: the backend runs one kernel at a time.
 *
 * A job is the product's arguments written into a shared control block, a sequence number bumped
 * and notified; each helper writes its arguments' rows, counts itself done and notifies. Helpers
 * are unreferenced (a finished program exits) and block in Atomics.wait between jobs.
 */
import { Worker } from "node:worker_threads";
import type { GemmSimd } from "./simd.js";

const ARGS = 10;
/** [sequence, done, then ARGS per helper]. */
const HEADER = 2;

const helperScript = `
const { workerData } = require("node:worker_threads");
const { memory, module, control, slot } = workerData;
const gemm = new WebAssembly.Instance(module, { e: { m: memory } }).exports.gemm;
const c = new Int32Array(control);
let seen = 0;
for (;;) {
  Atomics.wait(c, 0, seen);
  seen = Atomics.load(c, 0);
  const at = ${HEADER} + slot * ${ARGS};
  gemm(c[at], c[at + 1], c[at + 2], c[at + 3], c[at + 4], c[at + 5], c[at + 6], c[at + 7], c[at + 8], c[at + 9]);
  Atomics.add(c, 1, 1);
  Atomics.notify(c, 1);
}
`;

/** Rows of a tile (simd-gemm.ts): bands start on a multiple of it. */
const MR = 6;

/**
 * gemm spread over `helpers` more threads, each with an instance of `module` on `memory` (shared).
 * Products of fewer than `least` rows per thread stay on the calling thread.
 */
export function threadedGemm(gemm: GemmSimd, module: object, memory: object, helpers: number, least = 2 * MR): GemmSimd {
  const control = new SharedArrayBuffer((HEADER + helpers * ARGS) * 4);
  const c = new Int32Array(control);
  for (let slot = 0; slot < helpers; slot++) new Worker(helperScript, { eval: true, workerData: { memory, module, control, slot } }).unref();
  return (aTab, sAk, t, kt, bTab, out, ldc, m0, m1, n) => {
    const threads = Math.min(helpers + 1, Math.floor((m1 - m0) / least));
    if (threads < 2) return gemm(aTab, sAk, t, kt, bTab, out, ldc, m0, m1, n);
    const band = Math.ceil((m1 - m0) / threads / MR) * MR;
    Atomics.store(c, 1, 0);
    for (let h = 1; h < threads; h++) c.set([aTab, sAk, t, kt, bTab, out, ldc, m0 + h * band, Math.min(m1, m0 + (h + 1) * band), n], HEADER + (h - 1) * ARGS);
    // Helpers past `threads` get an empty band.
    for (let h = threads; h <= helpers; h++) c.set([aTab, sAk, t, kt, bTab, out, ldc, m1, m1, n], HEADER + (h - 1) * ARGS);
    Atomics.add(c, 0, 1);
    Atomics.notify(c, 0);
    gemm(aTab, sAk, t, kt, bTab, out, ldc, m0, Math.min(m1, m0 + band), n);
    for (let done = Atomics.load(c, 1); done < helpers; done = Atomics.load(c, 1)) Atomics.wait(c, 1, done);
  };
}
