/**
 * SegFormer against Hugging Face's SegformerForSemanticSegmentation (transformers 4.57.6): parameter
 * counts, state_dict names and shapes (test/seg/reference), MACs against the paper, weights loading
 * by role, and the output of a small model against PyTorch's on the same weights.
 */
import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileFile } from "../../src/compile.js";
import { compileText, errors } from "../helpers/compile.js";
import { scratch } from "../onnx/helpers.js";
import { entryLines, expectPyTorchOutput, manifestLines, readSegManifest, writeWeights } from "./transformer-helpers.js";

let counter = 0;

/** Compiles with `--weights` sources, as the CLI does. */
function compileWith(text: string, weights: { role?: string; file: string }[]) {
  const file = join(scratch, `segformer-${counter++}.medg`);
  writeFileSync(file, text);
  return compileFile(file, { root: scratch, weights });
}

const model = (backbone: string, size = 512, decoder = "") => `model m {\n  input image(3, ${size}, ${size})\n  backbone ${backbone}${decoder ? `\n  decoder ${decoder}` : ""}\n}\n`;

// SegFormer's Table 1 (ADE20K, 512 x 512), GFLOPs counted as multiply-accumulates.
const paperMacs: Record<string, number> = { b0: 8.4e9, b1: 15.9e9, b2: 62.4e9 };
const widths: Record<string, number> = { b0: 256, b1: 512, b2: 512 };

describe.each(["b0", "b1", "b2"])("segformer_%s equals Hugging Face's", (b) => {
  const manifest = readSegManifest(`segformer_${b}`);
  const r = compileText(model(`segformer_${b}(classes=150)`));
  const m = r.models[0]!;

  it("compiles clean to logits at the input resolution", () => {
    expect(errors(r)).toEqual([]);
    expect(m.graph.outputs.map((o) => o.type.shape)).toEqual([["N", 150, 512, 512]]);
  });
  it("has the reference parameter count with 150 classes", () => {
    expect(m.params.total).toBe(manifest.params);
  });
  it("has the reference state_dict names and shapes under backbone", () => {
    expect(entryLines(m).sort()).toEqual(manifestLines(manifest).sort());
  });
  it("has the paper's MACs within 1%", () => {
    expect(Math.abs(m.macs / paperMacs[b]! - 1)).toBeLessThan(0.01);
  });
  it(`mit_${b} is the encoder alone: its parameters and names, ending at output stride 32`, () => {
    const e = compileText(model(`mit_${b}`)).models[0]!;
    expect(e.params.total).toBe(manifest.encoder_params);
    expect(entryLines(e).sort()).toEqual(manifestLines(manifest, (n) => n.startsWith("segformer.encoder.")).sort());
    expect(e.graph.outputs.map((o) => o.type.shape)).toEqual([["N", widths[b], 16, 16]]);
  });
});

describe("segformer roles and weights", () => {
  const manifest = readSegManifest("segformer_b0");
  const tensors = (keep: (n: string) => boolean): [string, number[]][] => manifest.entries.filter(([n]) => keep(n)).map(([n, s]) => [n, s]);
  const full = writeWeights(tensors(() => true));
  const weightCodes = (r: ReturnType<typeof compileWith>) => r.diagnostics.filter((d) => d.code.startsWith("MEDG60")).map((d) => `${d.code} ${d.message.replace(/\S*\.safetensors/, "FILE")}`);

  it("backbone mit_b0 | decoder segformer_head(256) is the same network, split into encoder and decode_head", () => {
    const r = compileText(model("mit_b0", 512, "segformer_head(256, classes=150)"));
    expect(errors(r)).toEqual([]);
    const m = r.models[0]!;
    expect(m.params.total).toBe(manifest.params);
    const heads = [...m.graph.params.keys()].filter((n) => n.startsWith("decoder."));
    expect(heads.sort()).toEqual(tensors((n) => n.startsWith("decode_head.")).map(([n]) => `decoder.${n}`).sort());
    expect(m.graph.outputs.map((o) => o.type.shape)).toEqual([["N", 150, 512, 512]]);
  });

  it("loads a whole HF checkpoint with --weights backbone=FILE, every tensor used", () => {
    const r = compileWith(model("segformer_b0(classes=150)"), [{ role: "backbone", file: full }]);
    expect(weightCodes(r)).toEqual([]);
    expect(r.models[0]!.weights).toMatchObject([{ role: "backbone", matched: manifest.entries.length, missing: [], unused: [] }]);
  });

  it("loads an ImageNet encoder (segformer.encoder.* and a classifier) into backbone mit_b0", () => {
    const file = writeWeights([...tensors((n) => n.startsWith("segformer.encoder.")), ["classifier.weight", [1000, 256]], ["classifier.bias", [1000]]]);
    const r = compileWith(model("mit_b0"), [{ role: "backbone", file }]);
    expect(weightCodes(r)).toEqual([
      "MEDG605 the reference classifier (classifier.bias, classifier.weight) is not loaded: the backbone has no `classes`, so it ends at the pooled features",
    ]);
    expect(r.models[0]!.weights[0]!.missing).toEqual([]);
  });

  it("gives one checkpoint to both roles of the split form; each reports the other's tensors as unused", () => {
    const r = compileWith(model("mit_b0", 512, "segformer_head(256, classes=150)"), [
      { role: "backbone", file: full },
      { role: "decoder", file: full },
    ]);
    expect(weightCodes(r).map((c) => c.split(":")[0])).toEqual([
      "MEDG604 15 tensors of FILE match no parameter under 'backbone'",
      "MEDG604 192 tensors of FILE match no parameter under 'decoder'",
    ]);
    expect(r.models[0]!.weights.map((w) => [w.role, w.matched, w.missing.length])).toEqual([
      ["backbone", 192, 0],
      ["decoder", 15, 0],
    ]);
  });

  it("diagnoses an input not divisible by 32 with the nearest valid sizes", () => {
    const r = compileText(model("segformer_b0(classes=2)", 500));
    expect(errors(r).map((d) => `${d.code} ${d.message}`)).toEqual([
      "MEDG304 segformer needs spatial sizes divisible by 32, got [N, 3, 500, 500] from the input; nearest valid sizes: 500 -> 480 or 512",
    ]);
  });

  it("takes the class count from the task", () => {
    const r = compileText(`model m {\n  task segment(classes=["background", "liver", "tumour"])\n  input image(3, 64, 64)\n  backbone segformer_b0\n}\n`);
    expect(errors(r)).toEqual([]);
    expect(r.models[0]!.graph.outputs.map((o) => o.type.shape)).toEqual([["N", 3, 64, 64]]);
  });
});

describe("segformer against PyTorch", () => {
  it("a small SegFormer gives HF's logits (upsampled x4) on the same weights, loaded by role", async () => {
    const text = model("segformer([8, 16, 24, 32], [1, 2, 1, 1], [1, 2, 3, 4], 16, classes=3)", 32);
    expect(await expectPyTorchOutput(text, "segformer_tiny", 32)).toBeLessThan(1e-5);
  });
});
