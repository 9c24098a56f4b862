import { describe, expect, it } from "vitest";
import { removeDeadNodes } from "../../src/passes/dead-nodes.js";
import { initialValues } from "../../src/weights/init.js";
import { graphWithInput, op } from "./build.js";

describe("removeDeadNodes", () => {
  it("removes nodes that no graph output depends on, with their params and values", () => {
    const { graph, x } = graphWithInput(["N", 3, 8, 8]);
    const shared = op(graph, "conv", { out: 4, k: 3 }, [x], "shared");
    const live = op(graph, "relu", {}, [shared], "live");
    const dead = op(graph, "conv", { out: 2, k: 1 }, [shared], "dead");
    op(graph, "sigmoid", {}, [dead], "dead2");
    graph.outputs = [live];
    const values = initialValues(graph);

    expect(removeDeadNodes(graph, values)).toBe(2);
    expect(graph.nodes.map((n) => n.scope)).toEqual(["shared", "live"]);
    expect([...graph.params.keys()]).toEqual(["shared.weight", "shared.bias"]);
    expect([...values.keys()]).toEqual(["shared.weight", "shared.bias"]);
    expect([...shared.uses].map((n) => n.scope)).toEqual(["live"]);
    expect(removeDeadNodes(graph, values)).toBe(0);
  });

  it("keeps everything a graph output reaches through several paths", () => {
    const { graph, x } = graphWithInput(["N", 4]);
    const a = op(graph, "relu", {}, [x], "a");
    const b = op(graph, "sigmoid", {}, [a], "b");
    graph.outputs = [op(graph, "add", {}, [a, b], "c"), b];
    expect(removeDeadNodes(graph, new Map())).toBe(0);
    expect(graph.nodes).toHaveLength(3);
  });

  it("leaves a graph without outputs alone", () => {
    const { graph, x } = graphWithInput(["N", 4]);
    op(graph, "relu", {}, [x], "a");
    expect(removeDeadNodes(graph, new Map())).toBe(0);
    expect(graph.nodes).toHaveLength(1);
  });
});
