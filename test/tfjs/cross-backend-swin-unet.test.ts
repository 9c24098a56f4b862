/**
 * Swin-UNet in tfjs against onnxruntime (see cross-backend-segformer.ts): at 32 × 32 in CI (the
 * first scale's 8 × 8 map padded to shifted 7 × 7 windows, one window the size of the map below),
 * at its native 224 × 224 with `npm run cross-backend` (6.1 G multiply-accumulates per image,
 * over a minute on pure-JS tfjs).
 */
import { describe, expect, it } from "vitest";
import { compareSeg, runAll, type SegSpec } from "./cross-backend-segformer.js";

const specs: SegSpec[] = [
  { name: "swin_unet", size: 32, ci: true },
  { name: "swin_unet", size: 224, ci: false, batch: 1 },
];

describe("tfjs against onnxruntime, Swin-UNet", () => {
  for (const spec of specs) {
    it.runIf(runAll || spec.ci)(`${spec.name} at ${spec.size}×${spec.size}`, async () => {
      const r = await compareSeg(spec);
      expect(r.output).toEqual([spec.batch ?? 2, 4, spec.size, spec.size]);
      expect(r.relative).toBeLessThanOrEqual(1e-4);
    }, 600_000);
  }
});
