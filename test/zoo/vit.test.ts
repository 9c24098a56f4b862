import { describe, expect, it } from "vitest";
import { compileText, errors, readManifest, zooModel } from "../helpers/compile.js";

describe.each(["vit_b_16"])("%s equals torchvision", (name) => {
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

describe("vit_b_16 details", () => {
  it("initialises the class token with zeros and the position embedding with normal(0.02), like torchvision", () => {
    const { model } = zooModel("vit_b_16", readManifest("vit_b_16"));
    expect(model.graph.params.get("backbone.class_token")!.init).toEqual({ kind: "zeros" });
    expect(model.graph.params.get("backbone.encoder.pos_embedding")!.init).toEqual({ kind: "normal", std: 0.02 });
  });
  it("sizes the position embedding from the resolution (384 px: 577 tokens)", () => {
    const r = compileText(`model m {\n  input image(3, 384, 384)\n  backbone vit_b_16\n}\n`);
    expect(errors(r)).toEqual([]);
    expect(r.models[0]!.graph.params.get("backbone.encoder.pos_embedding")!.shape).toEqual([1, 577, 768]);
  });
});
