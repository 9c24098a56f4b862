/**
 * The sr_attention lowering in onnxruntime against the loop-by-loop reference of Hugging Face's
 * efficient self-attention, with every weight random (not the small init values), and the
 * official Swin code's square relative_position_index exporting like torchvision's flat one.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileFile } from "../../src/compile.js";
import { writeSafetensorsSync } from "../../src/weights/safetensors.js";
import { srAttention, srWeights } from "../tfjs/reference-segformer.js";
import { exportText, numel, randomData, run, scratch } from "./helpers.js";

let counter = 0;

/** Exports a one-role model with every parameter random in [-1, 1); returns the values too. */
function exportRandom(text: string) {
  const file = join(scratch, `segformer-op${counter}.medg`);
  writeFileSync(file, text);
  const graph = compileFile(file, { root: scratch }).models[0]!.graph;
  const values = new Map<string, Float32Array>();
  for (const p of graph.params.values()) if (!p.buffer) values.set(p.name, randomData(numel(p.shape), 300 + values.size));
  const weights = join(scratch, `segformer-op${counter++}.safetensors`);
  const written = writeSafetensorsSync(weights, [...values].map(([name, data]) => ({ name, shape: graph.params.get(name)!.shape, data })));
  if (!written.ok) throw new Error(written.error.message);
  return { exported: exportText(text, { weights: [{ file: weights }] }), values };
}

const model = (c: number, h: number, w: number, op: string) =>
  `model m {\n  task regress\n  input image(${c}, ${h}, ${w})\n  backbone permute([0, 2, 3, 1]) | attn: ${op}\n}\n`;

describe("sr_attention in onnxruntime", () => {
  it.each([
    [2, 2, 6, 4, 8, ""],
    [3, 3, 7, 8, 6, ""],
    [1, 1, 3, 5, 4, ", qkv_bias=false"],
    [2, 4, 4, 4, 4, ", eps=1e-3"],
  ])("heads %i, sr %i on %ix%i with %i channels%s agrees with the reference", async (heads, sr, h, w, c, extra) => {
    const { exported, values } = exportRandom(model(c, h, w, `sr_attention(${heads}, sr=${sr}${extra})`));
    const shape = [2, c, h, w];
    const x = randomData(numel(shape), 11);
    const out = Object.values(await run(exported.bytes, shape, x))[0]!;
    expect(out.dims).toEqual([2, h, w, c]);
    // The reference takes the map channels last, as the op does.
    const last = new Float32Array(x.length);
    for (let b = 0; b < 2; b++) for (let k = 0; k < c; k++) for (let i = 0; i < h * w; i++) last[(b * h * w + i) * c + k] = x[(b * c + k) * h * w + i]!;
    const eps = extra.includes("eps") ? 1e-3 : 1e-5;
    const want = srAttention(last, [2, h, w, c], srWeights((s) => values.get(`backbone.attn.${s}`)), heads, sr, eps);
    let err = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      err = Math.max(err, Math.abs(out.data[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    expect(err / scale).toBeLessThan(1e-5);
  });

  it("exports one Conv and one LayerNormalization for the reduction, none without it", () => {
    const ops = (text: string) => exportText(text).model!.graph!.node!.map((n) => n.opType);
    const reduced = ops(model(8, 8, 8, "sr_attention(2, sr=4)"));
    expect(reduced.filter((o) => o === "Conv")).toHaveLength(1);
    expect(reduced.filter((o) => o === "LayerNormalization")).toHaveLength(1);
    expect(reduced.filter((o) => o === "Softmax")).toHaveLength(1);
    const plain = ops(model(8, 8, 8, "sr_attention(2)"));
    expect(plain.filter((o) => o === "Conv" || o === "LayerNormalization")).toEqual([]);
  });
});

describe("window_attention with the official Swin code's buffers", () => {
  it("exports the same graph whether relative_position_index is square or flat", async () => {
    const text = (extra: string) => model(4, 8, 8, `window_attention(2, 4, 2${extra})`);
    const square = exportRandom(text(', index_shape="square"'));
    const flat = exportRandom(text(""));
    expect(square.exported.compiled.graph.params.get("backbone.attn.relative_position_index")!.shape).toEqual([16, 16]);
    expect(flat.exported.compiled.graph.params.get("backbone.attn.relative_position_index")!.shape).toEqual([256]);
    const x = randomData(2 * 4 * 8 * 8, 5);
    const [a, b] = [await run(square.exported.bytes, [2, 4, 8, 8], x), await run(flat.exported.bytes, [2, 4, 8, 8], x)];
    expect(Array.from(Object.values(a)[0]!.data)).toEqual(Array.from(Object.values(b)[0]!.data));
  });
});
