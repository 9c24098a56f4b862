/**
 * Numeric checks of single lowerings in onnxruntime against plain-loop references written from
 * PyTorch's definitions, with random weights (not the small init values) so that indexing
 * mistakes show.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileFile } from "../../src/compile.js";
import { writeSafetensorsSync } from "../../src/weights/safetensors.js";
import { writeFileSync } from "node:fs";
import { exportText, maxAbsDiff, numel, randomData, run, scratch, type Exported } from "./helpers.js";
import * as ref from "./reference.js";

let counter = 0;

/** Exports `text` with every parameter random in [-1, 1) (variances in [0.5, 1.5)); returns the values too. */
function withRandomWeights(text: string, options: { keepBn?: boolean; opset?: number } = {}): { exported: Exported; params: Map<string, Float32Array> } {
  const file = join(scratch, `w${counter}.medg`);
  writeFileSync(file, text);
  const graph = compileFile(file, { root: scratch }).models[0]!.graph;
  const params = new Map<string, Float32Array>();
  for (const p of graph.params.values()) {
    if (p.name.endsWith("relative_position_index")) continue;
    const data = randomData(numel(p.shape), 1000 + params.size);
    params.set(p.name, p.name.endsWith("running_var") ? data.map((v) => 1 + v / 2) : data);
  }
  const weights = join(scratch, `w${counter++}.safetensors`);
  const written = writeSafetensorsSync(weights, [...params].map(([name, data]) => ({ name, shape: graph.params.get(name)!.shape, data })));
  if (!written.ok) throw new Error(written.error.message);
  return { exported: exportText(text, { weights: [{ file: weights }], ...options }), params };
}

async function output(exported: Exported, shape: number[], data: Float32Array): Promise<Float32Array> {
  const out = await run(exported.bytes, shape, data);
  return Object.values(out)[0]!.data;
}

/** [n, c, h, w] → [n, h, w, c]. */
function channelsLast(x: Float32Array, [n, c, h, w]: number[]): Float32Array {
  const y = new Float32Array(x.length);
  for (let b = 0; b < n!; b++) for (let k = 0; k < c!; k++) for (let i = 0; i < h! * w!; i++) y[(b * h! * w! + i) * c! + k] = x[(b * c! + k) * h! * w! + i]!;
  return y;
}

const model = (input: string, backbone: string) => `model m {\n  input ${input}\n  backbone ${backbone}\n}\n`;

describe("ONNX lowerings against reference computations", () => {
  it("conv | bn folded gives the output of conv | bn kept, within 1e-5", async () => {
    const text = model("image(3, 12, 12)", "c: conv(8, 3, s=2, bias=false) | b: bn | relu | c2: conv(4, 1) | b2: bn");
    const folded = withRandomWeights(text).exported;
    const kept = withRandomWeights(text, { keepBn: true }).exported;
    const ops = (e: Exported) => e.model!.graph!.node!.map((n) => n.opType);
    expect(ops(folded)).toEqual(["Conv", "Relu", "Conv"]);
    expect(ops(kept)).toEqual(["Conv", "BatchNormalization", "Relu", "Conv", "BatchNormalization"]);
    expect(folded.inference.folded).toBe(2);
    const shape = [2, 3, 12, 12];
    const x = randomData(numel(shape), 7);
    const [a, b] = [await output(folded, shape, x), await output(kept, shape, x)];
    expect(a.length).toBe(2 * 4 * 6 * 6);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
  });

  it.each([
    [5, 5, 3, 1],
    [6, 6, 3, 0],
    [6, 4, 3, 1],
    [4, 4, 4, 2],
    [7, 9, 3, 1],
  ])("window_attention on %ix%i, window %i, shift %i: torchvision's shifted_window_attention", async (h, w, window, shift) => {
    const c = 8;
    const text = model(`image(${c}, ${h}, ${w})`, `permute([0, 2, 3, 1]) | attn: window_attention(2, ${window}, ${shift})`);
    const { exported, params } = withRandomWeights(text);
    const shape = [2, c, h, w];
    const x = randomData(numel(shape), 3);
    const y = await output(exported, shape, x);
    const expected = ref.windowAttention(channelsLast(x, shape), [2, h, w, c], 2, [window, window], [shift, shift], params, "backbone.attn");
    expect(maxAbsDiff(y, expected)).toBeLessThan(1e-4);
  });

  it("mhsa: nn.MultiheadAttention", async () => {
    const text = model("image(8, 4, 3)", "flatten(2) | transpose(1, 2) | attn: mhsa(2)");
    const { exported, params } = withRandomWeights(text);
    const shape = [2, 8, 4, 3];
    const x = randomData(numel(shape), 5);
    const tokens = channelsLast(x, shape);
    expect(maxAbsDiff(await output(exported, shape, x), ref.mhsa(tokens, 2, 12, 8, 2, params, "backbone.attn"))).toBeLessThan(1e-4);
  });

  it("patch_merging on an odd map: torchvision's PatchMerging", async () => {
    const text = model("image(4, 5, 3)", "permute([0, 2, 3, 1]) | pm: patch_merging");
    const { exported, params } = withRandomWeights(text);
    const shape = [2, 4, 5, 3];
    const x = randomData(numel(shape), 9);
    const expected = ref.patchMerging(channelsLast(x, shape), [2, 5, 3, 4], params, "backbone.pm");
    expect(maxAbsDiff(await output(exported, shape, x), expected)).toBeLessThan(1e-5);
  });

  it("gn: GroupNorm", async () => {
    const { exported, params } = withRandomWeights(model("image(6, 4, 5)", "norm: gn(groups=3)"));
    const shape = [2, 6, 4, 5];
    const x = randomData(numel(shape), 11);
    const expected = ref.groupNorm(x, 2, 6, 20, 3, params.get("backbone.norm.weight")!, params.get("backbone.norm.bias")!, 1e-5);
    expect(maxAbsDiff(await output(exported, shape, x), expected)).toBeLessThan(1e-5);
  });

  it("ln2d: LayerNorm over the channels", async () => {
    const { exported, params } = withRandomWeights(model("image(6, 4, 5)", "norm: ln2d"));
    const shape = [2, 6, 4, 5];
    const x = randomData(numel(shape), 13);
    const normed = ref.layerNorm(channelsLast(x, shape), 40, 6, params.get("backbone.norm.weight")!, params.get("backbone.norm.bias")!, 1e-6);
    // back to channels first
    const expected = new Float32Array(normed.length);
    for (let b = 0; b < 2; b++) for (let k = 0; k < 6; k++) for (let i = 0; i < 20; i++) expected[(b * 6 + k) * 20 + i] = normed[(b * 20 + i) * 6 + k]!;
    expect(maxAbsDiff(await output(exported, shape, x), expected)).toBeLessThan(1e-5);
  });

  it.each([
    ["none", 17, "Erf"],
    ["tanh", 17, "Tanh"],
    ["none", 20, "Gelu"],
    ["tanh", 20, "Gelu"],
  ])("gelu(approximate=%s) at opset %i uses %s", async (approximate, opset, op) => {
    // `none` is the language's null, so the exact form is gelu's default rather than written out.
    const exported = exportText(model("image(2, 4, 4)", approximate === "tanh" ? "gelu(approximate=tanh)" : "gelu"), { opset });
    expect(exported.model!.graph!.node!.map((n) => n.opType)).toContain(op);
    const x = randomData(64, 17).map((v) => v * 4);
    const f = approximate === "tanh" ? ref.geluTanh : ref.geluErf;
    expect(maxAbsDiff(await output(exported, [2, 2, 4, 4], x), x.map(f))).toBeLessThan(1e-5);
  });

  it.each([
    ["maxpool(2, s=3, p=1, ceil=true)", 4, "max", true],
    ["maxpool(3, s=2, p=1, ceil=true)", 6, "max", true],
    ["avgpool(3, s=2, p=1, ceil=true, count_include_pad=false)", 6, "avg", false],
    ["avgpool(3, s=2, p=1, ceil=true)", 6, "avg", true],
    ["avgpool(2, s=3, p=1, ceil=true)", 4, "avg", true],
  ] as const)("%s on %i x %i: PyTorch's ceil mode", async (op, size, kind, countIncludePad) => {
    const exported = exportText(model(`image(2, ${size}, ${size})`, op));
    const [, , oh, ow] = exported.compiled.graph.outputs[0]!.type.shape as number[];
    const [k, s] = op.includes("(2,") ? [2, 3] : [3, 2];
    const x = randomData(2 * 2 * size * size, 31);
    const expected = ref.pool2d(x, 4, [size, size], [oh!, ow!], k, s, 1, kind, countIncludePad);
    const y = await output(exported, [2, 2, size, size], x);
    expect(y.length).toBe(expected.length);
    expect(maxAbsDiff(y, expected)).toBeLessThan(1e-6);
  });

  it("adaptive_avgpool to a size that does not divide the input: PyTorch's overlapping windows", async () => {
    const exported = exportText(model("image(3, 7, 5)", "adaptive_avgpool([3, 2])"));
    const x = randomData(2 * 3 * 35, 19);
    expect(maxAbsDiff(await output(exported, [2, 3, 7, 5], x), ref.adaptiveAvgPool2d(x, 6, 7, 5, 3, 2))).toBeLessThan(1e-5);
  });

  it.each([17, 18])("bilinear resize to a size with an inexact ratio at opset %i", async (opset) => {
    const exported = exportText(model("image(2, 4, 6)", 'resize(size=[7, 5], mode="bilinear")'), { opset });
    const x = randomData(2 * 2 * 24, 23);
    expect(maxAbsDiff(await output(exported, [2, 2, 4, 6], x), ref.bilinear(x, 4, 4, 6, 7, 5))).toBeLessThan(1e-5);
  });

  it("mul broadcasts [N, C] over [N, C, H, W] channels-first", async () => {
    const exported = exportText(model("image(3, 2, 2)", "mul(gap, identity)"));
    expect(exported.model!.graph!.node!.map((n) => n.opType)).toEqual(["GlobalAveragePool", "Flatten", "Unsqueeze", "Mul"]);
    const x = randomData(2 * 3 * 4, 29);
    const expected = x.map((v, i) => {
      const plane = Math.floor(i / 4);
      return v * (x[plane * 4]! + x[plane * 4 + 1]! + x[plane * 4 + 2]! + x[plane * 4 + 3]!) / 4;
    });
    expect(maxAbsDiff(await output(exported, [2, 3, 2, 2], x), expected)).toBeLessThan(1e-6);
  });
});
