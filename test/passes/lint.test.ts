import { describe, expect, it } from "vitest";
import { channelAxis } from "../../src/passes/channel-axis.js";
import { compileText } from "../helpers/compile.js";

const model = (backbone: string, head: string, input = "image(3, 16, 16)") => `model m {\n  input ${input}\n  backbone ${backbone}\n  head ${head}\n}\n`;

const diagnostics = (text: string) => compileText(text).diagnostics.map((d) => `${d.code} ${d.message}`);

describe("the lint on a linear head fed a feature map", () => {
  it("reports a channels-first map [N, C, H, W] and offers gap", () => {
    const r = compileText(model("stem: conv(8, 3, s=2)", "linear(4)"));
    expect(r.diagnostics.map((d) => `${d.code} ${d.severity} ${d.message}`)).toEqual([
      "MEDG302 error head linear expects 1 input of rank 2, got [N, 8, 8, 8] from backbone.stem (add a pooling op such as gap)",
    ]);
    expect(r.diagnostics[0]!.fixes?.map((f) => f.title)).toEqual(["add gap"]);
  });

  it("reports a map permuted channels-last and back", () => {
    expect(diagnostics(model("conv(8, 3) | permute([0, 2, 3, 1]) | norm: ln | permute([0, 3, 1, 2])", "linear(4)"))).toEqual([
      "MEDG302 head linear expects 1 input of rank 2, got [N, 8, 16, 16] from backbone.3 (add a pooling op such as gap)",
    ]);
  });

  it.each([
    ["a permuted map (SegFormer's decode head MLP)", "conv(8, 4, s=4) | permute([0, 2, 3, 1])"],
    ["after a channels-last LayerNorm", "conv(8, 4, s=4) | permute([0, 2, 3, 1]) | norm: ln | gelu"],
    ["Swin's patch merging", "conv(8, 4, s=4) | permute([0, 2, 3, 1]) | norm: ln | merge: patch_merging"],
    ["tokens reshaped back to a map", "conv(8, 4, s=4) | flatten(2) | transpose(1, 2) | norm: ln | reshape([4, 4, 8])"],
  ])("accepts a channels-last map [N, H, W, C]: %s", (_name, backbone) => {
    expect(diagnostics(model(backbone, "linear(4)"))).toEqual([]);
  });
});

describe("channelAxis", () => {
  const output = (backbone: string, input = "image(3, 16, 16)") => {
    const r = compileText(`model m {\n  input ${input}\n  backbone ${backbone}\n}\n`);
    return r.models[0]!.graph.outputs[0]!;
  };

  it.each([
    ["conv(8, 3)", 1],
    ["conv(8, 3) | relu | permute([0, 2, 3, 1])", 3],
    ["permute([0, 2, 3, 1]) | l: linear(5) | permute([0, 3, 1, 2])", 1],
    ["permute([0, 3, 1, 2])", 2],
    ["flatten(2) | transpose(1, 2)", 2],
    ["flatten(2) | transpose(1, 2) | reshape([16, 16, 3])", 3],
    ["reshape([3, 256])", 1],
    ["reshape([6, 128])", null],
    ["gap", 1],
  ] as const)("%s: %s", (backbone, axis) => {
    expect(channelAxis(output(backbone))).toBe(axis);
  });
});
