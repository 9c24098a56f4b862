import { describe, expect, it } from "vitest";
import { compileText, errors, readManifest, zooModel } from "../helpers/compile.js";

describe.each(["deit_b", "deit_s", "deit_ti"])("%s equals timm", (name) => {
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

describe("deit details", () => {
  it("initialises cls_token with normal(1e-6) and pos_embed with trunc_normal(0.02), like timm", () => {
    const { model } = zooModel("deit_s", readManifest("deit_s"));
    expect(model.graph.params.get("backbone.cls_token")!.init).toEqual({ kind: "normal", std: 1e-6 });
    expect(model.graph.params.get("backbone.pos_embed")!.init).toEqual({ kind: "trunc_normal", std: 0.02 });
  });
});
