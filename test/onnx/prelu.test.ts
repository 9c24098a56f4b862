/** The prelu lowering in onnxruntime: ONNX PRelu with the slope shaped to broadcast from the right. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileFile } from "../../src/compile.js";
import { writeSafetensorsSync } from "../../src/weights/safetensors.js";
import { exportText, maxAbsDiff, numel, randomData, run, scratch } from "./helpers.js";

let counter = 0;

/** Exports `backbone` on `input` with the slopes set to `slopes`. */
function exportWithSlopes(input: string, backbone: string, slopes: number[]) {
  const text = `model m {\n  input ${input}\n  backbone ${backbone}\n}\n`;
  const file = join(scratch, `prelu${counter}.medg`);
  writeFileSync(file, text);
  const p = compileFile(file, { root: scratch }).models[0]!.graph.params.get("backbone.a.weight")!;
  const weights = join(scratch, `prelu${counter++}.safetensors`);
  const written = writeSafetensorsSync(weights, [{ name: p.name, shape: p.shape, data: Float32Array.from(slopes) }]);
  if (!written.ok) throw new Error(written.error.message);
  return exportText(text, { weights: [{ file: weights }] });
}

describe("prelu in ONNX", () => {
  it.each([
    // name, input, backbone, input shape, slopes, elements per channel, the slope initializer's dims
    ["one slope on [N, C, H, W]", "image(3, 4, 5)", "a: prelu", [2, 3, 4, 5], [0.3], 1, [1]],
    ["per channel on [N, C, H, W]", "image(3, 4, 5)", "a: prelu(3)", [2, 3, 4, 5], [0.5, -0.25, 2], 20, [3, 1, 1]],
    ["per channel on [N, C, D, H, W]", "volume(2, 3, 2, 2)", "a: prelu(2)", [2, 2, 3, 2, 2], [0.1, 3], 12, [2, 1, 1, 1]],
    ["per channel on [N, C]", "image(4, 2, 2)", "gap | a: prelu(4)", [2, 4, 2, 2], [1, 2, 3, 4], 1, [4]],
  ])("%s", async (_name, input, backbone, shape, slopes, inner, dims) => {
    const exported = exportWithSlopes(input, backbone, slopes);
    expect(exported.model!.graph!.node!.map((n) => n.opType)).toContain("PRelu");
    expect(exported.model!.graph!.initializer!.find((t) => t.name?.startsWith("backbone.a.weight"))!.dims!.map(Number)).toEqual(dims);
    const x = randomData(numel(shape), 3);
    const y = Object.values(await run(exported.bytes, shape, x))[0]!.data;
    const pooled = backbone.startsWith("gap");
    const source = pooled ? meanPerChannel(x, shape) : x;
    const expected = source.map((v, i) => (v > 0 ? v : slopes[slopes.length === 1 ? 0 : Math.floor(i / inner) % slopes.length]! * v));
    expect(maxAbsDiff(y, expected)).toBeLessThan(1e-6);
  });
});

function meanPerChannel(x: Float32Array, [n, c, ...spatial]: number[]): Float32Array {
  const size = numel(spatial);
  return Float32Array.from({ length: n! * c! }, (_, k) => x.slice(k * size, (k + 1) * size).reduce((a, b) => a + b, 0) / size);
}
