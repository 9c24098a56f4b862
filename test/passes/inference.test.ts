import { describe, expect, it } from "vitest";
import type { Graph } from "../../src/ir/graph.js";
import { prepareForInference } from "../../src/passes/inference.js";
import { initialValues } from "../../src/weights/init.js";
import { compileText } from "../helpers/compile.js";

function compiled(source: string): Graph {
  const r = compileText(source);
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.models[0]!.graph;
}

const source =
  "model m {\n  input image(3, 16, 16)\n" +
  "  backbone conv(8, 3, bias=false) | dropout(.1) | bn | relu | conv(8, 1, bias=false) | identity | bn | relu | gap\n" +
  "  head dropout(.3) | linear(2)\n}\n";

describe("prepareForInference", () => {
  it("drops no-ops first so the bns behind them fold, then reaches a fixed point", () => {
    const graph = compiled(source);
    const values = initialValues(graph, { seed: 3 });
    expect(prepareForInference(graph, values)).toEqual({ removed: 3, folded: 2 });
    expect(graph.nodes.map((n) => n.op)).toEqual(["conv", "relu", "conv", "relu", "gap", "linear"]);
    expect([...values.keys()].sort()).toEqual([...graph.params.keys()].sort());
    expect(graph.params.has("backbone.0.bias")).toBe(true);

    const before = graph.nodes.slice();
    const snapshot = new Map([...values].map(([k, v]) => [k, Float32Array.from(v)]));
    expect(prepareForInference(graph, values)).toEqual({ removed: 0, folded: 0 });
    expect(graph.nodes).toEqual(before);
    expect(values).toEqual(snapshot);
  });

  it("keeps bns when asked", () => {
    const graph = compiled(source);
    const values = initialValues(graph);
    expect(prepareForInference(graph, values, { keepBn: true })).toEqual({ removed: 3, folded: 0 });
    expect(graph.nodes.filter((n) => n.op === "bn")).toHaveLength(2);
  });

  it("folds every bn of resnet18 into its conv", () => {
    const graph = compiled("model m {\n  input image(3, 64, 64)\n  backbone resnet18(classes=10)\n}\n");
    const values = initialValues(graph, { seed: 0 });
    const convs = graph.nodes.filter((n) => n.op === "conv").length;
    expect(prepareForInference(graph, values)).toEqual({ removed: 0, folded: 20 });
    expect(graph.nodes.some((n) => n.op === "bn")).toBe(false);
    const biases = graph.nodes.filter((n) => n.op === "conv" && n.attrs["bias"] === true && n.params.length === 2);
    expect(biases).toHaveLength(convs);
    expect(graph.params.has("backbone.layer1.0.conv1.bias")).toBe(true);
    expect(graph.params.has("backbone.layer2.0.downsample.0.bias")).toBe(true);
    expect([...values.keys()].sort()).toEqual([...graph.params.keys()].sort());
  });
});
