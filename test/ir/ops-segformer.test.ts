/**
 * sr_attention's shape rule, parameters (Hugging Face's names, order and init) and MACs; the
 * official Swin code's square relative_position_index on window_attention.
 */
import { describe, expect, it } from "vitest";
import type { NodeView, OpDef } from "../../src/ir/op.js";
import { opNames, opTable } from "../../src/ir/ops/index.js";
import { formatShape, tensor, type Shape } from "../../src/ir/types.js";

const op = (name: string): OpDef => opTable.get(name)!;

function infer(name: string, shape: Shape, args: Record<string, unknown>) {
  const def = op(name);
  const bound: Record<string, unknown> = {};
  for (const spec of def.args) bound[spec.name] = spec.name in args ? args[spec.name] : spec.default;
  const result = def.infer({ args: bound, inputs: [tensor(shape)], describe: () => `${formatShape(shape)} from x` });
  if ("error" in result) return { error: result.error };
  const node: NodeView = { attrs: result.attrs, inputs: [tensor(shape)], outputs: result.outputs.map((s) => tensor(s)) };
  return { outputs: result.outputs, attrs: result.attrs, params: def.params?.(node) ?? [], macs: def.macs?.(node) ?? 0 };
}

function ok(name: string, shape: Shape, args: Record<string, unknown>) {
  const r = infer(name, shape, args);
  if ("error" in r) throw new Error(r.error!.message);
  return r;
}

describe("sr_attention", () => {
  it("is in the op table and the literal op names", () => {
    expect(opNames).toContain("sr_attention");
    expect(op("sr_attention").inputs).toBe(1);
  });

  it("keeps the map's shape and reduces keys and values by sr (SegFormer-B0's first stage)", () => {
    const r = ok("sr_attention", ["N", 128, 128, 32], { heads: 1, sr: 8 });
    expect(r.outputs).toEqual([["N", 128, 128, 32]]);
    expect(r.attrs).toMatchObject({ dim: 32, heads: 1, head_dim: 32, sr: 8, size: [128, 128], reduced: [16, 16], tokens: 16384, kv_tokens: 256, eps: 1e-5 });
    expect(r.attrs.scale).toBeCloseTo(32 ** -0.5, 12);
  });

  it("has HF's parameters in its state_dict order: query, key, value, sr, layer_norm", () => {
    const r = ok("sr_attention", ["N", 16, 16, 64], { heads: 2, sr: 4 });
    expect(r.params.map((p) => [p.name, p.shape])).toEqual([
      ["query.weight", [64, 64]],
      ["query.bias", [64]],
      ["key.weight", [64, 64]],
      ["key.bias", [64]],
      ["value.weight", [64, 64]],
      ["value.bias", [64]],
      ["sr.weight", [64, 64, 4, 4]],
      ["sr.bias", [64]],
      ["layer_norm.weight", [64]],
      ["layer_norm.bias", [64]],
    ]);
    // SegformerPreTrainedModel._init_weights.
    expect(r.params.map((p) => p.init.kind)).toEqual(["normal", "zeros", "normal", "zeros", "normal", "zeros", "normal", "zeros", "ones", "zeros"]);
  });

  it("has no reduction without sr and no biases without qkv_bias", () => {
    expect(ok("sr_attention", ["N", 4, 4, 8], { heads: 2 }).params.map((p) => p.name)).toEqual(["query.weight", "query.bias", "key.weight", "key.bias", "value.weight", "value.bias"]);
    expect(ok("sr_attention", ["N", 4, 4, 8], { heads: 2, sr: 2, qkv_bias: false }).params.map((p) => p.name)).toEqual([
      "query.weight",
      "key.weight",
      "value.weight",
      "sr.weight",
      "sr.bias",
      "layer_norm.weight",
      "layer_norm.bias",
    ]);
  });

  it("drops the rows and columns past the last whole reduction window, as nn.Conv2d does", () => {
    expect(ok("sr_attention", ["N", 7, 9, 6], { heads: 3, sr: 2 }).attrs).toMatchObject({ reduced: [3, 4], kv_tokens: 12 });
  });

  it("counts queries, the reduction conv, keys and values, and both attention products", () => {
    const [t, kv, c, sr] = [64 * 64, 8 * 8, 64, 8];
    expect(ok("sr_attention", ["N", 64, 64, c], { heads: 1, sr }).macs).toBe(t * c * c + kv * c * c * sr * sr + 2 * kv * c * c + 2 * t * kv * c);
    expect(ok("sr_attention", ["N", 4, 4, 8], { heads: 1 }).macs).toBe(16 * 64 + 2 * 16 * 64 + 2 * 16 * 16 * 8);
  });

  it.each([
    [[2, 64, 32] as Shape, { heads: 1 }, "MEDG302", "sr_attention expects 1 input of rank 4 [N, H, W, C] (channels last), got [2, 64, 32] from x (permute the map to channels last first)"],
    [["N", 8, 8, 30] as Shape, { heads: 4 }, "MEDG306", "sr_attention(heads=4) needs heads to divide the channel count 30, got [N, 8, 8, 30] from x (30 / 4 = 7.50)"],
    [["N", 4, 6, 8] as Shape, { heads: 2, sr: 8 }, "MEDG306", "sr_attention(sr=8) reduces the map with a 8x8 stride-8 conv, which needs at least 8x8 positions, got [N, 4, 6, 8] from x (use a larger input or a smaller reduction ratio)"],
  ])("diagnoses %j with %j", (shape, args, code, message) => {
    const r = infer("sr_attention", shape, args);
    expect("error" in r).toBe(true);
    const e = (r as { error: { code: string; message: string; hint?: string } }).error;
    expect([e.code, e.hint ? `${e.message} (${e.hint})` : e.message]).toEqual([code, message]);
  });
});

describe("window_attention index_shape", () => {
  it("stores relative_position_index as [n, n] for the official Swin code, [n * n] by default", () => {
    const index = (extra: Record<string, unknown>) => ok("window_attention", ["N", 14, 14, 96], { heads: 3, window: 7, ...extra }).params.find((p) => p.name === "relative_position_index")!;
    expect(index({}).shape).toEqual([2401]);
    expect(index({ index_shape: "square" }).shape).toEqual([49, 49]);
    expect(index({ index_shape: "square" }).init).toEqual({ kind: "computed", rule: "swin_relative_position_index" });
    expect(ok("window_attention", ["N", 14, 14, 96], { heads: 3 }).attrs).not.toHaveProperty("index_shape");
  });
});
