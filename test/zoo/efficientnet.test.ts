import { describe, expect, it } from "vitest";
import { compileText, errors, readManifest, zooModel } from "../helpers/compile.js";

describe.each(["efficientnet_b0", "efficientnet_b1", "efficientnet_b3"])("%s equals torchvision", (name) => {
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
