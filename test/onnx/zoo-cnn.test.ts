/** Every convolutional stdlib backbone exports to ONNX and runs in onnxruntime (64 × 64 inputs keep it fast). */
import { describe, it } from "vitest";
import { checkBackbone } from "./zoo-check.js";

const cnns = ["resnet18", "resnet34", "resnet50", "resnet101", "densenet121", "densenet169", "efficientnet_b0", "efficientnet_b1", "efficientnet_b3", "convnext_tiny", "convnext_small"];

describe("ONNX export of the CNN backbones", () => {
  it.each(cnns)("%s", async (name) => checkBackbone(name, 64));
});
