/**
 * Every transformer stdlib backbone exports to ONNX and runs in onnxruntime: ViT-B/16 and Swin-T
 * at their native 224 px, the others at 64 px (4 × 4 patches; Swin windows padded, shifts off
 * where one window covers the map).
 */
import { describe, it } from "vitest";
import { checkBackbone } from "./zoo-check.js";

const cases: [string, number][] = [
  ["vit_b_16", 224],
  ["deit_ti", 64],
  ["deit_s", 64],
  ["deit_b", 64],
  ["swin_t", 224],
  ["swin_s", 64],
];

describe("ONNX export of the transformer backbones", () => {
  it.each(cases)("%s at %i px", async (name, size) => checkBackbone(name, size));
});
