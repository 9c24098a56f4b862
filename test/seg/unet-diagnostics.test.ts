/**
 * Skips and sizes that do not fit: each diagnostic is at the join (or at the decoder the user
 * wrote, with the library location as a note) and gives the sizes on both sides.
 */
import { describe, expect, it } from "vitest";
import { compileText, describeDiagnostics, errors } from "../helpers/compile.js";

const model = (body: string, input = "image(3, 64, 64)") =>
  `model m {\n  task segment(classes=["background", "lesion"])\n  input ${input}\n${body}\n}\n`;

describe("skip connections", () => {
  it("a skip from the wrong scale is reported at the concat with both shapes", () => {
    const r = compileText(model("  backbone resnet18\n  decoder\n    from s32 | upsample(2) | concat(identity, from s8)\n  head seg_conv"));
    expect(describeDiagnostics(r).filter((d) => d.startsWith("MEDG3"))).toEqual([
      "MEDG305 6:30 concat along dim 1 needs every other dim equal, but dim 2 is 4 in [N, 512, 4, 4] from decoder and 8 in [N, 128, 8, 8] from backbone.layer2.1.0",
    ]);
  });
  it("an additive skip of another width is reported at the add with both widths", () => {
    const r = compileText(model("  backbone resnet18\n  decoder\n    from s32 | upsample(2) | add(identity, from s16)\n  head seg_conv"));
    const e = errors(r);
    expect(e.map((d) => [d.code, d.span.start.line, d.span.start.col])).toEqual([["MEDG301", 6, 30]]);
    expect(e[0]!.message).toContain("512 in [N, 512, 4, 4] from decoder vs 256 in [N, 256, 4, 4] from backbone.layer3.1.0");
  });
  it("a misplaced tap under a stdlib decoder is reported at the decoder, the block as a note", () => {
    const backbone = [
      "  backbone",
      "    tap s1 | conv(16, 3, s=2) | relu | tap s2 | conv(32, 3, s=2) | relu | tap s4",
      "    | conv(64, 3, s=2) | relu | tap s16 | conv(128, 3, s=2) | relu | tap s8",
      "  decoder unet(64, 32, 16, 8)",
      "  head seg_conv",
    ].join("\n");
    const e = errors(compileText(model(backbone, "image(1, 64, 64)")));
    expect(e.map((d) => [d.code, d.span.start.line, d.span.start.col])).toEqual([["MEDG305", 7, 11]]);
    expect(e[0]!.message).toContain("dim 2 is 16 in [N, 64, 16, 16] from decoder.blocks.0 and 4 in [N, 128, 4, 4] from backbone.7");
    expect(e[0]!.related?.map((x) => x.message)).toEqual(["inside unet_block(c=64, skip=8)"]);
    expect(e[0]!.related?.[0]!.span.file).toMatch(/stdlib[/\\]seg[/\\]unet\.medg$/);
  });
  it("a decoder over a backbone without taps names the missing tap", () => {
    const e = errors(compileText(model("  backbone conv(16, 3, s=2) | relu\n  decoder unet(16, 8)\n  head seg_conv")));
    expect(e.map((d) => [d.code, d.message])).toEqual([["MEDG205", "unknown tap 's1'; no tap has been defined before this point"]]);
  });
  it("widths are inferred, so a stdlib decoder fits any tapped backbone", () => {
    for (const b of ["resnet18", "resnet50", "densenet121", "efficientnet_b0", "unet2015_encoder(base=16, depth=5)"]) {
      const r = compileText(model(`  backbone ${b} | decoder unet(64, 32, 16, 16, 8) | head seg`));
      expect(errors(r), b).toEqual([]);
      expect(r.models[0]!.graph.outputs[0]!.type.shape).toEqual(["N", 2, 64, 64]);
    }
  });
});

describe("input sizes", () => {
  it("the smp-style decoder asks for multiples of 2^blocks at its call", () => {
    const r = compileText(model("  backbone resnet34 | decoder unet(256, 128, 64, 32, 16) | head seg_conv(k=3)", "image(3, 100, 72)"));
    expect(describeDiagnostics(r).filter((d) => d.startsWith("MEDG3"))).toEqual([
      "MEDG304 4:31 decoder unet (5 upsamplings) needs spatial sizes divisible by 32, got [N, 3, 100, 72] from the input; nearest valid sizes: 100 -> 96 or 128, 72 -> 64 or 96",
    ]);
  });
  it("a shallower decoder asks for less", () => {
    const r = compileText(model("  backbone resnet18 | decoder unet(64, 32, 16) | head seg_conv", "image(3, 40, 40)"));
    expect(errors(r)).toEqual([]);
    expect(r.models[0]!.graph.outputs[0]!.type.shape).toEqual(["N", 2, 40, 40]);
  });
});

describe("heads", () => {
  const names = (head: string) => {
    const r = compileText(model(`  backbone resnet18 | decoder unet(64, 32, 16, 16, 8)\n  head ${head}`));
    expect(errors(r)).toEqual([]);
    const m = r.models[0]!;
    return { params: [...m.graph.params.keys()].filter((n) => n.startsWith("head.")), out: m.graph.outputs[0]!.type.shape, ops: m.graph.nodes.filter((n) => n.scope.startsWith("head")).map((n) => n.op) };
  };
  it("seg_conv is one 1x1 conv to the task's classes", () => {
    const h = names("seg_conv");
    expect(h.params).toEqual(["head.0.weight", "head.0.bias"]);
    expect(h.ops).toEqual(["conv"]);
    expect(h.out).toEqual(["N", 2, 64, 64]);
  });
  it("seg is conv, bn, relu, 1x1 conv", () => {
    const h = names("seg(32)");
    expect(h.ops).toEqual(["conv", "bn", "relu", "conv"]);
    expect(h.params).toEqual(["head.0.weight", "head.1.weight", "head.1.bias", "head.1.running_mean", "head.1.running_var", "head.3.weight", "head.3.bias"]);
  });
  it("an activation is only in the graph when asked for", () => {
    expect(names("seg_conv(k=3, act=softmax)").ops).toEqual(["conv", "softmax"]);
    expect(names("seg(act=sigmoid)").ops).toEqual(["conv", "bn", "relu", "conv", "sigmoid"]);
  });
});
