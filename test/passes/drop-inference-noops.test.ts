import { describe, expect, it } from "vitest";
import { dropInferenceNoops } from "../../src/passes/drop-inference-noops.js";
import { compileText } from "../helpers/compile.js";
import { graphWithInput, op } from "./build.js";

describe("dropInferenceNoops", () => {
  it("removes dropout, stochastic_depth and identity, giving their uses their input", () => {
    const { graph, x } = graphWithInput(["N", 3, 8, 8]);
    const c = op(graph, "conv", { out: 4, k: 3 }, [x], "c");
    const d = op(graph, "dropout", { p: 0.2 }, [c], "d");
    const r = op(graph, "relu", {}, [d], "r");
    const s = op(graph, "stochastic_depth", { p: 0.1 }, [r], "s");
    const sum = op(graph, "add", {}, [s, c], "a");
    graph.outputs = [op(graph, "identity", {}, [sum], "i")];

    expect(dropInferenceNoops(graph, new Map())).toBe(3);
    expect(graph.nodes.map((n) => n.op)).toEqual(["conv", "relu", "add"]);
    const [conv, relu, add] = graph.nodes;
    expect(relu!.inputs).toEqual([conv!.outputs[0]]);
    expect(add!.inputs).toEqual([relu!.outputs[0], conv!.outputs[0]]);
    expect(conv!.outputs[0]!.uses).toEqual(new Set([relu, add]));
    // The identity was the graph's output: the output is now what it passed through.
    expect(graph.outputs).toEqual([add!.outputs[0]]);
    expect(dropInferenceNoops(graph, new Map())).toBe(0);
  });

  it("drops the no-ops a compiled head carries", () => {
    const r = compileText("model m {\n  input image(3, 8, 8)\n  backbone conv(4, 3) | relu | gap\n  head dropout(.3) | linear(2)\n}\n");
    const graph = r.models[0]!.graph;
    expect(dropInferenceNoops(graph, new Map())).toBe(1);
    const linear = graph.nodes.find((n) => n.op === "linear")!;
    expect(linear.inputs[0]!.producer!.op).toBe("gap");
  });

  it("keeps a no-op that alone separates a graph output from a graph input or another output", () => {
    const { graph, x } = graphWithInput(["N", 4]);
    graph.outputs = [op(graph, "identity", {}, [x], "i")];
    expect(dropInferenceNoops(graph, new Map())).toBe(0);

    const two = graphWithInput(["N", 4]);
    const y = op(two.graph, "relu", {}, [two.x], "r");
    two.graph.outputs = [y, op(two.graph, "dropout", {}, [y], "d")];
    expect(dropInferenceNoops(two.graph, new Map())).toBe(0);
    expect(two.graph.nodes.map((n) => n.op)).toEqual(["relu", "dropout"]);
  });
});
