/**
 * Each segmentation model against its reference implementation (manifests in test/reference/seg,
 * with the library, commit and constructor call that produced them): parameter count, state_dict
 * names and shapes, MACs.
 */
import { describe, expect, it } from "vitest";
import { compileText, errors } from "../helpers/compile.js";
import { medgName, modelText, readSegManifest, segModels } from "./unet-models.js";

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

describe.each(segModels)("$name", (m) => {
  const manifest = readSegManifest(m.manifest);
  const [, , h] = manifest.macs_input;
  const r = compileText(modelText(m, h!));
  const model = r.models[0]!;
  const kept = manifest.entries.filter(([n]) => !m.missing?.test(n));
  const dropped = manifest.entries.filter(([n]) => m.missing?.test(n));

  it("compiles clean", () => {
    expect(errors(r)).toEqual([]);
  });
  it("has the reference's parameters", () => {
    const lacking = dropped.filter(([, , kind]) => kind === "param").reduce((a, [, shape]) => a + numel(shape), 0);
    expect(model.params.total).toBe(manifest.params - lacking);
    if (!m.missing) expect(dropped).toEqual([]);
  });
  it.skipIf(m.otherNames)("has the reference's state_dict names and shapes", () => {
    const ours = [...model.graph.params.values()].map((p) => `${p.name} ${p.shape.join("x")} ${p.buffer ? "buffer" : "param"}`);
    const theirs = kept.map(([n, shape, kind]) => `${medgName(manifest, n)} ${shape.join("x")} ${kind}`);
    expect(ours.sort()).toEqual(theirs.sort());
  });
  it.runIf(m.otherNames)("has the reference's tensor shapes per role", () => {
    const shapes = (entries: [string, readonly number[], string][]) => entries.map(([n, shape, kind]) => `${n.split(".")[0]} ${shape.join("x")} ${kind}`).sort();
    const ours = [...model.graph.params.values()].map((p) => [p.name, p.shape, p.buffer ? "buffer" : "param"] as [string, readonly number[], string]);
    expect(shapes(ours)).toEqual(shapes(kept.map(([n, shape, kind]) => [medgName(manifest, n), shape, kind])));
  });
  it("has the reference's MACs", () => {
    // Counted over what feeds the output (smp's encoder stops at the deepest stage its decoder
    // uses); only the unused deep-supervision heads' 1x1 convs differ.
    expect(Math.abs(model.macs / manifest.macs - 1)).toBeLessThan(0.002);
  });
  it("outputs class scores at the input resolution", () => {
    expect(model.graph.outputs.map((o) => o.type.shape)).toEqual(
      Array.from({ length: m.outputs ?? 1 }, () => ["N", ...manifest.output.slice(1)]),
    );
  });
});

describe("reference figures", () => {
  it("are the published ones", () => {
    // The figures: smp's Unet("resnet34") with 1 class, and the 2015 U-Net with 1 input channel and 2 classes.
    expect(readSegManifest("smp_unet_resnet34").params).toBe(24_436_369);
    expect(readSegManifest("unet2015").params).toBe(31_030_658);
  });
});

describe("smp Unet names", () => {
  const r = compileText(`model m {\n  input image(3, 64, 64)\n  backbone resnet34 | decoder unet(256, 128, 64, 32, 16) | head seg_conv(k=3, classes=1)\n}\n`);
  const names = [...r.models[0]!.graph.params.keys()];
  it("keeps torchvision's encoder names under backbone", () => {
    expect(names).toContain("backbone.conv1.weight");
    expect(names).toContain("backbone.layer4.2.bn2.running_var");
    expect(names.some((n) => n.startsWith("backbone.fc."))).toBe(false);
  });
  it("names the decoder and head as smp", () => {
    expect(names.filter((n) => n.startsWith("decoder.blocks.0.")).sort()).toEqual(
      [
        "decoder.blocks.0.conv1.0.weight",
        "decoder.blocks.0.conv1.1.weight",
        "decoder.blocks.0.conv1.1.bias",
        "decoder.blocks.0.conv1.1.running_mean",
        "decoder.blocks.0.conv1.1.running_var",
        "decoder.blocks.0.conv2.0.weight",
        "decoder.blocks.0.conv2.1.weight",
        "decoder.blocks.0.conv2.1.bias",
        "decoder.blocks.0.conv2.1.running_mean",
        "decoder.blocks.0.conv2.1.running_var",
      ].sort(),
    );
    expect(names.filter((n) => n.startsWith("head."))).toEqual(["head.0.weight", "head.0.bias"]);
  });
});
