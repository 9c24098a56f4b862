import { describe, expect, it } from "vitest";
import type { InferResult, NodeView, OpContext, OpDef, ParamSpec } from "../../src/ir/op.js";
import { ops, swinRelativePositionIndex } from "../../src/ir/ops/transformer.js";
import { formatShape, tensor, type Shape } from "../../src/ir/types.js";

const op = (name: string): OpDef => {
  const found = ops.find((o) => o.name === name);
  if (!found) throw new Error(`no op ${name}`);
  return found;
};

/** Binds like the language does: given arguments over the spec's defaults. */
function context(def: OpDef, shape: Shape, args: Record<string, unknown> = {}): OpContext {
  const bound: Record<string, unknown> = {};
  for (const spec of def.args) bound[spec.name] = spec.name in args ? args[spec.name] : spec.default;
  return {
    args: bound,
    inputs: [tensor(shape)],
    describe: () => `${formatShape(shape)} from x`,
  };
}

interface Ran {
  outputs: Shape[];
  attrs: Record<string, unknown>;
  params: ParamSpec[];
  macs: number;
}

function run(name: string, shape: Shape, args: Record<string, unknown> = {}): Ran {
  const def = op(name);
  const result = def.infer(context(def, shape, args));
  if ("error" in result) throw new Error(`${name}: ${result.error.message}`);
  const node: NodeView = {
    attrs: result.attrs,
    inputs: [tensor(shape)],
    outputs: result.outputs.map((s) => tensor(s)),
  };
  return {
    outputs: result.outputs,
    attrs: { ...result.attrs },
    params: def.params?.(node) ?? [],
    macs: def.macs?.(node) ?? 0,
  };
}

function failure(name: string, shape: Shape, args: Record<string, unknown> = {}) {
  const def = op(name);
  const result: InferResult = def.infer(context(def, shape, args));
  if (!("error" in result)) throw new Error(`${name} accepted ${formatShape(shape)}`);
  return result.error;
}

const names = (ps: ParamSpec[]) => ps.map((p) => [p.name, p.shape]);

describe("op table", () => {
  it("exports every transformer op once, each with a doc and one input", () => {
    const list = ops.map((o) => o.name);
    expect(list).toEqual([
      "class_token",
      "pos_embedding",
      "token",
      "mean_tokens",
      "mhsa",
      "window_attention",
      "patch_merging",
      "layer_scale",
      "sr_attention",
    ]);
    for (const o of ops) {
      expect(o.doc.length).toBeGreaterThan(10);
      expect(o.inputs).toBe(1);
    }
  });
});

describe("class_token", () => {
  it("prepends one token; its parameter is the scope itself, zeros like torchvision", () => {
    const r = run("class_token", ["N", 196, 768]);
    expect(r.outputs).toEqual([["N", 197, 768]]);
    expect(r.params).toEqual([{ name: "", shape: [1, 1, 768], init: { kind: "zeros" } }]);
    expect(r.macs).toBe(0);
  });

  it("takes timm's normal init when given a std", () => {
    expect(run("class_token", ["N", 196, 384], { std: 1e-6 }).params[0]!.init).toEqual({ kind: "normal", std: 1e-6 });
  });

  it("rejects a feature map and an unknown token count", () => {
    const e = failure("class_token", ["N", 768, 14, 14]);
    expect(e.code).toBe("MEDG302");
    expect(e.message).toBe("class_token expects 1 input of rank 3 [N, T, C], got [N, 768, 14, 14] from x");
    expect(e.hint).toMatch(/tokens/);
    expect(failure("class_token", ["N", "T", 768]).code).toBe("MEDG305");
  });
});

describe("pos_embedding", () => {
  it("adds a [1, T, C] parameter named by the scope (torchvision encoder.pos_embedding (1, 197, 768))", () => {
    const r = run("pos_embedding", ["N", 197, 768]);
    expect(r.outputs).toEqual([["N", 197, 768]]);
    expect(r.params).toEqual([{ name: "", shape: [1, 197, 768], init: { kind: "normal", std: 0.02 } }]);
  });

  it("uses a truncated normal on request (timm pos_embed)", () => {
    const r = run("pos_embedding", ["N", 197, 384], { trunc: true });
    expect(r.params[0]!.init).toEqual({ kind: "trunc_normal", std: 0.02 });
  });

  it("rejects rank 2", () => {
    expect(failure("pos_embedding", ["N", 768]).code).toBe("MEDG302");
  });
});

describe("token and mean_tokens", () => {
  it("token takes one token, normalising a negative index", () => {
    const r = run("token", ["N", 197, 768]);
    expect(r.outputs).toEqual([["N", 768]]);
    expect(r.attrs).toEqual({ index: 0, tokens: 197 });
    expect(run("token", ["N", 197, 768], { index: -1 }).attrs.index).toBe(196);
  });

  it("token rejects an index past the tokens", () => {
    const e = failure("token", ["N", 197, 768], { index: 197 });
    expect(e.code).toBe("MEDG306");
    expect(e.message).toBe("token(index=197) needs an index in -197..196, got [N, 197, 768] from x");
  });

  it("mean_tokens averages tokens, optionally skipping class tokens", () => {
    expect(run("mean_tokens", ["N", 197, 768]).outputs).toEqual([["N", 768]]);
    expect(run("mean_tokens", ["N", 197, 768], { start: 1 }).attrs).toEqual({
      start: 1,
      tokens: 197,
    });
    expect(failure("mean_tokens", ["N", 197, 768], { start: 197 }).code).toBe("MEDG306");
    expect(failure("mean_tokens", ["N", 768, 7, 7]).code).toBe("MEDG302");
  });
});

describe("mhsa", () => {
  it("torch style matches nn.MultiheadAttention(768, 12) in vit_b_16", () => {
    const r = run("mhsa", ["N", 197, 768], { heads: 12 });
    expect(r.outputs).toEqual([["N", 197, 768]]);
    // torchvision vit_b_16 state_dict, encoder.layers.encoder_layer_0.self_attention.*
    expect(names(r.params)).toEqual([
      ["in_proj_weight", [2304, 768]],
      ["in_proj_bias", [2304]],
      ["out_proj.weight", [768, 768]],
      ["out_proj.bias", [768]],
    ]);
    expect(r.params.map((p) => p.init.kind)).toEqual(["xavier_uniform", "zeros", "uniform_fan_in", "zeros"]);
    expect(r.attrs).toMatchObject({
      dim: 768,
      heads: 12,
      head_dim: 64,
      tokens: 197,
      style: "torch",
      qkv_bias: true,
    });
    expect(r.attrs.scale).toBeCloseTo(0.125);
    // 4·T·C² projections + 2·T²·C for QKᵀ and AV
    expect(r.macs).toBe(4 * 197 * 768 * 768 + 2 * 197 * 197 * 768);
    expect(r.macs).toBe(524_391_936);
  });

  it("torch style without bias drops both biases, like nn.MultiheadAttention(bias=False)", () => {
    const r = run("mhsa", ["N", 197, 768], { heads: 12, qkv_bias: false });
    expect(names(r.params)).toEqual([
      ["in_proj_weight", [2304, 768]],
      ["out_proj.weight", [768, 768]],
    ]);
  });

  it("timm style names qkv and proj; qkv_bias only drops qkv.bias", () => {
    const r = run("mhsa", ["N", 198, 384], { heads: 6, style: "timm" });
    expect(names(r.params)).toEqual([
      ["qkv.weight", [1152, 384]],
      ["qkv.bias", [1152]],
      ["proj.weight", [384, 384]],
      ["proj.bias", [384]],
    ]);
    expect(r.params[0]!.init).toEqual({ kind: "trunc_normal", std: 0.02 });
    const nb = run("mhsa", ["N", 198, 384], {
      heads: 6,
      style: "timm",
      qkv_bias: false,
    });
    expect(nb.params.map((p) => p.name)).toEqual(["qkv.weight", "proj.weight", "proj.bias"]);
  });

  it("rejects heads that do not divide the channels, naming both", () => {
    const e = failure("mhsa", ["N", 197, 768], { heads: 5 });
    expect(e.code).toBe("MEDG306");
    expect(e.message).toBe("mhsa(heads=5) needs heads to divide the channel count 768, got [N, 197, 768] from x");
  });

  it("rejects a map and a bad dropout", () => {
    const e = failure("mhsa", ["N", 768, 14, 14], { heads: 12 });
    expect(e.code).toBe("MEDG302");
    expect(e.message).toContain("got [N, 768, 14, 14] from x");
    expect(failure("mhsa", ["N", 197, 768], { heads: 12, dropout: 1 }).code).toBe("MEDG306");
  });
});

describe("window_attention", () => {
  it("matches torchvision swin_t features.1.1.attn: params, buffer and order", () => {
    const r = run("window_attention", ["N", 56, 56, 96], {
      heads: 3,
      window: 7,
      shift: 3,
    });
    expect(r.outputs).toEqual([["N", 56, 56, 96]]);
    // torchvision swin_t state_dict, features.1.1.attn.*
    expect(names(r.params)).toEqual([
      ["relative_position_bias_table", [169, 3]],
      ["relative_position_index", [2401]],
      ["qkv.weight", [288, 96]],
      ["qkv.bias", [288]],
      ["proj.weight", [96, 96]],
      ["proj.bias", [96]],
    ]);
    expect(r.params.map((p) => p.buffer === true)).toEqual([false, true, false, false, false, false]);
    expect(r.params[1]!.init).toEqual({
      kind: "computed",
      rule: "swin_relative_position_index",
    });
    expect(r.attrs).toMatchObject({
      dim: 96,
      heads: 3,
      head_dim: 32,
      window: [7, 7],
      shift: [3, 3],
      effective_shift: [3, 3],
      pad: [0, 0],
      padded: [56, 56],
      num_windows: 64,
      window_tokens: 49,
      qkv_bias: true,
      proj_bias: true,
    });
    expect(r.macs).toBe(3 * 96 * 96 * 3136 + 96 * 96 * 3136 + 2 * 3136 * 49 * 96);
  });

  it("disables the shift where the window covers the map (swin_t stage 4 at 224)", () => {
    const r = run("window_attention", ["N", 7, 7, 768], {
      heads: 24,
      shift: 3,
    });
    expect(r.attrs).toMatchObject({
      shift: [3, 3],
      effective_shift: [0, 0],
      pad: [0, 0],
      num_windows: 1,
    });
  });

  it("pads to a multiple of the window, bottom and right, and counts MACs on the padded map", () => {
    const r = run("window_attention", ["N", 10, 9, 64], { heads: 2, shift: 3 });
    expect(r.outputs).toEqual([["N", 10, 9, 64]]);
    expect(r.attrs).toMatchObject({
      pad: [4, 5],
      padded: [14, 14],
      effective_shift: [3, 3],
      num_windows: 4,
    });
    expect(r.macs).toBe(196 * (4 * 64 * 64 + 2 * 49 * 64));
  });

  it("a map smaller than the window is padded up to one window and not shifted", () => {
    const r = run("window_attention", ["N", 3, 3, 768], {
      heads: 24,
      shift: 3,
    });
    expect(r.attrs).toMatchObject({
      pad: [4, 4],
      padded: [7, 7],
      effective_shift: [0, 0],
      num_windows: 1,
    });
  });

  it("takes a rectangular window and drops qkv.bias on request", () => {
    const r = run("window_attention", ["N", 4, 6, 8], {
      heads: 2,
      window: [2, 3],
      shift: [1, 1],
      qkv_bias: false,
    });
    expect(names(r.params)).toEqual([
      ["relative_position_bias_table", [15, 2]],
      ["relative_position_index", [36]],
      ["qkv.weight", [24, 8]],
      ["proj.weight", [8, 8]],
      ["proj.bias", [8]],
    ]);
    expect(r.attrs).toMatchObject({
      window: [2, 3],
      effective_shift: [1, 1],
      num_windows: 4,
      window_tokens: 6,
    });
  });

  it("rejects channels-first maps, indivisible heads and shifts as large as the window", () => {
    const rank = failure("window_attention", ["N", 96, 56], { heads: 3 });
    expect(rank.code).toBe("MEDG302");
    expect(rank.message).toBe(
      "window_attention expects 1 input of rank 4 [N, H, W, C] (channels last), got [N, 96, 56] from x",
    );
    const heads = failure("window_attention", ["N", 56, 56, 96], { heads: 5 });
    expect(heads.code).toBe("MEDG306");
    expect(heads.message).toContain("96");
    const shift = failure("window_attention", ["N", 56, 56, 96], {
      heads: 3,
      shift: 7,
    });
    expect(shift.code).toBe("MEDG306");
    expect(shift.message).toBe("window_attention needs shift smaller than window 7, got shift=7");
    expect(
      failure("window_attention", ["N", 56, 56, 96], {
        heads: 3,
        window: [7, 7, 7],
      }).code,
    ).toBe("MEDG306");
  });
});

describe("swinRelativePositionIndex", () => {
  it("equals torchvision's buffer for a 2x3 window", () => {
    // ShiftedWindowAttention(8, [2, 3], [1, 1], 2).relative_position_index
    expect(swinRelativePositionIndex([2, 3])).toEqual([
      7, 6, 5, 2, 1, 0, 8, 7, 6, 3, 2, 1, 9, 8, 7, 4, 3, 2, 12, 11, 10, 7, 6, 5, 13, 12, 11, 8, 7, 6, 14, 13, 12, 9, 8,
      7,
    ]);
  });

  it("equals torchvision's buffer for a 7x7 window", () => {
    const idx = swinRelativePositionIndex([7, 7]);
    expect(idx.length).toBe(2401);
    expect(idx.slice(0, 20)).toEqual([84, 83, 82, 81, 80, 79, 78, 71, 70, 69, 68, 67, 66, 65, 58, 57, 56, 55, 54, 53]);
    expect(idx.slice(1000, 1010)).toEqual([84, 77, 76, 75, 74, 73, 72, 71, 64, 63]);
    expect(idx.slice(-5)).toEqual([88, 87, 86, 85, 84]);
    expect(idx.reduce((a, b) => a + b, 0)).toBe(201684);
  });
});

describe("patch_merging", () => {
  it("matches torchvision swin_t features.2: reduction before norm", () => {
    const r = run("patch_merging", ["N", 56, 56, 96]);
    expect(r.outputs).toEqual([["N", 28, 28, 192]]);
    // torchvision swin_t state_dict, features.2.*
    expect(names(r.params)).toEqual([
      ["reduction.weight", [192, 384]],
      ["norm.weight", [384]],
      ["norm.bias", [384]],
    ]);
    expect(r.attrs).toMatchObject({
      dim: 96,
      out_dim: 192,
      pad: [0, 0],
      size: [28, 28],
      eps: 1e-5,
    });
    expect(r.macs).toBe(28 * 28 * 384 * 192);
  });

  it("pads odd sizes (ceil)", () => {
    const r = run("patch_merging", ["N", 7, 6, 32]);
    expect(r.outputs).toEqual([["N", 4, 3, 64]]);
    expect(r.attrs).toMatchObject({ pad: [1, 0], size: [4, 3] });
  });

  it("rejects tokens", () => {
    expect(failure("patch_merging", ["N", 196, 96]).code).toBe("MEDG302");
  });
});

describe("layer_scale", () => {
  it("ConvNeXt CNBlock: [C, 1, 1] named by the scope, constant init", () => {
    const r = run("layer_scale", ["N", 96, 56, 56]);
    expect(r.outputs).toEqual([["N", 96, 56, 56]]);
    // torchvision convnext_tiny state_dict, features.1.0.layer_scale (96, 1, 1)
    expect(r.params).toEqual([{ name: "", shape: [96, 1, 1], init: { kind: "constant", value: 1e-6 } }]);
  });

  it("tokens along the last axis with a named parameter (timm ls1.gamma)", () => {
    const r = run("layer_scale", ["N", 197, 384], {
      axis: -1,
      param: "gamma",
      init: 1e-5,
    });
    expect(r.params).toEqual([{ name: "gamma", shape: [384], init: { kind: "constant", value: 1e-5 } }]);
    expect(r.attrs).toMatchObject({ axis: 2, dim: 384 });
  });

  it("rejects the batch axis, an axis out of range and a bad parameter name", () => {
    expect(failure("layer_scale", ["N", 96, 56, 56], { axis: 0 }).code).toBe("MEDG306");
    expect(failure("layer_scale", ["N", 96, 56, 56], { axis: 4 }).code).toBe("MEDG306");
    expect(failure("layer_scale", ["N", 96, 56, 56], { axis: -4 }).code).toBe("MEDG306");
    expect(failure("layer_scale", ["N", 96], { param: "a b" }).code).toBe("MEDG306");
  });
});

describe("MACs of whole backbones (torchvision GFLOPS column)", () => {
  // Linear/conv layers are other ops; their MACs (out × in per position) are added by hand here.
  const within2 = (got: number, ref: number) => expect(Math.abs(got - ref) / ref).toBeLessThan(0.02);

  it("vit_b_16 reaches 17.56 G", () => {
    const [t, c, mlp] = [197, 768, 3072];
    let total = 768 * 3 * 16 * 16 * 196; // conv_proj
    for (let i = 0; i < 12; i++) {
      total += run("mhsa", ["N", t, c], { heads: 12 }).macs;
      total += 2 * t * c * mlp;
    }
    total += c * 1000; // heads.head
    within2(total, 17.564e9);
    expect(total).toBe(17_563_828_224);
  });

  it("swin_t reaches 4.49 G", () => {
    const depths = [2, 2, 6, 2];
    const heads = [3, 6, 12, 24];
    let shape: Shape = ["N", 56, 56, 96];
    let total = 96 * 3 * 4 * 4 * 56 * 56; // features.0.0 patch conv
    depths.forEach((depth, stage) => {
      const [h, w, c] = shape.slice(1) as number[];
      for (let i = 0; i < depth; i++) {
        total += run("window_attention", shape, {
          heads: heads[stage],
          shift: i % 2 === 0 ? 0 : 3,
        }).macs;
        total += 2 * h! * w! * c! * 4 * c!; // mlp
      }
      if (stage < depths.length - 1) {
        const merged = run("patch_merging", shape);
        total += merged.macs;
        shape = merged.outputs[0]!;
      }
    });
    total += 768 * 1000; // head
    within2(total, 4.491e9);
    expect(total).toBe(4_490_566_656);
  });
});
