/** Swin-UNet exports to ONNX and runs in onnxruntime at its native 224 px. */
import { describe, it } from "vitest";
import { checkSegmenter } from "./zoo-segformer-check.js";

describe("ONNX export of Swin-UNet", () => {
  it("swin_unet at 224 px", async () => checkSegmenter("swin_unet", 224, 9));
});
