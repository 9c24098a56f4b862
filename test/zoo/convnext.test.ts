import { describe, expect, it } from "vitest";
import { compileText, errors, readManifest, zooModel } from "../helpers/compile.js";

describe.each(["convnext_tiny", "convnext_small"])("%s equals torchvision", (name) => {
  const manifest = readManifest(name);
  const { result, model, entries, reference } = zooModel(name, manifest);

  it("compiles clean", () => {
    expect(errors(result)).toEqual([]);
  });
  it("has the reference parameter count", () => {
    expect(model.params.total).toBe(manifest.params);
  });
  it("has the reference state_dict names and shapes", () => {
    expect([...entries].sort()).toEqual([...reference].sort());
  });
  it("has MACs within 2% of the reference", () => {
    expect(Math.abs(model.macs / manifest.macs - 1)).toBeLessThan(0.02);
  });
  it("ends at the pooled feature vector without classes", () => {
    const r = compileText(`model m {\n  input image(3, 224, 224)\n  backbone ${name}\n}\n`);
    expect(r.models[0]!.graph.outputs.map((o) => o.type.shape)).toEqual([["N", manifest.feature_width]]);
  });
});

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
