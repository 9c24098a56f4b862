/**
 * Swin-UNet against the official code (HuCaoFighting/Swin-Unet, SwinUnet wrapping
 * SwinTransformerSys): parameter count, state_dict names and shapes (test/seg/reference), the
 * windows and shifts at each scale, loading a checkpoint by role, and the output of a small model
 * against PyTorch's on the same weights.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileFile } from "../../src/compile.js";
import type { Value } from "../../src/ir/graph.js";
import { compileText, errors } from "../helpers/compile.js";
import { scratch } from "../onnx/helpers.js";
import { entryLines, expectPyTorchOutput, manifestLines, readSegManifest, writeWeights } from "./transformer-helpers.js";

const model = (backbone: string, size = 224) => `model m {\n  input image(3, ${size}, ${size})\n  backbone ${backbone}\n}\n`;
// The official blocks register a shifted-window mask as a buffer; the backends compute it instead.
const stored = (name: string) => !name.endsWith(".attn_mask");

describe("swin_unet equals the official Swin-UNet", () => {
  const manifest = readSegManifest("swin_unet");
  const r = compileText(model("swin_unet(classes=9)"));
  const m = r.models[0]!;

  it("compiles clean to logits at the input resolution", () => {
    expect(errors(r)).toEqual([]);
    expect(m.graph.outputs.map((o) => o.type.shape)).toEqual([["N", 9, 224, 224]]);
  });
  it("has the official parameter count, 27,168,900 with 9 classes at 224 px", () => {
    expect(m.params.total).toBe(27_168_900);
    expect(m.params.total).toBe(manifest.params);
  });
  it("has the official state_dict names and shapes but the attention masks", () => {
    expect(entryLines(m).sort()).toEqual(manifestLines(manifest, stored).sort());
    expect(manifest.entries.filter(([n]) => !stored(n)).map(([n]) => n)).toHaveLength(6);
  });
  it("has 6.1 G multiply-accumulates at 224 px", () => {
    expect(m.macs / 1e9).toBeCloseTo(6.11, 2);
  });
  it("shifts odd blocks by 3 where a map holds several windows, and attends the 7 x 7 bottleneck as one window", () => {
    const attn = m.graph.nodes.filter((n) => n.op === "window_attention").map((n) => `${n.scope.replace(/^backbone\.swin_unet\./, "")} ${String(n.attrs.window)} ${String(n.attrs.effective_shift)}`);
    expect(attn).toEqual([
      "layers.0.blocks.0.attn 7,7 0,0",
      "layers.0.blocks.1.attn 7,7 3,3",
      "layers.1.blocks.0.attn 7,7 0,0",
      "layers.1.blocks.1.attn 7,7 3,3",
      "layers.2.blocks.0.attn 7,7 0,0",
      "layers.2.blocks.1.attn 7,7 3,3",
      "layers.3.blocks.0.attn 7,7 0,0",
      "layers.3.blocks.1.attn 7,7 0,0",
      "layers_up.1.blocks.0.attn 7,7 0,0",
      "layers_up.1.blocks.1.attn 7,7 3,3",
      "layers_up.2.blocks.0.attn 7,7 0,0",
      "layers_up.2.blocks.1.attn 7,7 3,3",
      "layers_up.3.blocks.0.attn 7,7 0,0",
      "layers_up.3.blocks.1.attn 7,7 3,3",
    ]);
  });
  it("skips from each encoder stage's input into the decoder stage of its scale", () => {
    // The decoder's side of each concat passes through `identity`.
    const source = (v: Value): string => (v.producer!.op === "identity" ? source(v.producer!.inputs[0]!) : v.producer!.scope.replace(/^backbone\.swin_unet\./, ""));
    const concats = m.graph.nodes.filter((n) => n.op === "concat").map((n) => n.inputs.map((v) => `${source(v)} [${v.type.shape.slice(1).join(", ")}]`));
    expect(concats).toEqual([
      ["layers_up.0.norm [14, 14, 384]", "layers.1.downsample [14, 14, 384]"],
      ["layers_up.1.upsample.norm [28, 28, 192]", "layers.0.downsample [28, 28, 192]"],
      ["layers_up.2.upsample.norm [56, 56, 96]", "patch_embed.norm [56, 56, 96]"],
    ]);
  });
  it("loads an official checkpoint with --weights backbone=FILE; its attention masks are not weights", () => {
    const file = writeWeights(manifest.entries.map(([n, s]) => [n, s]));
    const path = join(scratch, "swin-unet-weights.medg");
    writeFileSync(path, model("swin_unet(classes=9)"));
    const loaded = compileFile(path, { root: scratch, weights: [{ role: "backbone", file }] });
    // The official state_dict holds 6 `attn_mask` buffers computed from the configuration; they are skipped.
    expect(manifest.entries.filter(([n]) => n.endsWith(".attn_mask"))).toHaveLength(6);
    expect(loaded.diagnostics.map((d) => `${d.code} ${d.message.split(":")[0]}`)).toEqual([]);
    expect(loaded.models[0]!.weights[0]!.missing).toEqual([]);
    expect(loaded.models[0]!.weights[0]!.unused).toEqual([]);
  });
  it("diagnoses an input not divisible by 32 with the nearest valid sizes", () => {
    expect(errors(compileText(model("swin_unet(classes=9)", 200))).map((d) => `${d.code} ${d.message}`)).toEqual([
      "MEDG304 swin_unet needs spatial sizes divisible by 32, got [N, 3, 200, 200] from the input; nearest valid sizes: 200 -> 192 or 224",
    ]);
  });
});

describe("swin_unet against PyTorch", () => {
  it("a small Swin-UNet gives the official code's logits on the same weights, loaded by role", async () => {
    // Window 2 on 32 px: shifted windows at the first two scales, one unshifted window the size of
    // the map below (the official code's rule), relative position tables of 9 and 1 entries.
    const text = model("swin_unet(classes=3, dim=8, heads=[1, 2, 2, 4], window=2)", 32);
    expect(await expectPyTorchOutput(text, "swin_unet_tiny", 32)).toBeLessThan(1e-5);
  });
});
