/**
 * The SIMD module's loops (simd.ts) on several threads. On the multi-threaded backend the memory is
 * shared, so helper threads (Node worker_threads) instantiate the same module on it, and a loop
 * split into parts runs its first part on the calling thread and the others on the helpers: the
 * matrix product by bands of C's rows, Adam by ranges of a parameter's elements, batch norm's
 * passes by bands of rows.
 *
 * A job is each helper's function and arguments written into a shared control block, a sequence
 * number bumped and notified; each helper runs its part, counts itself done and notifies. Helpers
 * are unreferenced (a finished program exits) and block in Atomics.wait between jobs.
 */
import { Worker } from "node:worker_threads";

/** The exported functions helpers can run, by index. */
export const HELPED = ["gemm", "adam", "moments", "rowAffine"] as const;
export type Helped = (typeof HELPED)[number];

/** Arguments per part: the function's index, then up to 17 numbers (Adam's). */
const SLOT = 18;

const helperScript = `
const { workerData } = require("node:worker_threads");
const { memory, module, control, args, slot, names } = workerData;
const exports = new WebAssembly.Instance(module, { e: { m: memory } }).exports;
const fns = names.map((n) => exports[n]);
const c = new Int32Array(control);
const a = new Float64Array(args);
let seen = 0;
for (;;) {
  Atomics.wait(c, 0, seen);
  seen = Atomics.load(c, 0);
  const at = slot * ${SLOT};
  const fn = fns[a[at]];
  if (fn) fn(...a.subarray(at + 1, at + ${SLOT}));
  Atomics.add(c, 1, 1);
  Atomics.notify(c, 1);
}
`;

export interface Helpers {
  /** Threads a loop can be split over, the calling thread included. */
  threads: number;
  /** Runs parts[0] here and parts[i] on helper i (an empty list of arguments: nothing), and returns when all are done. */
  run(name: Helped, local: (...args: number[]) => void, parts: readonly (readonly number[])[]): void;
}

/** `count` helper threads, each with an instance of `module` (compiled for `memory`, shared). */
export function startHelpers(module: object, memory: object, count: number): Helpers {
  const control = new SharedArrayBuffer(8);
  const args = new SharedArrayBuffer(count * SLOT * 8);
  const c = new Int32Array(control);
  const a = new Float64Array(args);
  for (let slot = 0; slot < count; slot++) new Worker(helperScript, { eval: true, workerData: { memory, module, control, args, slot, names: HELPED } }).unref();
  return {
    threads: count + 1,
    run(name, local, parts) {
      if (parts.length < 2) {
        if (parts[0]) local(...parts[0]);
        return;
      }
      Atomics.store(c, 1, 0);
      for (let h = 0; h < count; h++) {
        const part = parts[h + 1];
        a[h * SLOT] = part && part.length ? HELPED.indexOf(name) : -1;
        if (part) a.set(part, h * SLOT + 1);
      }
      Atomics.add(c, 0, 1);
      Atomics.notify(c, 0);
      if (parts[0]!.length) local(...parts[0]!);
      for (let done = Atomics.load(c, 1); done < count; done = Atomics.load(c, 1)) Atomics.wait(c, 1, done);
    },
  };
}

/**
 * [from, to) split into at most `threads` parts, each a multiple of `step` long (the last takes the
 * rest), none shorter than `least`.
 */
export function split(from: number, to: number, threads: number, step: number, least: number): [number, number][] {
  const parts = Math.max(1, Math.min(threads, Math.floor((to - from) / least)));
  const size = Math.ceil((to - from) / parts / step) * step;
  const out: [number, number][] = [];
  for (let start = from; start < to; start += size) out.push([start, Math.min(to, start + size)]);
  return out;
}
