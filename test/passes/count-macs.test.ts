import { describe, expect, it } from "vitest";
import { countMacs, nodeMacs } from "../../src/passes/count-macs.js";
import { graphWithInput, op } from "./build.js";

describe("countMacs", () => {
  it("counts only the nodes that feed an output, not a dead branch", () => {
    const { graph, x } = graphWithInput(["N", 3, 8, 8]);
    const shared = op(graph, "conv", { out: 4, k: 3, p: 1 }, [x], "shared");
    const live = op(graph, "conv", { out: 2, k: 1 }, [op(graph, "relu", {}, [shared], "act")], "live");
    const dead = op(graph, "conv", { out: 16, k: 3, p: 1 }, [shared], "dead");
    op(graph, "conv", { out: 8, k: 3, p: 1 }, [dead], "dead2");
    graph.outputs = [live];

    // shared: 8·8 positions × 4 out × 3·3·3; live: 8·8 × 2 × 4.
    const expected = 64 * 4 * 27 + 64 * 2 * 4;
    expect(countMacs(graph)).toBe(expected);
    const everything = graph.nodes.reduce((a, n) => a + nodeMacs(n), 0);
    expect(everything).toBe(expected + 64 * 16 * 36 + 64 * 8 * 144);
  });

  it("counts a node reached by several outputs once", () => {
    const { graph, x } = graphWithInput(["N", 4]);
    const a = op(graph, "linear", { out: 3 }, [x], "a");
    graph.outputs = [op(graph, "relu", {}, [a], "b"), a];
    expect(countMacs(graph)).toBe(12);
  });

  it("counts every node of a graph without outputs (its construction stopped at an error)", () => {
    const { graph, x } = graphWithInput(["N", 4]);
    op(graph, "linear", { out: 3 }, [x], "a");
    expect(countMacs(graph)).toBe(12);
  });
});
