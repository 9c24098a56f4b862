import { describe, expect, it } from "vitest";
import { readManifest, zooModel } from "../helpers/compile.js";
import { describeReplica } from "./replica.js";

describeReplica(["deit_b", "deit_s", "deit_ti"], "timm");

describe("deit details", () => {
  it("initialises cls_token with normal(1e-6) and pos_embed with trunc_normal(0.02), like timm", () => {
    const { model } = zooModel("deit_s", readManifest("deit_s"));
    expect(model.graph.params.get("backbone.cls_token")!.init).toEqual({ kind: "normal", std: 1e-6 });
    expect(model.graph.params.get("backbone.pos_embed")!.init).toEqual({ kind: "trunc_normal", std: 0.02 });
  });
});
