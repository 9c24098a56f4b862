/** Runs one operator's rules on hand-made inputs, as the graph builder would. */
import { expect } from "vitest";
import type { OpContext, OpDef, OpError, ParamSpec } from "../../src/ir/op.js";
import { ops as activation } from "../../src/ir/ops/activation.js";
import { ops as conv } from "../../src/ir/ops/conv.js";
import { ops as linear } from "../../src/ir/ops/linear.js";
import { ops as norm } from "../../src/ir/ops/norm.js";
import { ops as pool } from "../../src/ir/ops/pool.js";
import { ops as tensor } from "../../src/ir/ops/tensor.js";
import type { Attrs } from "../../src/ir/graph.js";
import { formatShape, tensor as tensorType, type Shape } from "../../src/ir/types.js";

const table = new Map([...conv, ...norm, ...activation, ...pool, ...linear, ...tensor].map((op) => [op.name, op]));

export function opDef(name: string): OpDef {
  const def = table.get(name);
  if (!def) throw new Error(`no op ${name}`);
  return def;
}

/** Binds `args` like the binder: named values over the spec's defaults. Input i is described as "from in<i>". */
export function context(def: OpDef, args: Record<string, unknown>, shapes: Shape[]): OpContext {
  const bound: Record<string, unknown> = {};
  for (const a of def.args) if (a.default !== undefined) bound[a.name] = a.default;
  for (const [k, v] of Object.entries(args)) {
    if (!def.args.some((a) => a.name === k)) throw new Error(`${def.name} has no argument ${k}`);
    bound[k] = v;
  }
  return {
    args: bound,
    inputs: shapes.map((s) => tensorType(s)),
    describe: (i) => `${formatShape(shapes[i]!)} from in${i}`,
  };
}

export interface Applied {
  outputs: Shape[];
  attrs: Attrs;
  params: ParamSpec[];
  macs: number;
}

/** Infers, then computes params and MACs from the node view only, as passes do. */
export function apply(name: string, args: Record<string, unknown>, ...shapes: Shape[]): Applied {
  const def = opDef(name);
  const r = def.infer(context(def, args, shapes));
  if ("error" in r) throw new Error(`${name} failed: ${r.error.code} ${r.error.message}`);
  const view = { attrs: r.attrs, inputs: shapes.map((s) => tensorType(s)), outputs: r.outputs.map((s) => tensorType(s)) };
  return { outputs: r.outputs, attrs: r.attrs, params: def.params?.(view) ?? [], macs: def.macs?.(view) ?? 0 };
}

export function out(name: string, args: Record<string, unknown>, ...shapes: Shape[]): Shape {
  const r = apply(name, args, ...shapes);
  expect(r.outputs).toHaveLength(1);
  return r.outputs[0]!;
}

export function failure(name: string, args: Record<string, unknown>, ...shapes: Shape[]): OpError {
  const def = opDef(name);
  const r = def.infer(context(def, args, shapes));
  if (!("error" in r)) throw new Error(`${name} unexpectedly inferred ${r.outputs.map((s) => formatShape(s)).join(", ")}`);
  return r.error;
}

export function paramTable(params: ParamSpec[]): [string, readonly number[], boolean][] {
  return params.map((p) => [p.name, p.shape, p.buffer ?? false]);
}
