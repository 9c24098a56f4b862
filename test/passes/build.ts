/** Hand-built graphs for pass tests: each op inferred and given parameters as the graph builder does. */
import { Graph, type Value } from "../../src/ir/graph.js";
import { opTable } from "../../src/ir/ops/index.js";
import { formatShape, tensor, type Shape } from "../../src/ir/types.js";
import type { Span } from "../../src/syntax/span.js";

export const span: Span = { file: "test.medg", start: { offset: 0, line: 1, col: 1 }, end: { offset: 0, line: 1, col: 1 } };

export function graphWithInput(shape: Shape): { graph: Graph; x: Value } {
  const graph = new Graph();
  return { graph, x: graph.addInput(tensor(shape), "input") };
}

/** Adds `op(args)` on `inputs` under `scope`; parameters are named `scope.suffix`. Returns its only output. */
export function op(graph: Graph, name: string, args: Record<string, unknown>, inputs: Value[], scope: string, role = "backbone"): Value {
  const def = opTable.get(name);
  if (!def) throw new Error(`no op ${name}`);
  const bound: Record<string, unknown> = {};
  for (const a of def.args) if (a.default !== undefined) bound[a.name] = a.default;
  Object.assign(bound, args);
  const types = inputs.map((v) => v.type);
  const r = def.infer({ args: bound, inputs: types, describe: (i) => formatShape(types[i]!.shape) });
  if ("error" in r) throw new Error(`${name}: ${r.error.message}`);
  const outputs = r.outputs.map((s) => tensor(s));
  const node = graph.addNode(name, r.attrs, inputs, outputs, scope, span);
  for (const p of def.params?.({ attrs: r.attrs, inputs: types, outputs }) ?? [])
    graph.addParam({ name: p.name ? `${scope}.${p.name}` : scope, shape: p.shape, init: p.init, buffer: p.buffer ?? false, role, node });
  return node.outputs[0]!;
}

/** Deterministic values in [-1, 1) (a linear congruential generator, enough for test data). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 2 ** 32;
  }
  return out;
}
