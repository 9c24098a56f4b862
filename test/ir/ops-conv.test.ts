import { describe, expect, it } from "vitest";
import { apply, failure, out, paramTable } from "./op-harness.js";

describe("conv", () => {
  it("keeps 56×56 with the default padding and counts torchvision's MACs", () => {
    const r = apply("conv", { out: 64, k: 3 }, ["N", 64, 56, 56]);
    expect(r.outputs).toEqual([["N", 64, 56, 56]]);
    expect(r.attrs).toEqual({
      rank: 2,
      in: 64,
      out: 64,
      kernel: [3, 3],
      strides: [1, 1],
      pads: [1, 1, 1, 1],
      dilations: [1, 1],
      group: 1,
      bias: true,
    });
    // 64 · 56 · 56 outputs × 64 · 3 · 3 products each.
    expect(r.macs).toBe(115_605_504);
    expect(paramTable(r.params)).toEqual([
      ["weight", [64, 64, 3, 3], false],
      ["bias", [64], false],
    ]);
    expect(r.params.map((p) => p.init.kind)).toEqual(["uniform_fan_in", "uniform_fan_in"]);
  });

  it("computes a strided stem like resnet's conv1", () => {
    const r = apply("conv", { out: 64, k: 7, s: 2, p: 3, bias: false }, ["N", 3, 224, 224]);
    expect(r.outputs).toEqual([["N", 64, 112, 112]]);
    expect(paramTable(r.params)).toEqual([["weight", [64, 3, 7, 7], false]]);
    expect(r.macs).toBe(64 * 112 * 112 * 3 * 49);
  });

  it("is rank-generic: 1d and 3d", () => {
    // (100 + 2·2 − 4 − 1) // 2 + 1 = 50
    expect(out("conv", { out: 16, k: 5, s: 2 }, ["N", 8, 100])).toEqual(["N", 16, 50]);
    const r = apply("conv", { out: 32, k: [3, 1, 1], p: [1, 0, 0] }, ["N", 4, 16, 64, 64]);
    expect(r.outputs).toEqual([["N", 32, 16, 64, 64]]);
    expect(r.params[0]!.shape).toEqual([32, 4, 3, 1, 1]);
    expect(r.attrs["pads"]).toEqual([1, 0, 0, 1, 0, 0]);
    expect(r.attrs["rank"]).toBe(3);
  });

  it("pads (k - 1) // 2 · d by default", () => {
    const dilated = apply("conv", { out: 8, k: 3, d: 2 }, ["N", 8, 32, 32]);
    expect(dilated.attrs["pads"]).toEqual([2, 2, 2, 2]);
    expect(dilated.outputs).toEqual([["N", 8, 32, 32]]);
    // Even kernel: padding 1, so 32 + 2 − 3 − 1 + 1 = 31, as Conv2dNormActivation gives.
    expect(out("conv", { out: 8, k: 4 }, ["N", 3, 32, 32])).toEqual(["N", 8, 31, 31]);
  });

  it("divides weights and MACs by groups", () => {
    const r = apply("conv", { out: 64, k: 3, g: 32 }, ["N", 128, 28, 28]);
    expect(r.params[0]!.shape).toEqual([64, 4, 3, 3]);
    expect(r.macs).toBe(1_806_336);
  });

  it("keeps symbolic spatial dims symbolic", () => {
    expect(out("conv", { out: 16, k: 3 }, ["N", 3, "H", "W"])).toEqual(["N", 16, "H", "W"]);
    expect(out("conv", { out: 16, k: 3, s: 2 }, ["N", 3, "H", "W"])).toEqual(["N", 16, "?", "?"]);
  });

  it("rejects a pooled input with a rank message naming the input", () => {
    const e = failure("conv", { out: 64, k: 3 }, ["N", 512]);
    expect(e.code).toBe("MEDG302");
    expect(e.message).toBe("conv expects an input of rank 3, 4 or 5 ([N, C, ...spatial]), got [N, 512] from in0");
  });

  it("rejects groups that do not divide the channels", () => {
    const e = failure("conv", { out: 64, k: 3, g: 3 }, ["N", 64, 8, 8]);
    expect(e.code).toBe("MEDG306");
    expect(e.message).toBe("conv g=3 must divide the input channels 64 of [N, 64, 8, 8] from in0");
    expect(failure("conv", { out: 30, k: 3, g: 4 }, ["N", 64, 8, 8]).message).toContain("output channels 30");
  });

  it("rejects a kernel larger than the padded input", () => {
    const e = failure("conv", { out: 64, k: 7, p: 0 }, ["N", 3, 4, 4]);
    expect(e.code).toBe("MEDG303");
    expect(e.message).toBe("conv kernel 7 is larger than the padded height 4 (4 + padding 0) of [N, 3, 4, 4] from in0");
  });

  it("rejects a kernel list of the wrong length and an unknown channel count", () => {
    const e = failure("conv", { out: 8, k: [3, 3] }, ["N", 1, 16, 16, 16]);
    expect(e.code).toBe("MEDG302");
    expect(e.message).toContain("k=[3, 3] has 2 entries");
    expect(e.message).toContain("3 spatial dims");
    expect(failure("conv", { out: 8, k: 3 }, ["N", "C", 16, 16]).code).toBe("MEDG301");
    expect(failure("conv", { out: 8, k: 0 }, ["N", 3, 16, 16]).code).toBe("MEDG306");
  });
});

describe("dwconv", () => {
  it("uses one group per channel", () => {
    const r = apply("dwconv", { k: 3 }, ["N", 32, 112, 112]);
    expect(r.outputs).toEqual([["N", 32, 112, 112]]);
    expect(r.attrs["group"]).toBe(32);
    expect(paramTable(r.params)).toEqual([
      ["weight", [32, 1, 3, 3], false],
      ["bias", [32], false],
    ]);
    expect(r.macs).toBe(32 * 112 * 112 * 9);
  });

  it("multiplies channels and strides", () => {
    const r = apply("dwconv", { k: 5, s: 2, mult: 2, bias: false }, ["N", 16, 15, 15]);
    // (15 + 4 − 4 − 1) // 2 + 1 = 8
    expect(r.outputs).toEqual([["N", 32, 8, 8]]);
    expect(paramTable(r.params)).toEqual([["weight", [32, 1, 5, 5], false]]);
  });
});

describe("conv_transpose", () => {
  it("doubles the size with its defaults and stores the weight as [in, out / g, ...k]", () => {
    const r = apply("conv_transpose", { out: 64 }, ["N", 128, 28, 28]);
    expect(r.outputs).toEqual([["N", 64, 56, 56]]);
    expect(paramTable(r.params)).toEqual([
      ["weight", [128, 64, 2, 2], false],
      ["bias", [64], false],
    ]);
    // 128 · 28 · 28 inputs × 64 · 2 · 2 each.
    expect(r.macs).toBe(25_690_112);
    expect(r.attrs["outputPadding"]).toEqual([0, 0]);
  });

  it("follows PyTorch's size formula with padding and output padding", () => {
    // (14 − 1)·2 − 2 + 2 + 1 + 1 = 28
    expect(out("conv_transpose", { out: 32, k: 3, s: 2, p: 1, output_padding: 1 }, ["N", 64, 14, 14])).toEqual(["N", 32, 28, 28]);
    expect(out("conv_transpose", { out: 8 }, ["N", 16, 4, 8, 8])).toEqual(["N", 8, 8, 16, 16]);
  });

  it("groups", () => {
    const r = apply("conv_transpose", { out: 64, g: 2 }, ["N", 128, 8, 8]);
    expect(r.params[0]!.shape).toEqual([128, 32, 2, 2]);
    expect(r.macs).toBe(128 * 64 * 32 * 4);
  });

  it("rejects an output padding as large as the stride", () => {
    const e = failure("conv_transpose", { out: 8, output_padding: 2 }, ["N", 16, 8, 8]);
    expect(e.code).toBe("MEDG306");
    expect(e.message).toContain("output_padding 2");
  });
});
