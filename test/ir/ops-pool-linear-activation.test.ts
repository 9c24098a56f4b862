import { describe, expect, it } from "vitest";
import { apply, failure, out, paramTable } from "./op-harness.js";

describe("activations", () => {
  const names = ["relu", "relu6", "leaky_relu", "gelu", "silu", "sigmoid", "hardswish", "hardsigmoid", "tanh", "softmax", "identity"];
  it.each(names)("%s keeps the shape and has no parameters or MACs", (name) => {
    const r = apply(name, {}, ["N", 16, 7, 7]);
    expect(r.outputs).toEqual([["N", 16, 7, 7]]);
    expect(r.params).toEqual([]);
    expect(r.macs).toBe(0);
  });

  it("stores the arguments backends need", () => {
    expect(apply("gelu", {}, ["N", 4]).attrs).toEqual({ approximate: "none" });
    expect(apply("gelu", { approximate: "tanh" }, ["N", 4]).attrs).toEqual({ approximate: "tanh" });
    expect(apply("leaky_relu", {}, ["N", 4]).attrs).toEqual({ slope: 0.01 });
    expect(apply("softmax", { axis: -1 }, ["N", 197, 197]).attrs).toEqual({ axis: 2 });
  });

  it("prelu has PyTorch's one slope (init 0.25) by default, or one per channel, and no MACs", () => {
    const one = apply("prelu", {}, ["N", 16, 7, 7]);
    expect(one.outputs).toEqual([["N", 16, 7, 7]]);
    expect(one.attrs).toEqual({ num_parameters: 1, init: 0.25 });
    expect(one.params).toEqual([{ name: "weight", shape: [1], init: { kind: "constant", value: 0.25 } }]);
    expect(one.macs).toBe(0);
    expect(apply("prelu", {}, ["N"]).outputs).toEqual([["N"]]);
    const each = apply("prelu", { num_parameters: 16, init: 0.1 }, ["N", 16, 7, 7]);
    expect(each.params).toEqual([{ name: "weight", shape: [16], init: { kind: "constant", value: 0.1 } }]);
    expect(apply("prelu", { num_parameters: 8 }, ["N", 8]).params[0]!.shape).toEqual([8]);
  });

  it("rejects per-channel prelu slopes that do not match the channels", () => {
    const e = failure("prelu", { num_parameters: 8 }, ["N", 16, 7, 7]);
    expect(e.code).toBe("MEDG301");
    expect(e.message).toBe("prelu(num_parameters=8) needs 1 or the 16 channels (dim 1) of [N, 16, 7, 7] from in0");
    expect(failure("prelu", { num_parameters: 4 }, ["N"]).code).toBe("MEDG302");
  });

  it("rejects a softmax axis out of range", () => {
    const e = failure("softmax", { axis: 3 }, ["N", 10]);
    expect(e.code).toBe("MEDG306");
    expect(e.message).toBe("softmax axis=3 is out of range for [N, 10] from in0 (rank 2)");
  });
});

describe("maxpool and avgpool", () => {
  it("downsamples like resnet's stem pool", () => {
    const r = apply("maxpool", { k: 3, s: 2, p: 1 }, ["N", 64, 112, 112]);
    expect(r.outputs).toEqual([["N", 64, 56, 56]]);
    expect(r.attrs).toEqual({ rank: 2, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], ceil: false });
    expect(r.macs).toBe(0);
  });

  it("defaults the stride to the kernel and rounds up in ceil mode", () => {
    expect(out("maxpool", { k: 2 }, ["N", 64, 7, 7])).toEqual(["N", 64, 3, 3]);
    expect(out("maxpool", { k: 2, ceil: true }, ["N", 64, 7, 7])).toEqual(["N", 64, 4, 4]);
    // ceil(5 / 2) + 1 = 4, but the 4th window would start in the right padding: 3.
    expect(out("maxpool", { k: 2, s: 2, p: 1, ceil: true }, ["N", 1, 5])).toEqual(["N", 1, 3]);
  });

  it("dilates max pooling", () => {
    // 10 − 2·2 − 1 + 1 = 6
    expect(out("maxpool", { k: 3, s: 1, d: 2 }, ["N", 4, 10])).toEqual(["N", 4, 6]);
  });

  it("pools 3d volumes and records count_include_pad", () => {
    const r = apply("avgpool", { k: 2 }, ["N", 8, 8, 8, 8]);
    expect(r.outputs).toEqual([["N", 8, 4, 4, 4]]);
    expect(r.attrs["countIncludePad"]).toBe(true);
  });

  it("rejects oversized padding and windows that do not fit", () => {
    const e = failure("maxpool", { k: 3, p: 2 }, ["N", 4, 8, 8]);
    expect(e.code).toBe("MEDG306");
    expect(e.message).toBe("maxpool padding 2 must be at most half the kernel size 3");
    const small = failure("maxpool", { k: 3 }, ["N", 4, 2, 2]);
    expect(small.code).toBe("MEDG303");
    expect(small.message).toContain("[N, 4, 2, 2] from in0");
  });
});

describe("global and adaptive pools", () => {
  it("gap and gmp pool and flatten", () => {
    expect(out("gap", {}, ["N", 2048, 7, 7])).toEqual(["N", 2048]);
    expect(out("gmp", {}, ["N", 32, 4, 4, 4])).toEqual(["N", 32]);
    const e = failure("gap", {}, ["N", 2048]);
    expect(e.code).toBe("MEDG302");
    expect(e.message).toBe("gap expects an input of rank 3, 4 or 5 ([N, C, ...spatial]), got [N, 2048] from in0");
    expect(e.hint).toBe("the input is already pooled to [N, C]");
  });

  it("adaptive pools to a fixed size", () => {
    expect(out("adaptive_avgpool", { size: 1 }, ["N", 512, 7, 7])).toEqual(["N", 512, 1, 1]);
    expect(out("adaptive_maxpool", { size: [2, 3] }, ["N", 8, "H", "W"])).toEqual(["N", 8, 2, 3]);
    expect(failure("adaptive_avgpool", { size: [2, 3, 4] }, ["N", 8, 7, 7]).code).toBe("MEDG302");
  });
});

describe("linear", () => {
  it("maps pooled features", () => {
    const r = apply("linear", { out: 1000 }, ["N", 2048]);
    expect(r.outputs).toEqual([["N", 1000]]);
    expect(r.attrs).toEqual({ in: 2048, out: 1000, bias: true });
    expect(paramTable(r.params)).toEqual([
      ["weight", [1000, 2048], false],
      ["bias", [1000], false],
    ]);
    expect(r.macs).toBe(2_048_000);
  });

  it("acts on the last dim of tokens and channels-last maps", () => {
    const tokens = apply("linear", { out: 3072 }, ["N", 197, 768]);
    expect(tokens.outputs).toEqual([["N", 197, 3072]]);
    // 3072 · 768 per token, 197 tokens.
    expect(tokens.macs).toBe(464_781_312);
    const map = apply("linear", { out: 10, bias: false }, ["N", 4, 4, 32]);
    expect(map.outputs).toEqual([["N", 4, 4, 10]]);
    expect(map.macs).toBe(5120);
    expect(paramTable(map.params)).toEqual([["weight", [10, 32], false]]);
  });

  it("needs rank 2 or more and a known feature size", () => {
    const e = failure("linear", { out: 10 }, ["N"]);
    expect(e.code).toBe("MEDG302");
    expect(e.message).toBe("linear expects an input of rank 2 or more ([N, ..., C]), got [N] from in0");
    expect(failure("linear", { out: 10 }, ["N", "C"]).code).toBe("MEDG301");
  });
});
