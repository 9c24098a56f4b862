import { describe, expect, it } from "vitest";
import type { Graph, Param } from "../../src/ir/graph.js";
import type { InitRule } from "../../src/ir/init.js";
import { swinRelativePositionIndex } from "../../src/ir/ops/transformer.js";
import { fans, initialValue, initialValues } from "../../src/weights/init.js";
import { compileText } from "../helpers/compile.js";
import { graphWithInput, op } from "../passes/build.js";

function graphOf(source: string): Graph {
  const r = compileText(source);
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.models[0]!.graph;
}

/** A parameter with the given rule on a throwaway node, optionally beside other parameters. */
function param(name: string, shape: number[], init: InitRule, siblings: [string, number[]][] = []): Param {
  const { graph, x } = graphWithInput(["N", 1]);
  const node = graph.addNode("custom", { window: [3, 5] }, [x], [], "m", { file: "", start: { offset: 0, line: 1, col: 1 }, end: { offset: 0, line: 1, col: 1 } });
  for (const [n, s] of siblings) graph.addParam({ name: n, shape: s, init: { kind: "zeros" }, buffer: false, role: "m", node });
  const p: Param = { name, shape, init, buffer: false, role: "m", node };
  graph.addParam(p);
  return p;
}

function stats(v: Float32Array) {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of v) {
    sum += x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = sum / v.length;
  let sq = 0;
  for (const x of v) sq += (x - mean) ** 2;
  return { mean, std: Math.sqrt(sq / v.length), min, max };
}

/** Abramowitz & Stegun 7.1.26 (error < 1.5e-7), enough for expected moments. */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return Math.sign(x) * y;
}

/** Standard deviation of N(0, std²) truncated to [-b, b]. */
function truncatedStd(std: number, b: number): number {
  const c = b / std;
  const pdf = Math.exp((-c * c) / 2) / Math.sqrt(2 * Math.PI);
  return std * Math.sqrt(1 - (2 * c * pdf) / erf(c / Math.SQRT2));
}

const model = "model m {\n  input image(3, 16, 16)\n  backbone conv(8, 3) | bn | relu | gap | linear(10)\n}\n";

describe("initialValues", () => {
  it("gives every parameter and buffer a value of its size", () => {
    const g = graphOf(model);
    const values = initialValues(g, { seed: 1 });
    expect([...values.keys()]).toEqual([...g.params.keys()]);
    for (const p of g.params.values()) expect(values.get(p.name)!.length).toBe(p.shape.reduce((a, b) => a * b, 1));
    expect([...values.get("backbone.1.running_var")!]).toEqual(new Array(8).fill(1));
    expect([...values.get("backbone.1.running_mean")!]).toEqual(new Array(8).fill(0));
  });

  it("is deterministic in the seed and the parameter name, not the graph's order or content", () => {
    const a = initialValues(graphOf(model), { seed: 7 });
    const b = initialValues(graphOf(model), { seed: 7 });
    expect(a).toEqual(b);
    const c = initialValues(graphOf(model), { seed: 8 });
    expect(c.get("backbone.0.weight")).not.toEqual(a.get("backbone.0.weight"));
    // More layers in front of and around the same names leave their values unchanged.
    const bigger = initialValues(graphOf("model m {\n  input image(3, 16, 16)\n  backbone conv(8, 3) | bn | relu | gap | linear(10) | relu | linear(4)\n}\n"), { seed: 7 });
    expect(bigger.get("backbone.0.weight")).toEqual(a.get("backbone.0.weight"));
    expect(bigger.get("backbone.4.bias")).toEqual(a.get("backbone.4.bias"));
    // Same shape and rule, different names: different values.
    expect(initialValue(param("a.weight", [64, 64], { kind: "normal", std: 1 }), 3)).not.toEqual(
      initialValue(param("b.weight", [64, 64], { kind: "normal", std: 1 }), 3),
    );
  });

  it("tells large seeds apart", () => {
    const p = param("w", [256], { kind: "normal", std: 1 });
    expect(initialValue(p, 2 ** 32)).not.toEqual(initialValue(p, 0));
    expect(initialValue(p, 2 ** 40 + 1)).not.toEqual(initialValue(p, 1));
  });

  it("leaves out the names in skip", () => {
    const g = graphOf(model);
    const values = initialValues(g, { skip: new Set(["backbone.0.weight"]) });
    expect(values.has("backbone.0.weight")).toBe(false);
    expect(values.size).toBe(g.params.size - 1);
  });
});

describe("init rules", () => {
  it("zeros, ones and constant are exact", () => {
    expect([...initialValue(param("z", [3], { kind: "zeros" }))]).toEqual([0, 0, 0]);
    expect([...initialValue(param("o", [2], { kind: "ones" }))]).toEqual([1, 1]);
    expect([...initialValue(param("c", [2, 2], { kind: "constant", value: 1e-6 }))]).toEqual(new Array(4).fill(Math.fround(1e-6)));
  });

  it("uniform_fan_in draws U(±1/sqrt(fan_in)) with fan_in = shape[1] · prod(kernel)", () => {
    const v = initialValue(param("w", [256, 64, 3, 3], { kind: "uniform_fan_in" }));
    const bound = 1 / Math.sqrt(64 * 9);
    const s = stats(v);
    expect(s.min).toBeGreaterThanOrEqual(-bound);
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.max).toBeGreaterThan(0.999 * bound);
    expect(Math.abs(s.mean)).toBeLessThan(0.01 * bound);
    expect(s.std / (bound / Math.sqrt(3))).toBeCloseTo(1, 2);
  });

  it("a bias takes the fan_in of its layer's weight (PyTorch's rule)", () => {
    // linear(in=4, out=4000): bias bound 1/2, not 1/sqrt(4000) from its own shape.
    const g = graphOf("model m {\n  input image(4, 8, 8)\n  backbone gap | linear(4000)\n}\n");
    const bias = stats(initialValue(g.params.get("backbone.1.bias")!));
    expect(bias.max).toBeLessThanOrEqual(0.5);
    expect(bias.max).toBeGreaterThan(0.49);
    expect(bias.min).toBeGreaterThanOrEqual(-0.5);

    // conv(3 → 2000, k=3): fan_in 27.
    const conv = graphOf("model m {\n  input image(3, 8, 8)\n  backbone conv(2000, 3)\n}\n");
    const cb = stats(initialValue(conv.params.get("backbone.bias")!));
    expect(cb.max).toBeLessThanOrEqual(1 / Math.sqrt(27));
    expect(cb.max).toBeGreaterThan(0.98 / Math.sqrt(27));

    // MultiheadAttention-style names: in_proj_bias beside in_proj_weight.
    const p = param("x.in_proj_bias", [3000], { kind: "uniform_fan_in" }, [["x.in_proj_weight", [3000, 16]]]);
    const pb = stats(initialValue(p));
    expect(pb.max).toBeLessThanOrEqual(0.25);
    expect(pb.max).toBeGreaterThan(0.245);
  });

  it("conv_transpose weights [in, out / g, ...k] have fan_in = out / g · prod(k), and so does their bias", () => {
    const g = graphOf("model m {\n  input image(8, 4, 4)\n  backbone conv_transpose(2000, k=2, s=2)\n}\n");
    const w = g.params.get("backbone.weight")!;
    expect(w.shape).toEqual([8, 2000, 2, 2]);
    expect(fans(w.shape).fanIn).toBe(8000);
    const bound = 1 / Math.sqrt(8000);
    const ws = stats(initialValue(w));
    const bs = stats(initialValue(g.params.get("backbone.bias")!));
    expect(ws.max).toBeLessThanOrEqual(bound);
    expect(ws.max).toBeGreaterThan(0.999 * bound);
    expect(bs.max).toBeLessThanOrEqual(bound);
    expect(bs.max).toBeGreaterThan(0.98 * bound);
  });

  it("kaiming_normal: std = gain / sqrt(fan), relu gain by default", () => {
    const fanOut = stats(initialValue(param("w", [128, 64, 3, 3], { kind: "kaiming_normal", mode: "fan_out" })));
    expect(fanOut.std / (Math.SQRT2 / Math.sqrt(128 * 9))).toBeCloseTo(1, 2);
    expect(Math.abs(fanOut.mean)).toBeLessThan(0.01 * fanOut.std);
    const fanIn = stats(initialValue(param("w", [128, 64, 3, 3], { kind: "kaiming_normal", mode: "fan_in", gain: 1 })));
    expect(fanIn.std / (1 / Math.sqrt(64 * 9))).toBeCloseTo(1, 2);
  });

  it("kaiming_uniform: U(±gain · sqrt(3 / fan))", () => {
    const s = stats(initialValue(param("w", [128, 64, 3, 3], { kind: "kaiming_uniform", mode: "fan_in" })));
    const bound = Math.sqrt(6 / (64 * 9));
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.max).toBeGreaterThan(0.999 * bound);
    expect(s.min).toBeGreaterThanOrEqual(-bound);
    expect(s.std / (bound / Math.sqrt(3))).toBeCloseTo(1, 2);
  });

  it("normal(std) has the right moments and tails", () => {
    const v = initialValue(param("w", [400, 500], { kind: "normal", std: 0.5 }));
    const s = stats(v);
    expect(Math.abs(s.mean)).toBeLessThan(0.005);
    expect(s.std / 0.5).toBeCloseTo(1, 2);
    // P(|z| > 2) = 4.55 %.
    const tail = v.filter((x) => Math.abs(x) > 1).length / v.length;
    expect(tail).toBeCloseTo(0.0455, 2);
  });

  it("trunc_normal cuts at ±2 absolute, as timm's and torch's trunc_normal_(a=-2, b=2)", () => {
    // The usual std = 0.02: the cut is 100 std away, so this is N(0, 0.02²).
    const small = stats(initialValue(param("w", [400, 500], { kind: "trunc_normal", std: 0.02 })));
    expect(small.std / 0.02).toBeCloseTo(1, 2);
    expect(Math.abs(small.mean)).toBeLessThan(1e-4);
    // std = 1 and 1.5: the cut bites; the spread is the truncated normal's.
    for (const std of [1, 1.5]) {
      const s = stats(initialValue(param("w", [400, 500], { kind: "trunc_normal", std })));
      expect(s.min).toBeGreaterThanOrEqual(-2);
      expect(s.max).toBeLessThanOrEqual(2);
      expect(s.max).toBeGreaterThan(1.99);
      expect(Math.abs(s.mean)).toBeLessThan(0.01);
      expect(s.std / truncatedStd(std, 2)).toBeCloseTo(1, 2);
    }
  });

  it("xavier_uniform: U(±sqrt(6 / (fan_in + fan_out)))", () => {
    const s = stats(initialValue(param("in_proj_weight", [768 * 3, 768], { kind: "xavier_uniform" })));
    const bound = Math.sqrt(6 / (768 + 3 * 768));
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.max).toBeGreaterThan(0.999 * bound);
    expect(s.std / (bound / Math.sqrt(3))).toBeCloseTo(1, 2);
  });

  it("computed buffers equal the op's function of the node's attributes", () => {
    const p = param("m.relative_position_index", [15 * 15], { kind: "computed", rule: "swin_relative_position_index" });
    expect([...initialValue(p)]).toEqual(swinRelativePositionIndex([3, 5]));

    const { graph, x } = graphWithInput(["N", 14, 14, 32]);
    op(graph, "window_attention", { heads: 2, window: 7 }, [x], "attn");
    const index = graph.params.get("attn.relative_position_index")!;
    expect(index.buffer).toBe(true);
    expect([...initialValues(graph).get(index.name)!]).toEqual(swinRelativePositionIndex([7, 7]));
  });

  it("an unknown computed rule is reported with the parameter's name", () => {
    expect(() => initialValue(param("m.table", [4], { kind: "computed", rule: "nope" }))).toThrow(/nope.*m\.table/);
  });
});
