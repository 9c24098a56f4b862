import { describe, expect, it } from "vitest";
import { compileText, describeDiagnostics } from "../helpers/compile.js";

describe("chain", () => {
  it("puts several labelled blocks per comprehension step side by side in one scope", () => {
    const r = compileText(`model m {
  input image(3, 16, 16)
  backbone features: chain([["conv{i}": conv(4, 1), "norm{i}": bn] for i in 0..2])
}
`);
    expect(describeDiagnostics(r)).toEqual([]);
    expect([...r.models[0]!.graph.params.keys()].filter((k) => k.endsWith("weight"))).toEqual([
      "backbone.features.conv0.weight",
      "backbone.features.norm0.weight",
      "backbone.features.conv1.weight",
      "backbone.features.norm1.weight",
    ]);
  });

  it("rejects a list whose items are not lists", () => {
    const r = compileText(`let xs = chain([1, [2]])\nmodel m {\n  input image(3, 8, 8)\n  backbone conv(xs[0], 1)\n}\n`);
    expect(describeDiagnostics(r)).toEqual(["MEDG213 1:10 chain: expects a list of lists"]);
  });
});

describe("enum arguments", () => {
  it("take the literal none as the choice named none", () => {
    const r = compileText(`model m {\n  input image(3, 8, 8)\n  backbone conv(4, 1) | gelu(approximate=none) | gelu(approximate=tanh)\n}\n`);
    expect(describeDiagnostics(r)).toEqual([]);
    expect(r.models[0]!.graph.nodes.filter((n) => n.op === "gelu").map((n) => n.attrs["approximate"])).toEqual(["none", "tanh"]);
  });
});
