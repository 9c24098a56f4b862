import { describe, expect, it } from "vitest";
import { compileText, errors, readManifest, zooModel } from "../helpers/compile.js";
import { describeReplica } from "./replica.js";

describeReplica(["vit_b_16"], "torchvision");

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
