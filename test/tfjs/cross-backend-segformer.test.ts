/**
 * SegFormer in tfjs against onnxruntime (see cross-backend-segformer.ts): B0 at 64 × 64 in CI, the
 * others with `npm run cross-backend`.
 */
import { describe, expect, it } from "vitest";
import { compareSeg, runAll, type SegSpec } from "./cross-backend-segformer.js";

const specs: SegSpec[] = [
  { name: "segformer_b0", size: 64, ci: true },
  { name: "segformer_b1", size: 64, ci: false },
  { name: "segformer_b2", size: 64, ci: false },
];

describe("tfjs against onnxruntime, SegFormer", () => {
  for (const spec of specs) {
    it.runIf(runAll || spec.ci)(`${spec.name} at ${spec.size}×${spec.size}`, async () => {
      const r = await compareSeg(spec);
      expect(r.output).toEqual([2, 4, spec.size, spec.size]);
      expect(r.relative).toBeLessThanOrEqual(1e-4);
    }, 600_000);
  }
});
