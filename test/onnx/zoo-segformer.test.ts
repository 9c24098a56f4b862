/** SegFormer-B0/B1/B2 export to ONNX and run in onnxruntime (64 px: stage maps of 16 down to 2). */
import { describe, it } from "vitest";
import { checkSegmenter } from "./zoo-segformer-check.js";

describe("ONNX export of SegFormer", () => {
  it.each(["segformer_b0", "segformer_b1", "segformer_b2"])("%s at 64 px", async (name) => checkSegmenter(name, 64, 3));
});
