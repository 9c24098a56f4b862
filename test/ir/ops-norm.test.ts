import { describe, expect, it } from "vitest";
import { apply, failure, out, paramTable } from "./op-harness.js";

describe("bn", () => {
  it("has weight, bias, running_mean, running_var in state_dict order", () => {
    const r = apply("bn", {}, ["N", 64, 56, 56]);
    expect(r.outputs).toEqual([["N", 64, 56, 56]]);
    expect(paramTable(r.params)).toEqual([
      ["weight", [64], false],
      ["bias", [64], false],
      ["running_mean", [64], true],
      ["running_var", [64], true],
    ]);
    expect(r.params.map((p) => p.init.kind)).toEqual(["ones", "zeros", "zeros", "ones"]);
    expect(r.attrs).toMatchObject({ channels: 64, axis: 1, eps: 1e-5, momentum: 0.1 });
    expect(r.macs).toBe(0);
  });

  it("accepts ranks 2 to 5", () => {
    expect(out("bn", {}, ["N", 512])).toEqual(["N", 512]);
    expect(out("bn", {}, ["N", 8, 4, 4, 4])).toEqual(["N", 8, 4, 4, 4]);
    const e = failure("bn", {}, ["N"]);
    expect(e.code).toBe("MEDG302");
    expect(e.message).toBe("bn expects an input of rank 2, 3, 4 or 5 ([N, C, ...]), got [N] from in0");
  });

  it("checks a declared channel count", () => {
    expect(out("bn", { c: 64 }, ["N", 64, 8, 8])).toEqual(["N", 64, 8, 8]);
    const e = failure("bn", { c: 32 }, ["N", 64, 56, 56]);
    expect(e.code).toBe("MEDG301");
    expect(e.message).toBe("bn(c=32) expects 32 channels (dim 1), got 64 in [N, 64, 56, 56] from in0");
  });

  it("needs a static channel count", () => {
    const e = failure("bn", {}, ["N", "C", 8, 8]);
    expect(e.code).toBe("MEDG301");
    expect(e.message).toContain("known channel count");
  });
});

describe("gn", () => {
  it("has an affine weight and bias", () => {
    const r = apply("gn", { groups: 32 }, ["N", 64, 16, 16]);
    expect(paramTable(r.params)).toEqual([
      ["weight", [64], false],
      ["bias", [64], false],
    ]);
    expect(r.attrs).toMatchObject({ groups: 32, channels: 64 });
  });

  it("needs groups to divide the channels", () => {
    const e = failure("gn", { groups: 5 }, ["N", 64, 16, 16]);
    expect(e.code).toBe("MEDG306");
    expect(e.message).toBe("gn groups=5 must divide the 64 channels of [N, 64, 16, 16] from in0");
    expect(failure("gn", { groups: 8, c: 32 }, ["N", 64, 16, 16]).code).toBe("MEDG301");
  });
});

describe("ln", () => {
  it("normalises the last dim of tokens and channels-last maps", () => {
    const tokens = apply("ln", {}, ["N", 197, 768]);
    expect(tokens.outputs).toEqual([["N", 197, 768]]);
    expect(paramTable(tokens.params)).toEqual([
      ["weight", [768], false],
      ["bias", [768], false],
    ]);
    expect(tokens.attrs).toMatchObject({ axis: 2, channels: 768, eps: 1e-5, affine: true });
    expect(apply("ln", {}, ["N", 56, 56, 96]).params[0]!.shape).toEqual([96]);
    expect(apply("ln", { affine: false }, ["N", 197, 768]).params).toEqual([]);
  });

  it("catches a channels-first input through c", () => {
    const e = failure("ln", { c: 96 }, ["N", 96, 56, 56]);
    expect(e.code).toBe("MEDG301");
    expect(e.message).toBe("ln(c=96) expects 96 channels (dim 3), got 56 in [N, 96, 56, 56] from in0");
  });
});

describe("ln2d", () => {
  it("normalises dim 1 with eps 1e-6", () => {
    const r = apply("ln2d", {}, ["N", 96, 56, 56]);
    expect(r.outputs).toEqual([["N", 96, 56, 56]]);
    expect(r.attrs).toMatchObject({ axis: 1, channels: 96, eps: 1e-6 });
    expect(paramTable(r.params)).toEqual([
      ["weight", [96], false],
      ["bias", [96], false],
    ]);
    expect(failure("ln2d", {}, ["N", 96]).code).toBe("MEDG302");
  });
});

describe("instance_norm", () => {
  it("has parameters only when affine", () => {
    expect(apply("instance_norm", {}, ["N", 32, 8, 8, 8]).params).toEqual([]);
    expect(paramTable(apply("instance_norm", { affine: true }, ["N", 32, 8, 8, 8]).params)).toEqual([
      ["weight", [32], false],
      ["bias", [32], false],
    ]);
  });
});
