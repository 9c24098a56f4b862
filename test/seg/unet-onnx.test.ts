/** Every segmentation model exports to ONNX and runs in onnxruntime at a small size, batch 2. */
import { describe, expect, it } from "vitest";
import { exportText, run } from "../onnx/helpers.js";
import { modelText, segModels } from "./unet-models.js";

describe.each(segModels)("$name", (m) => {
  it(`runs in onnxruntime at ${m.small}x${m.small}`, async () => {
    const exported = exportText(modelText(m, m.small));
    const out = await run(exported.bytes, [2, m.channels, m.small, m.small]);
    const values = Object.values(out);
    expect(values).toHaveLength(m.outputs ?? 1);
    for (const v of values) {
      expect(v.dims).toEqual([2, m.classes, m.small, m.small]);
      expect(v.data.every(Number.isFinite)).toBe(true);
    }
  }, 60_000);
});
