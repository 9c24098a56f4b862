import { describe, expect, it } from "vitest";
import { readManifest, zooModel } from "../helpers/compile.js";
import { describeReplica } from "./replica.js";

describeReplica(["convnext_tiny", "convnext_small"], "torchvision");

describe("convnext_tiny details", () => {
  const { model } = zooModel("convnext_tiny", readManifest("convnext_tiny"));

  it("starts every layer scale at 1e-6", () => {
    const p = model.graph.params.get("backbone.features.1.0.layer_scale")!;
    expect(p.init).toEqual({ kind: "constant", value: 1e-6 });
  });
  it("raises the stochastic-depth rate linearly from 0 to 0.1 over the 18 blocks", () => {
    const rates = model.graph.nodes.filter((n) => n.op === "stochastic_depth").map((n) => n.attrs.p as number);
    expect(rates).toHaveLength(18);
    rates.forEach((p, i) => expect(p).toBeCloseTo((0.1 * i) / 17, 12));
  });
});
