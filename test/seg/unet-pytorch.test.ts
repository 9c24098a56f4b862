/**
 * The U-Net family computes what its reference computes: small configurations with every parameter
 * and buffer set from its name (synthetic below; test/reference/seg/manifest.py gave the PyTorch
 * models the same values and stored their eval-mode outputs in fixtures/unet_*.expected.safetensors)
 * run through ONNX export and onnxruntime on the same input.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readSafetensorsSync, writeSafetensorsSync } from "../../src/weights/safetensors.js";
import { compileText, errors } from "../helpers/compile.js";
import { exportText, randomData, run } from "../onnx/helpers.js";
import { smallCases as cases } from "./unet-models.js";

function fnv1a(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/** manifest.py's synthetic(): values from randomData seeded by the name's FNV-1a hash. */
function synthetic(name: string, shape: readonly number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = randomData(n, fnv1a(name));
  // PReLU slopes, well away from 0 (ReLU) and 1 (identity).
  if (name.endsWith(".A.weight")) return u.map((v) => 0.25 + 0.2 * v);
  if (name.endsWith("running_var") || (name.endsWith(".weight") && shape.length === 1)) return u.map((v) => 1 + 0.5 * v);
  if (shape.length >= 2) return u.map((v) => v / Math.sqrt(n / shape[0]!));
  return u.map((v) => 0.2 * v);
}

const scratch = mkdtempSync(join(tmpdir(), "medg-unet-"));


describe("U-Net family against PyTorch", () => {
  it.each(cases)("$fixture", async ({ fixture, channels, size, roles }) => {
    const text = `model m {\n  input image(${channels}, ${size}, ${size})\n  ${roles}\n}\n`;
    const probe = compileText(text);
    expect(errors(probe)).toEqual([]);
    const params = [...probe.models[0]!.graph.params.values()];
    const file = join(scratch, `${fixture}.safetensors`);
    const written = writeSafetensorsSync(file, params.map((p) => ({ name: p.name, shape: p.shape, data: synthetic(p.name, p.shape) })));
    if (!written.ok) throw new Error(written.error.message);
    const exported = exportText(text, { weights: [{ file }] });
    expect(exported.compileDiagnostics.filter((d) => d.code.startsWith("MEDG60")).map((d) => d.message)).toEqual([]);
    expect(exported.loaded).toBe(params.length);
    const got = Object.values(await run(exported.bytes, [1, channels, size, size], randomData(channels * size * size, 1)));
    const want = readSafetensorsSync(fileURLToPath(new URL(`./fixtures/${fixture}.expected.safetensors`, import.meta.url)));
    if (!want.ok) throw new Error(want.error.message);
    expect(got).toHaveLength(want.value.tensors.size);
    got.forEach((out, i) => {
      const ref = want.value.tensors.get(`output${i}`)!;
      expect(out.dims).toEqual([...ref.shape]);
      let err = 0;
      let scale = 0;
      for (let j = 0; j < ref.data.length; j++) {
        err = Math.max(err, Math.abs(out.data[j]! - ref.data[j]!));
        scale = Math.max(scale, Math.abs(ref.data[j]!));
      }
      expect(err / scale).toBeLessThan(1e-4);
    });
  }, 60_000);
});
