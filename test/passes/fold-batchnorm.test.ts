import { describe, expect, it } from "vitest";
import type { Graph, Node } from "../../src/ir/graph.js";
import { foldBatchNorm } from "../../src/passes/fold-batchnorm.js";
import { initialValues } from "../../src/weights/init.js";
import { compileText } from "../helpers/compile.js";
import { graphWithInput, op, randomArray } from "./build.js";

type Values = Map<string, Float32Array>;
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Row-major multi-index of flat index i in dims. */
function unravel(i: number, dims: readonly number[]): number[] {
  const out = new Array<number>(dims.length);
  for (let d = dims.length - 1; d >= 0; d--) {
    out[d] = i % dims[d]!;
    i = Math.floor(i / dims[d]!);
  }
  return out;
}

function ravel(idx: readonly number[], dims: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < dims.length; d++) i = i * dims[d]! + idx[d]!;
  return i;
}

interface ConvAttrs {
  in: number;
  out: number;
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
  group: number;
}

/** Direct convolution of one sample [C, ...S] by weight [O, C / g, ...k], PyTorch's semantics. */
function convRef(x: Float32Array, inS: number[], w: Float32Array, b: Float32Array | undefined, a: ConvAttrs, outS: number[]): Float64Array {
  const [cinG, coutG, kn] = [a.in / a.group, a.out / a.group, numel(a.kernel)];
  const y = new Float64Array(a.out * numel(outS));
  for (let o = 0; o < a.out; o++) {
    const g = Math.floor(o / coutG);
    for (let p = 0; p < numel(outS); p++) {
      const pos = unravel(p, outS);
      let s = b ? b[o]! : 0;
      for (let c = 0; c < cinG; c++) {
        for (let k = 0; k < kn; k++) {
          const kk = unravel(k, a.kernel);
          const at = pos.map((q, d) => q * a.strides[d]! - a.pads[d]! + kk[d]! * a.dilations[d]!);
          if (at.some((q, d) => q < 0 || q >= inS[d]!)) continue;
          s += x[(g * cinG + c) * numel(inS) + ravel(at, inS)]! * w[(o * cinG + c) * kn + k]!;
        }
      }
      y[o * numel(outS) + p] = s;
    }
  }
  return y;
}

/** Direct transposed convolution: weight [C, O / g, ...k], each input element scattered. */
function convTransposeRef(x: Float32Array, inS: number[], w: Float32Array, b: Float32Array | undefined, a: ConvAttrs, outS: number[]): Float64Array {
  const [cinG, coutG, kn] = [a.in / a.group, a.out / a.group, numel(a.kernel)];
  const y = new Float64Array(a.out * numel(outS));
  if (b) for (let o = 0; o < a.out; o++) y.fill(b[o]!, o * numel(outS), (o + 1) * numel(outS));
  for (let ci = 0; ci < a.in; ci++) {
    const g = Math.floor(ci / cinG);
    for (let p = 0; p < numel(inS); p++) {
      const pos = unravel(p, inS);
      const xv = x[ci * numel(inS) + p]!;
      for (let j = 0; j < coutG; j++) {
        for (let k = 0; k < kn; k++) {
          const kk = unravel(k, a.kernel);
          const at = pos.map((q, d) => q * a.strides[d]! - a.pads[d]! + kk[d]! * a.dilations[d]!);
          if (at.some((q, d) => q < 0 || q >= outS[d]!)) continue;
          y[(g * coutG + j) * numel(outS) + ravel(at, outS)]! += xv * w[(ci * coutG + j) * kn + k]!;
        }
      }
    }
  }
  return y;
}

/** One sample through a conv, dwconv, conv_transpose or linear node, with the given values. */
function run(node: Node, values: Values, x: Float32Array): Float64Array {
  const w = values.get(node.params.find((p) => p.name.endsWith("weight"))!.name)!;
  const biasParam = node.params.find((p) => p.name.endsWith("bias"));
  const b = biasParam ? values.get(biasParam.name) : undefined;
  const inS = node.inputs[0]!.type.shape.slice(2) as number[];
  const outS = node.outputs[0]!.type.shape.slice(2) as number[];
  const a = node.attrs as unknown as ConvAttrs;
  if (node.op === "conv_transpose") return convTransposeRef(x, inS, w, b, a, outS);
  if (node.op === "linear") return convRef(x, [], w, b, { ...a, kernel: [], strides: [], pads: [], dilations: [], group: 1 }, []);
  return convRef(x, inS, w, b, a, outS);
}

function bnRef(y: Float64Array, bn: Node, values: Values): Float64Array {
  const get = (s: string) => values.get(`${bn.scope}.${s}`)!;
  const [g, b, m, v] = [get("weight"), get("bias"), get("running_mean"), get("running_var")];
  const c = bn.attrs["channels"] as number;
  const eps = bn.attrs["eps"] as number;
  const per = y.length / c;
  return y.map((t, i) => {
    const ch = Math.floor(i / per);
    return ((t - m[ch]!) / Math.sqrt(v[ch]! + eps)) * g[ch]! + b[ch]!;
  });
}

/** Initial values with non-trivial bn statistics (fresh ones would fold to the identity). */
function valuesFor(graph: Graph, seed = 1): Values {
  const values = initialValues(graph, { seed });
  let s = seed * 100;
  for (const node of graph.nodes) {
    if (node.op !== "bn") continue;
    const c = node.attrs["channels"] as number;
    values.set(`${node.scope}.weight`, randomArray(c, ++s, 0.5, 1.5));
    values.set(`${node.scope}.bias`, randomArray(c, ++s));
    values.set(`${node.scope}.running_mean`, randomArray(c, ++s));
    values.set(`${node.scope}.running_var`, randomArray(c, ++s, 0.1, 2));
  }
  return values;
}

/** Folds the graph's only bn and checks layer → bn before equals the folded layer after, to 1e-5 of the output's scale. */
function checkFold(graph: Graph, values: Values = valuesFor(graph)) {
  const bn = graph.nodes.find((n) => n.op === "bn")!;
  const layer = bn.inputs[0]!.producer!;
  const input = layer.inputs[0]!;
  const x = randomArray(numel(input.type.shape.slice(1) as number[]), 42);
  const expected = bnRef(run(layer, values, x), bn, values);
  const bnParams = bn.params.map((p) => p.name);
  const bnOutputUses = [...bn.outputs[0]!.uses];
  const wasOutput = graph.outputs.includes(bn.outputs[0]!);

  expect(foldBatchNorm(graph, values)).toBe(1);

  expect(graph.nodes.includes(bn)).toBe(false);
  for (const name of bnParams) {
    expect(graph.params.has(name)).toBe(false);
    expect(values.has(name)).toBe(false);
  }
  const out = layer.outputs[0]!;
  for (const use of bnOutputUses) expect(use.inputs).toContain(out);
  if (wasOutput) expect(graph.outputs).toContain(out);
  expect(layer.attrs["bias"]).toBe(true);
  const bias = layer.params.find((p) => p.name.endsWith("bias"))!;
  expect(graph.params.get(bias.name)).toBe(bias);
  expect(values.get(bias.name)).toHaveLength(layer.attrs["out"] as number);

  const actual = run(layer, values, x);
  const scale = Math.max(...expected.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst / scale).toBeLessThan(1e-5);
  return { layer, bias, out };
}

function compiled(source: string): Graph {
  const r = compileText(source);
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.models[0]!.graph;
}

describe("foldBatchNorm", () => {
  it("folds conv2d without bias | bn, adding the conv's bias param", () => {
    const graph = compiled("model m {\n  input image(3, 9, 9)\n  backbone conv(8, 3, s=2, bias=false) | bn(eps=1e-3) | relu\n}\n");
    expect(graph.params.has("backbone.0.bias")).toBe(false);
    const { layer, bias } = checkFold(graph);
    expect(bias.name).toBe("backbone.0.bias");
    expect(bias.node).toBe(layer);
    expect(bias.role).toBe("backbone");
    expect(bias.buffer).toBe(false);
    expect(layer.params.map((p) => p.name)).toEqual(["backbone.0.weight", "backbone.0.bias"]);
    expect(graph.nodes.map((n) => n.op)).toEqual(["conv", "relu"]);
    expect([...graph.params.keys()]).toEqual(["backbone.0.weight", "backbone.0.bias"]);
  });

  it("folds into a conv that has a bias, keeping its param", () => {
    const graph = compiled("model m {\n  input image(4, 7, 7)\n  backbone conv(6, 3, d=2, p=1) | bn\n}\n");
    const bias = graph.params.get("backbone.0.bias")!;
    const { out } = checkFold(graph);
    expect(graph.params.get("backbone.0.bias")).toBe(bias);
    expect(graph.outputs).toEqual([out]);
  });

  it("folds depthwise (dwconv with a multiplier) and grouped convs", () => {
    checkFold(compiled("model m {\n  input image(4, 8, 8)\n  backbone dwconv(3, s=2, mult=2) | bn | relu\n}\n"));
    checkFold(compiled("model m {\n  input image(4, 8, 8)\n  backbone conv(6, 3, g=2, bias=false) | bn | relu\n}\n"));
    checkFold(compiled("model m {\n  input image(4, 8, 8)\n  backbone conv(4, 5, g=4, bias=false) | bn | relu\n}\n"));
  });

  it("folds rank 1 and rank 3 convs", () => {
    const one = graphWithInput(["N", 3, 11]);
    op(one.graph, "bn", {}, [op(one.graph, "conv", { out: 5, k: 3, bias: false }, [one.x], "c")], "n");
    one.graph.outputs = [one.graph.nodes.at(-1)!.outputs[0]!];
    checkFold(one.graph);

    const three = compiled("model m {\n  input volume(2, 5, 6, 7)\n  backbone conv(4, 3, s=[1, 2, 2], g=2) | bn | relu\n}\n");
    checkFold(three);
  });

  it("folds conv_transpose, whose weight is [in, out / g, ...k]", () => {
    checkFold(compiled("model m {\n  input image(4, 5, 5)\n  backbone conv_transpose(6, k=3, s=2, p=1, g=2, bias=false) | bn | relu\n}\n"));
  });

  it("folds linear | bn on features [N, C]", () => {
    const graph = compiled("model m {\n  input image(4, 3, 3)\n  backbone gap | linear(6) | bn\n}\n");
    checkFold(graph);
    expect(graph.nodes.map((n) => n.op)).toEqual(["gap", "linear"]);
  });

  it("leaves a bn whose input is used elsewhere or is a graph output", () => {
    const { graph, x } = graphWithInput(["N", 3, 8, 8]);
    const c = op(graph, "conv", { out: 4, k: 3 }, [x], "c");
    const n = op(graph, "bn", {}, [c], "n");
    const r = op(graph, "relu", {}, [c], "r");
    graph.outputs = [op(graph, "add", {}, [n, r], "a")];
    const values = valuesFor(graph);
    expect(foldBatchNorm(graph, values)).toBe(0);

    const tap = graphWithInput(["N", 3, 8, 8]);
    const c2 = op(tap.graph, "conv", { out: 4, k: 3 }, [tap.x], "c");
    tap.graph.outputs = [c2, op(tap.graph, "bn", {}, [c2], "n")];
    expect(foldBatchNorm(tap.graph, valuesFor(tap.graph))).toBe(0);
    expect(tap.graph.nodes.map((node) => node.op)).toEqual(["conv", "bn"]);
  });

  it("leaves a bn after a linear on tokens, where it normalises the token dim", () => {
    const { graph, x } = graphWithInput(["N", 8, 8]);
    graph.outputs = [op(graph, "bn", {}, [op(graph, "linear", { out: 8 }, [x], "l")], "n")];
    expect(foldBatchNorm(graph, valuesFor(graph))).toBe(0);
  });

  it("leaves a bn whose statistics or layer weights have no values", () => {
    const graph = compiled("model m {\n  input image(3, 8, 8)\n  backbone conv(4, 3) | bn\n}\n");
    const values = valuesFor(graph);
    values.delete("backbone.1.running_var");
    expect(foldBatchNorm(graph, values)).toBe(0);
    const again = valuesFor(graph);
    again.delete("backbone.0.weight");
    expect(foldBatchNorm(graph, again)).toBe(0);
    expect(graph.nodes.map((n) => n.op)).toEqual(["conv", "bn"]);
  });

  it("scales the layer's weight array in place, and leaves the other arrays it was given as they were", () => {
    const graph = compiled("model m {\n  input image(3, 8, 8)\n  backbone conv(4, 3) | bn\n}\n");
    const values = valuesFor(graph);
    const weight = values.get("backbone.0.weight")!;
    const copy = Float32Array.from(weight);
    const bias = values.get("backbone.0.bias")!;
    const biasCopy = Float32Array.from(bias);
    const scale = values.get("backbone.1.weight")![0]! / Math.sqrt(values.get("backbone.1.running_var")![0]! + 1e-5);
    foldBatchNorm(graph, values);
    expect(values.get("backbone.0.weight")).toBe(weight);
    expect(weight[0]).toBeCloseTo(copy[0]! * scale, 6);
    expect(bias).toEqual(biasCopy);
    expect(values.get("backbone.0.bias")).not.toBe(bias);
  });

  it("copies a weight array that another parameter's value shares before scaling it", () => {
    const graph = compiled("model m {\n  input image(3, 8, 8)\n  backbone a: conv(3, 3) | bn | b: conv(3, 3)\n}\n");
    const values = valuesFor(graph);
    const shared = values.get("backbone.a.weight")!;
    values.set("backbone.b.weight", shared);
    const copy = Float32Array.from(shared);
    expect(foldBatchNorm(graph, values)).toBe(1);
    expect(values.get("backbone.b.weight")).toEqual(copy);
    expect(values.get("backbone.a.weight")).not.toBe(shared);
  });

  it("folds a chain of conv | bn pairs in one call", () => {
    const graph = compiled("model m {\n  input image(3, 8, 8)\n  backbone conv(4, 3, bias=false) | bn | relu | conv(4, 1, bias=false) | bn\n}\n");
    const values = valuesFor(graph);
    expect(foldBatchNorm(graph, values)).toBe(2);
    expect(graph.nodes.map((n) => n.op)).toEqual(["conv", "relu", "conv"]);
    expect(foldBatchNorm(graph, values)).toBe(0);
    expect([...values.keys()].sort()).toEqual([...graph.params.keys()].sort());
  });
});
