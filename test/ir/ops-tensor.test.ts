import { describe, expect, it } from "vitest";
import { apply, failure, out } from "./op-harness.js";

describe("dropout and stochastic_depth", () => {
  it("keep the shape and store their rate", () => {
    expect(apply("dropout", {}, ["N", 512]).attrs).toEqual({ p: 0.5 });
    const r = apply("stochastic_depth", { p: 0.2 }, ["N", 24, 56, 56]);
    expect(r.outputs).toEqual([["N", 24, 56, 56]]);
    expect(r.attrs).toEqual({ p: 0.2, mode: "row" });
  });
});

describe("add and mul", () => {
  it("combine equal shapes", () => {
    const r = apply("add", {}, ["N", 64, 56, 56], ["N", 64, 56, 56], ["N", 64, 56, 56]);
    expect(r.outputs).toEqual([["N", 64, 56, 56]]);
    expect(r.attrs).toEqual({ broadcast: false });
  });

  it("broadcast squeeze-excitation scales and position embeddings", () => {
    const se = apply("mul", {}, ["N", 64, 56, 56], ["N", 64, 1, 1]);
    expect(se.outputs).toEqual([["N", 64, 56, 56]]);
    expect(se.attrs).toEqual({ broadcast: true });
    expect(out("mul", {}, ["N", 64], ["N", 64, 7, 7])).toEqual(["N", 64, 7, 7]);
    expect(out("add", {}, ["N", 197, 768], [1, 197, 768])).toEqual(["N", 197, 768]);
    expect(out("add", {}, ["N", 16, "?", "?"], ["N", 16, 32, 32])).toEqual(["N", 16, 32, 32]);
  });

  it("name both shapes and the dim on a mismatch", () => {
    const e = failure("add", {}, ["N", 64, 56, 56], ["N", 128, 28, 28]);
    // The channel dim differs first: a channel mismatch.
    expect(e.code).toBe("MEDG301");
    expect(e.message).toContain("dim 1 differs: 64 in [N, 64, 56, 56] from in0 vs 128 in [N, 128, 28, 28] from in1");
    // [N, C] lines up with dims 0 and 1, not with the trailing dims.
    expect(failure("mul", {}, ["N", 7], ["N", 64, 7, 7]).code).toBe("MEDG305");
    expect(failure("add", {}, ["N", 64, 56, 56], ["N", 64, 28, 28]).code).toBe("MEDG305");
  });

  it("need two inputs", () => {
    const e = failure("add", {}, ["N", 8]);
    expect(e.code).toBe("MEDG307");
    expect(e.message).toBe("add expects 2 or more inputs, got 1");
  });
});

describe("concat", () => {
  it("sums the axis and keeps the rest", () => {
    const r = apply("concat", {}, ["N", 64, 28, 28], ["N", 32, 28, 28], ["N", 32, 28, 28]);
    expect(r.outputs).toEqual([["N", 128, 28, 28]]);
    expect(r.attrs).toEqual({ axis: 1 });
    expect(out("concat", { axis: -2 }, ["N", 1, 768], ["N", 196, 768])).toEqual(["N", 197, 768]);
    expect(out("concat", {}, ["N", "C", 8, 8], ["N", 4, 8, 8])).toEqual(["N", "?", 8, 8]);
  });

  it("names the differing dim, both sizes and their sources", () => {
    const e = failure("concat", {}, ["N", 64, 28, 28], ["N", 32, 14, 14]);
    expect(e.code).toBe("MEDG305");
    expect(e.message).toBe(
      "concat along dim 1 needs every other dim equal, but dim 2 is 28 in [N, 64, 28, 28] from in0 and 14 in [N, 32, 14, 14] from in1",
    );
    expect(failure("concat", {}, ["N", 64, 28, 28], ["N", 64]).code).toBe("MEDG302");
  });
});

describe("split", () => {
  it("splits into equal parts or listed sizes", () => {
    const halves = apply("split", { sizes: 2 }, ["N", 64, 8, 8]);
    expect(halves.outputs).toEqual([
      ["N", 32, 8, 8],
      ["N", 32, 8, 8],
    ]);
    expect(halves.attrs).toEqual({ axis: 1, sizes: [32, 32] });
    expect(apply("split", { sizes: [16, 48] }, ["N", 64, 8, 8]).outputs).toEqual([
      ["N", 16, 8, 8],
      ["N", 48, 8, 8],
    ]);
    expect(apply("split", { sizes: 3, axis: -1 }, ["N", 197, 2304]).outputs).toEqual([
      ["N", 197, 768],
      ["N", 197, 768],
      ["N", 197, 768],
    ]);
  });

  it("rejects sizes that do not cover the dim", () => {
    const e = failure("split", { sizes: [16, 16] }, ["N", 64, 8, 8]);
    expect(e.code).toBe("MEDG305");
    expect(e.message).toBe("split sizes [16, 16] sum to 32, but dim 1 of [N, 64, 8, 8] from in0 is 64");
    expect(failure("split", { sizes: 3 }, ["N", 64, 8, 8]).code).toBe("MEDG305");
  });
});

describe("reshape", () => {
  it("keeps the batch and infers -1", () => {
    const r = apply("reshape", { shape: [-1] }, ["N", 512, 1, 1]);
    expect(r.outputs).toEqual([["N", 512]]);
    expect(r.attrs).toEqual({ shape: [512] });
    expect(out("reshape", { shape: [8, -1] }, ["N", 64, 4])).toEqual(["N", 8, 32]);
    expect(out("reshape", { shape: [0, -1] }, ["N", 768, 14, 14])).toEqual(["N", 768, 196]);
  });

  it("copies symbolic dims with 0 and leaves unknowable sizes symbolic", () => {
    expect(out("reshape", { shape: [0, -1] }, ["N", "T", 8, 4])).toEqual(["N", "T", 32]);
    expect(out("reshape", { shape: [0, -1] }, ["N", 768, "H", "W"])).toEqual(["N", 768, "?"]);
  });

  it("rejects element counts that do not match", () => {
    const e = failure("reshape", { shape: [3, 100] }, ["N", 512]);
    expect(e.code).toBe("MEDG305");
    expect(e.message).toBe("reshape to [3, 100] holds 300 elements per sample, but [N, 512] from in0 has 512");
    expect(failure("reshape", { shape: [7, -1] }, ["N", 50]).code).toBe("MEDG305");
    expect(failure("reshape", { shape: [-1, -1] }, ["N", 50]).code).toBe("MEDG306");
  });
});

describe("flatten", () => {
  it("merges start..end inclusive", () => {
    expect(out("flatten", {}, ["N", 512, 7, 7])).toEqual(["N", 25088]);
    expect(out("flatten", { start: 2 }, ["N", 768, 14, 14])).toEqual(["N", 768, 196]);
    expect(apply("flatten", { start: 1, end: 2 }, ["N", 2, 3, 4]).outputs).toEqual([["N", 6, 4]]);
  });

  it("never merges the batch", () => {
    const e = failure("flatten", { start: 0 }, ["N", 512, 7, 7]);
    expect(e.code).toBe("MEDG306");
    expect(e.message).toContain("batch");
    expect(failure("flatten", { start: 2, end: 1 }, ["N", 512, 7, 7]).code).toBe("MEDG306");
  });
});

describe("permute and transpose", () => {
  it("reorders dims", () => {
    const r = apply("permute", { dims: [0, 2, 3, 1] }, ["N", 96, 56, 28]);
    expect(r.outputs).toEqual([["N", 56, 28, 96]]);
    expect(r.attrs).toEqual({ perm: [0, 2, 3, 1] });
    const t = apply("transpose", { a: 1, b: 2 }, ["N", 768, 196]);
    expect(t.outputs).toEqual([["N", 196, 768]]);
    expect(t.attrs).toEqual({ perm: [0, 2, 1] });
    expect(out("transpose", { a: -1, b: -2 }, ["N", 3, 4, 5])).toEqual(["N", 3, 5, 4]);
  });

  it("rejects bad permutations", () => {
    expect(failure("permute", { dims: [1, 0, 2, 3] }, ["N", 3, 4, 5]).message).toBe(
      "permute must keep the batch dim first, got dims [1, 0, 2, 3]",
    );
    expect(failure("permute", { dims: [0, 1, 1, 3] }, ["N", 3, 4, 5]).code).toBe("MEDG306");
    const e = failure("permute", { dims: [0, 2, 1] }, ["N", 3, 4, 5]);
    expect(e.code).toBe("MEDG302");
    expect(e.message).toBe("permute dims [0, 2, 1] has 3 entries, but [N, 3, 4, 5] from in0 has rank 4");
    expect(failure("transpose", { a: 0, b: 1 }, ["N", 3, 4]).code).toBe("MEDG306");
  });
});

describe("resize", () => {
  it("scales or sets the spatial size", () => {
    const r = apply("resize", { scale: 2, mode: "bilinear" }, ["N", 256, 14, 14]);
    expect(r.outputs).toEqual([["N", 256, 28, 28]]);
    expect(r.attrs).toEqual({ rank: 2, mode: "bilinear", alignCorners: false, sizes: [28, 28], scales: [2, 2] });
    expect(out("resize", { size: [224, 192] }, ["N", 3, 100, 100])).toEqual(["N", 3, 224, 192]);
    expect(out("resize", { size: 64, mode: "trilinear" }, ["N", 1, 32, 32, 32])).toEqual(["N", 1, 64, 64, 64]);
    // PyTorch floors: 7 · 0.5 = 3.5 → 3.
    expect(out("upsample", { scale: 0.5 }, ["N", 8, 7, 7])).toEqual(["N", 8, 3, 3]);
  });

  it("rejects conflicting arguments and modes for another rank", () => {
    expect(failure("resize", { mode: "bilinear", scale: 2 }, ["N", 1, 8, 8, 8]).code).toBe("MEDG302");
    expect(failure("resize", { scale: 2, size: 4 }, ["N", 1, 8, 8]).message).toBe("resize needs exactly one of scale and size, got both");
    expect(failure("resize", {}, ["N", 1, 8, 8]).message).toBe("resize needs exactly one of scale and size, got neither");
    expect(failure("resize", { scale: 2, align_corners: true }, ["N", 1, 8, 8]).code).toBe("MEDG306");
  });
});

describe("pad", () => {
  it("reads pads last dim first, as F.pad", () => {
    const r = apply("pad", { pads: [1, 1, 2, 2] }, ["N", 3, 32, 30]);
    expect(r.outputs).toEqual([["N", 3, 36, 32]]);
    expect(r.attrs).toEqual({ mode: "constant", value: 0, pads: [1, 1, 2, 2], begin: [0, 0, 2, 1], end: [0, 0, 2, 1] });
    expect(out("pad", { pads: [1, 2], mode: "reflect" }, ["N", 3, 4, 4])).toEqual(["N", 3, 4, 7]);
    expect(out("pad", { pads: [0, 0, 0, 0, 1, 1] }, ["N", 3, 8, 8])).toEqual(["N", 5, 8, 8]);
  });

  it("rejects reflection past the edge and malformed pads", () => {
    const e = failure("pad", { pads: [4, 0], mode: "reflect" }, ["N", 3, 4, 4]);
    expect(e.code).toBe("MEDG303");
    expect(e.message).toBe("pad reflect padding 4 must be smaller than dim 3 (4) of [N, 3, 4, 4] from in0");
    expect(failure("pad", { pads: [1, 1, 1] }, ["N", 3, 4, 4]).code).toBe("MEDG306");
    expect(failure("pad", { pads: [0, 0, 0, 0, 1, 1], mode: "replicate" }, ["N", 3, 4, 4]).code).toBe("MEDG302");
  });
});

describe("gray_to_rgb and repeat_channels", () => {
  it("repeat channels", () => {
    const r = apply("gray_to_rgb", {}, ["N", 1, 224, 224]);
    expect(r.outputs).toEqual([["N", 3, 224, 224]]);
    expect(r.attrs).toEqual({ repeats: 3 });
    expect(out("repeat_channels", { n: 4 }, ["N", 2, 8, 8])).toEqual(["N", 8, 8, 8]);
  });

  it("gray_to_rgb names the channel count it got", () => {
    const e = failure("gray_to_rgb", {}, ["N", 3, 224, 224]);
    expect(e.code).toBe("MEDG301");
    expect(e.message).toBe("gray_to_rgb expects 1 channel (grayscale), got 3 channels in [N, 3, 224, 224] from in0");
    expect(e.hint).toContain("already has 3 channels");
  });
});
