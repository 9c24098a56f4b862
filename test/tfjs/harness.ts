/** Runs one IR op through its tfjs kernel on logical (channels-first) arrays, in a chosen physical layout. */
import * as tf from "@tensorflow/tfjs";
import { expect } from "vitest";
import type { Attrs } from "../../src/ir/graph.js";
import type { ParamSpec } from "../../src/ir/op.js";
import { opTable, type OpName } from "../../src/ir/ops/index.js";
import { tensor as tensorType, type Shape } from "../../src/ir/types.js";
import { createForwardContext, type ForwardContext } from "../../src/runtime/kernels/context.js";
import { opKernels } from "../../src/runtime/kernels/index.js";
import { Act, channelsLast, identity, logical } from "../../src/runtime/kernels/layout.js";
import type { Tf } from "../../src/runtime/types.js";
import { nd, type Nd } from "./reference.js";

await tf.setBackend("cpu");
export const tfjs = tf as unknown as Tf;

export interface Inferred {
  outputs: Shape[];
  attrs: Attrs;
  params: ParamSpec[];
}

/** The op's shape rule with defaults filled in, as the graph builder runs it. */
export function infer(op: OpName, args: Record<string, unknown>, shapes: number[][]): Inferred {
  const def = opTable.get(op)!;
  const bound: Record<string, unknown> = {};
  for (const a of def.args) if (a.default !== undefined) bound[a.name] = a.default;
  Object.assign(bound, args);
  const types = shapes.map((s) => tensorType(s));
  const r = def.infer({ args: bound, inputs: types, describe: (i) => String(shapes[i]) });
  if ("error" in r) throw new Error(`${op}: ${r.error.message}`);
  const outputs = r.outputs.map((s) => tensorType(s));
  return { outputs: r.outputs, attrs: r.attrs, params: def.params?.({ attrs: r.attrs, inputs: types, outputs }) ?? [] };
}

/** Deterministic values in [lo, hi). */
export function random(shape: number[], seed: number, lo = -1, hi = 1): Nd {
  let s = (seed * 2654435761) >>> 0 || 1;
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = Math.fround(lo + ((hi - lo) * s) / 2 ** 32);
  }
  return nd(shape, data);
}

/** Random parameters for the op's ParamSpecs (variances kept positive), keyed by suffix. */
export function randomParams(specs: ParamSpec[], seed: number): Record<string, Nd> {
  const out: Record<string, Nd> = {};
  specs.forEach((p, i) => {
    const positive = p.name.endsWith("running_var");
    out[p.name] = p.init.kind === "computed" ? nd([...p.shape]) : random([...p.shape], seed + 17 * i, positive ? 0.5 : -1, positive ? 1.5 : 1);
  });
  return out;
}

export type LayoutChoice = "logical" | "channels_last" | "reversed";

function layoutFor(choice: LayoutChoice, rank: number): number[] {
  if (choice === "channels_last") return channelsLast(rank);
  if (choice === "reversed") return [0, ...identity(rank).slice(1).reverse()];
  return identity(rank);
}

export function toAct(x: Nd, choice: LayoutChoice): Act {
  const layout = layoutFor(choice, x.shape.length);
  return new Act(tf.transpose(tf.tensor(Float32Array.from(x.data), x.shape), layout) as never, layout);
}

export interface RunOptions {
  layout?: LayoutChoice;
  ctx?: ForwardContext;
  /** Parameter tensors to use instead of constants (variables, to test bn updates and freezing). */
  tensors?: Record<string, tf.Tensor>;
}

export function paramKey(suffix: string): string {
  return suffix === "" ? "value" : suffix;
}

/** Runs the kernel; returns its outputs as logical arrays. */
export function run(op: OpName, inputs: Nd[], attrs: Attrs, params: Record<string, Nd>, options: RunOptions = {}): Nd[] {
  const ctx = options.ctx ?? createForwardContext(tfjs);
  const w: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(params)) w[paramKey(k)] = options.tensors?.[k] ?? tf.tensor(Float32Array.from(v.data), v.shape);
  const acts = inputs.map((x) => toAct(x, options.layout ?? "logical"));
  const kernel = opKernels[op] as unknown as (c: ForwardContext, x: Act[], p: Record<string, tf.Tensor>, a: Attrs) => Act | Act[];
  const result = kernel(ctx, acts, w, attrs);
  const outs = Array.isArray(result) ? result : [result];
  return outs.map((a) => {
    const t = logical(tfjs, a);
    return nd(t.shape as number[], t.dataSync());
  });
}

/** max |a - b| / max(|b|, 1e-6): the tolerance of the cross-backend checks. */
export function relativeError(actual: Nd, expected: Nd): number {
  expect(actual.shape).toEqual(expected.shape);
  let err = 0;
  let scale = 1e-6;
  for (let i = 0; i < expected.data.length; i++) {
    err = Math.max(err, Math.abs(actual.data[i]! - expected.data[i]!));
    scale = Math.max(scale, Math.abs(expected.data[i]!));
  }
  return err / scale;
}

export function expectClose(actual: Nd, expected: Nd, tolerance = 1e-5): void {
  const e = relativeError(actual, expected);
  if (!(e <= tolerance)) throw new Error(`relative error ${e.toExponential(2)} > ${tolerance} (shape ${expected.shape.join("x")})`);
}

export { tf };
