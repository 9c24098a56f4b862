/**
 * What a forward pass needs besides inputs and parameters: the tfjs namespace, the mode, seeded
 * noise for dropout-like ops, and a place for batch-norm running statistics computed in training.
 */
import type { Tensor, Tf, Variable } from "../types.js";
import { accelerate } from "./cpu.js";
import type { Act } from "./layout.js";

/** A new value for a buffer (bn running statistics), applied by the caller after the step. */
export interface BufferUpdate {
  target: Variable;
  value: Tensor;
}

export interface ForwardContext {
  /** tfjs, with faster data-movement ops swapped in on the pure-JS cpu backend (see cpu.ts). */
  tf: Tf;
  training: boolean;
  /** Uniform noise in [0, 1) of `shape`; the n-th draw of a forward pass depends on (seed, step, n) only. */
  uniform(shape: number[]): Tensor;
  updates: BufferUpdate[];
}

export interface ForwardOptions {
  training?: boolean;
  seed?: number;
  /** The global training step, so noise differs per step yet replays identically on --resume. */
  step?: number;
}

export function createForwardContext(tf: Tf, options: ForwardOptions = {}): ForwardContext {
  const seed = options.seed ?? 0;
  const step = options.step ?? 0;
  let draw = 0;
  return {
    tf: accelerate(tf),
    training: options.training ?? false,
    updates: [],
    uniform(shape) {
      return tf.randomUniform(shape, 0, 1, "float32", noiseSeed(seed, step, draw++));
    },
  };
}

/** A 32-bit hash of the three counters (tfjs seeds its generator from a number's text). */
function noiseSeed(seed: number, step: number, draw: number): number {
  let h = 0x811c9dc5;
  for (const v of [seed, step, draw]) {
    h = Math.imul(h ^ (v >>> 0), 0x01000193);
    h = Math.imul(h ^ Math.floor(v / 2 ** 32), 0x01000193);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/** Parameters of one node, by their name under its scope (`weight`, `running_mean`, `value` for the scope itself). */
export type Params = Readonly<Record<string, Tensor>>;

/** One IR op: inputs and parameters in, output(s) out. */
export type Kernel<A = never> = (ctx: ForwardContext, inputs: readonly Act[], params: Params, attrs: A) => Act | Act[];
