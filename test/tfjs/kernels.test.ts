/**
 * Every IR op's tfjs kernel against the loop-by-loop reference, on small random inputs, with the
 * input stored in three physical layouts (the kernels must read the layout, not assume one).
 */
import { describe, expect, it } from "vitest";
import { opNames, type OpName } from "../../src/ir/ops/index.js";
import { swinRelativePositionIndex } from "../../src/ir/ops/transformer.js";
import { createForwardContext } from "../../src/runtime/kernels/context.js";
import { opKernels } from "../../src/runtime/kernels/index.js";
import { Act, channelsLast, identity, logical } from "../../src/runtime/kernels/layout.js";
import { expectClose, infer, random, randomParams, run, tf, tfjs, type LayoutChoice } from "./harness.js";
import * as R from "./reference.js";
import { nd, type Nd } from "./reference.js";

const layouts: LayoutChoice[] = ["logical", "channels_last", "reversed"];

interface Case {
  name: string;
  op: OpName;
  args: Record<string, unknown>;
  inputs: number[][];
  /** The expected outputs from the inputs, parameters (by suffix) and inferred attrs. */
  reference: (x: Nd[], p: Record<string, Nd>, attrs: Record<string, unknown>) => Nd[];
  tolerance?: number;
}

const convRef = (transpose: boolean) => (x: Nd[], p: Record<string, Nd>, a: Record<string, unknown>) => {
  const spec = { strides: a.strides as number[], pads: a.pads as number[], dilations: a.dilations as number[], group: a.group as number };
  return [transpose ? R.convTranspose(x[0]!, p.weight!, p.bias ?? null, { ...spec, outputPadding: a.outputPadding as number[] }) : R.conv(x[0]!, p.weight!, p.bias ?? null, spec)];
};

const poolRef = (how: "max" | "avg") => (x: Nd[], _p: Record<string, Nd>, a: Record<string, unknown>) => {
  const spec = { kernel: a.kernel as number[], strides: a.strides as number[], pads: a.pads as number[], dilations: a.dilations as number[], ceil: a.ceil as boolean, countIncludePad: a.countIncludePad as boolean };
  return [how === "max" ? R.maxpool(x[0]!, spec) : R.avgpool(x[0]!, spec)];
};

const globalRef = (how: "mean" | "max") => (x: Nd[]) => {
  const [n, c, ...s] = x[0]!.shape;
  const pooled = R.adaptivePool(x[0]!, s.map(() => 1), how);
  return [R.reshape(pooled, [n!, c!])];
};

const act = (name: string, args: Record<string, unknown> = {}): Case => ({
  name,
  op: name as OpName,
  args,
  inputs: [[2, 3, 4, 5]],
  reference: (x) => [R.elementwise(x[0]!, (v) => R.activations[name]!(v * 4, args))],
});

const cases: Case[] = [
  // ---- convolution ----
  { name: "conv 2d stride 2 pad 1", op: "conv", args: { out: 4, k: 3, s: 2, p: 1 }, inputs: [[2, 3, 7, 6]], reference: convRef(false) },
  { name: "conv 2d groups, per-dim pads", op: "conv", args: { out: 6, k: 3, g: 2, p: [1, 0], bias: false }, inputs: [[2, 4, 6, 5]], reference: convRef(false) },
  { name: "conv 2d dilated and strided", op: "conv", args: { out: 3, k: 3, s: 2, d: 2, p: 2 }, inputs: [[1, 2, 9, 8]], reference: convRef(false) },
  { name: "conv 2d non-square kernel", op: "conv", args: { out: 2, k: [3, 1], s: [1, 2] }, inputs: [[2, 3, 5, 6]], reference: convRef(false) },
  { name: "conv 1d", op: "conv", args: { out: 4, k: 3, s: 2, p: 1 }, inputs: [[2, 3, 9]], reference: convRef(false) },
  { name: "conv 3d", op: "conv", args: { out: 3, k: 3, s: [1, 2, 1], p: 1 }, inputs: [[1, 2, 4, 5, 4]], reference: convRef(false) },
  { name: "conv 3d groups dilated", op: "conv", args: { out: 4, k: 2, g: 2, d: 2 }, inputs: [[1, 4, 4, 4, 5]], reference: convRef(false) },
  { name: "dwconv 2d", op: "dwconv", args: { k: 3, s: 2 }, inputs: [[2, 4, 7, 7]], reference: convRef(false) },
  { name: "dwconv 2d multiplier", op: "dwconv", args: { k: 5, mult: 2, bias: false }, inputs: [[1, 3, 6, 6]], reference: convRef(false) },
  { name: "dwconv 3d", op: "dwconv", args: { k: 3 }, inputs: [[1, 3, 4, 4, 4]], reference: convRef(false) },
  { name: "conv_transpose 2d", op: "conv_transpose", args: { out: 3, k: 3, s: 2, p: 1, output_padding: 1 }, inputs: [[2, 4, 4, 5]], reference: convRef(true) },
  { name: "conv_transpose 2d k2 s2", op: "conv_transpose", args: { out: 3 }, inputs: [[2, 4, 3, 4]], reference: convRef(true) },
  { name: "conv_transpose 2d groups dilated", op: "conv_transpose", args: { out: 4, k: 3, s: 2, d: 2, g: 2, p: 1 }, inputs: [[1, 4, 3, 3]], reference: convRef(true) },
  { name: "conv_transpose 1d", op: "conv_transpose", args: { out: 2, k: 4, s: 3, p: 1 }, inputs: [[2, 3, 5]], reference: convRef(true) },
  { name: "conv_transpose 3d", op: "conv_transpose", args: { out: 2, k: 3, s: 2, p: 1, output_padding: 1 }, inputs: [[1, 3, 3, 2, 3]], reference: convRef(true) },
  // ---- pooling ----
  { name: "maxpool 3 s2 p1", op: "maxpool", args: { k: 3, s: 2, p: 1 }, inputs: [[2, 3, 7, 6]], reference: poolRef("max") },
  { name: "maxpool ceil", op: "maxpool", args: { k: 3, s: 2, ceil: true }, inputs: [[2, 2, 6, 8]], reference: poolRef("max") },
  { name: "maxpool dilated", op: "maxpool", args: { k: 2, s: 1, d: 2 }, inputs: [[1, 2, 5, 6]], reference: poolRef("max") },
  { name: "maxpool 1d", op: "maxpool", args: { k: 3, s: 2, p: 1 }, inputs: [[2, 3, 8]], reference: poolRef("max") },
  { name: "maxpool 3d", op: "maxpool", args: { k: 2 }, inputs: [[1, 2, 4, 4, 6]], reference: poolRef("max") },
  { name: "avgpool pad counted", op: "avgpool", args: { k: 3, s: 2, p: 1 }, inputs: [[2, 3, 7, 6]], reference: poolRef("avg") },
  { name: "avgpool pad not counted", op: "avgpool", args: { k: 3, s: 2, p: 1, count_include_pad: false }, inputs: [[2, 3, 7, 6]], reference: poolRef("avg") },
  { name: "avgpool ceil", op: "avgpool", args: { k: 3, s: 2, ceil: true }, inputs: [[1, 2, 6, 8]], reference: poolRef("avg") },
  { name: "avgpool 2 (densenet transition)", op: "avgpool", args: { k: 2, s: 2 }, inputs: [[2, 4, 6, 6]], reference: poolRef("avg") },
  { name: "avgpool 1d", op: "avgpool", args: { k: 2 }, inputs: [[2, 3, 7]], reference: poolRef("avg") },
  { name: "avgpool 3d", op: "avgpool", args: { k: 2, p: 1 }, inputs: [[1, 2, 4, 4, 5]], reference: poolRef("avg") },
  { name: "gap 2d", op: "gap", args: {}, inputs: [[2, 3, 4, 5]], reference: globalRef("mean") },
  { name: "gap 3d", op: "gap", args: {}, inputs: [[2, 3, 2, 3, 4]], reference: globalRef("mean") },
  { name: "gmp 1d", op: "gmp", args: {}, inputs: [[2, 3, 6]], reference: globalRef("max") },
  { name: "adaptive_avgpool uneven bins", op: "adaptive_avgpool", args: { size: [3, 2] }, inputs: [[2, 3, 7, 5]], reference: (x, _p, a) => [R.adaptivePool(x[0]!, a.size as number[], "mean")] },
  { name: "adaptive_avgpool 1", op: "adaptive_avgpool", args: { size: 1 }, inputs: [[2, 3, 4, 6]], reference: (x) => [R.adaptivePool(x[0]!, [1, 1], "mean")] },
  { name: "adaptive_maxpool", op: "adaptive_maxpool", args: { size: [2, 4] }, inputs: [[1, 2, 6, 7]], reference: (x, _p, a) => [R.adaptivePool(x[0]!, a.size as number[], "max")] },
  // ---- normalisation ----
  {
    name: "bn eval",
    op: "bn",
    args: {},
    inputs: [[2, 3, 4, 5]],
    reference: (x, p, a) => [R.bnEval(x[0]!, p.weight!, p.bias!, p.running_mean!, p.running_var!, a.eps as number)],
  },
  {
    name: "gn",
    op: "gn",
    args: { groups: 2 },
    inputs: [[2, 4, 3, 3]],
    reference: (x, p, a) => [R.normalise(x[0]!, (i) => `${i[0]}/${Math.floor(i[1]! / 2)}`, a.eps as number, (i) => [p.weight!.data[i[1]!]!, p.bias!.data[i[1]!]!])],
  },
  {
    name: "ln tokens",
    op: "ln",
    args: {},
    inputs: [[2, 5, 6]],
    reference: (x, p, a) => [R.normalise(x[0]!, (i) => `${i[0]}/${i[1]}`, a.eps as number, (i) => [p.weight!.data[i[2]!]!, p.bias!.data[i[2]!]!])],
  },
  {
    name: "ln channels-last map",
    op: "ln",
    args: { eps: 1e-6 },
    inputs: [[2, 3, 4, 6]],
    reference: (x, p, a) => [R.normalise(x[0]!, (i) => `${i[0]}/${i[1]}/${i[2]}`, a.eps as number, (i) => [p.weight!.data[i[3]!]!, p.bias!.data[i[3]!]!])],
  },
  {
    name: "ln2d",
    op: "ln2d",
    args: {},
    inputs: [[2, 4, 3, 3]],
    reference: (x, p, a) => [R.normalise(x[0]!, (i) => `${i[0]}/${i[2]}/${i[3]}`, a.eps as number, (i) => [p.weight!.data[i[1]!]!, p.bias!.data[i[1]!]!])],
  },
  {
    name: "instance_norm affine",
    op: "instance_norm",
    args: { affine: true },
    inputs: [[2, 3, 4, 4]],
    reference: (x, p, a) => [R.normalise(x[0]!, (i) => `${i[0]}/${i[1]}`, a.eps as number, (i) => [p.weight!.data[i[1]!]!, p.bias!.data[i[1]!]!])],
  },
  {
    name: "instance_norm 3d",
    op: "instance_norm",
    args: {},
    inputs: [[1, 2, 3, 4, 2]],
    reference: (x, _p, a) => [R.normalise(x[0]!, (i) => `${i[0]}/${i[1]}`, a.eps as number, () => [1, 0])],
  },
  // ---- activations and linear ----
  act("relu"),
  act("relu6"),
  act("leaky_relu", { slope: 0.1 }),
  { name: "prelu one slope", op: "prelu", args: {}, inputs: [[2, 3, 4, 5]], reference: (x, p) => [R.elementwise(x[0]!, (v) => (v > 0 ? v : p.weight!.data[0]! * v))] },
  {
    name: "prelu per channel",
    op: "prelu",
    args: { num_parameters: 3 },
    inputs: [[2, 3, 4, 5]],
    reference: (x, p) => [R.map(x[0]!.shape, (i) => (R.at(x[0]!, i) > 0 ? R.at(x[0]!, i) : p.weight!.data[i[1]!]! * R.at(x[0]!, i)))],
  },
  act("gelu", { approximate: "none" }),
  act("gelu", { approximate: "tanh" }),
  act("silu"),
  act("sigmoid"),
  act("hardswish"),
  act("hardsigmoid"),
  act("tanh"),
  act("identity"),
  { name: "softmax channels", op: "softmax", args: {}, inputs: [[2, 3, 4, 4]], reference: (x) => [R.softmax(x[0]!, 1)] },
  { name: "softmax last", op: "softmax", args: { axis: -1 }, inputs: [[2, 5]], reference: (x) => [R.softmax(x[0]!, 1)] },
  { name: "linear features", op: "linear", args: { out: 4 }, inputs: [[3, 6]], reference: (x, p) => [R.linear(x[0]!, p.weight!, p.bias!)] },
  { name: "linear tokens", op: "linear", args: { out: 5, bias: false }, inputs: [[2, 3, 6]], reference: (x, p) => [R.linear(x[0]!, p.weight!, null)] },
  { name: "linear map", op: "linear", args: { out: 3 }, inputs: [[2, 3, 2, 4]], reference: (x, p) => [R.linear(x[0]!, p.weight!, p.bias!)] },
  // ---- tensor plumbing ----
  { name: "dropout (eval)", op: "dropout", args: { p: 0.5 }, inputs: [[2, 3, 4]], reference: (x) => [x[0]!] },
  { name: "stochastic_depth (eval)", op: "stochastic_depth", args: { p: 0.5 }, inputs: [[2, 3, 4, 4]], reference: (x) => [x[0]!] },
  { name: "add", op: "add", args: {}, inputs: [[2, 3, 4, 4], [2, 3, 4, 4], [2, 3, 4, 4]], reference: (x) => [R.broadcast(x, (a, b) => a + b)] },
  { name: "mul [N, C, 1, 1]", op: "mul", args: {}, inputs: [[2, 3, 1, 1], [2, 3, 4, 5]], reference: (x) => [R.broadcast(x, (a, b) => a * b)] },
  { name: "mul [N, C]", op: "mul", args: {}, inputs: [[2, 3, 4, 5], [2, 3]], reference: (x) => [R.broadcast(x, (a, b) => a * b)] },
  { name: "add [1, T, C]", op: "add", args: {}, inputs: [[2, 5, 4], [1, 5, 4]], reference: (x) => [R.broadcast(x, (a, b) => a + b)] },
  { name: "concat channels", op: "concat", args: {}, inputs: [[2, 3, 4, 4], [2, 2, 4, 4]], reference: (x) => [R.concat(x, 1)] },
  { name: "concat axis 2", op: "concat", args: { axis: 2 }, inputs: [[2, 3, 4], [2, 3, 2], [2, 3, 1]], reference: (x) => [R.concat(x, 2)] },
  { name: "split", op: "split", args: { sizes: [1, 3] }, inputs: [[2, 4, 3, 3]], reference: (x) => [R.slice(x[0]!, 1, 0, 1), R.slice(x[0]!, 1, 1, 3)] },
  { name: "split equal, last axis", op: "split", args: { sizes: 2, axis: -1 }, inputs: [[2, 3, 6]], reference: (x) => [R.slice(x[0]!, 2, 0, 3), R.slice(x[0]!, 2, 3, 3)] },
  { name: "reshape", op: "reshape", args: { shape: [4, -1] }, inputs: [[2, 2, 4, 3]], reference: (x) => [R.reshape(x[0]!, [2, 4, 6])] },
  { name: "flatten", op: "flatten", args: {}, inputs: [[2, 3, 4, 5]], reference: (x) => [R.reshape(x[0]!, [2, 60])] },
  { name: "flatten(2)", op: "flatten", args: { start: 2 }, inputs: [[2, 3, 4, 5]], reference: (x) => [R.reshape(x[0]!, [2, 3, 20])] },
  { name: "permute", op: "permute", args: { dims: [0, 2, 3, 1] }, inputs: [[2, 3, 4, 5]], reference: (x) => [R.permute(x[0]!, [0, 2, 3, 1])] },
  { name: "transpose", op: "transpose", args: { a: 1, b: 2 }, inputs: [[2, 3, 4]], reference: (x) => [R.permute(x[0]!, [0, 2, 1])] },
  ...(
    [
      ["nearest scale 2", { scale: 2 }, [1, 2, 3, 4]],
      ["nearest size", { size: [5, 3] }, [1, 2, 3, 4]],
      ["nearest scale 1.5", { scale: 1.5 }, [1, 2, 4, 5]],
      ["bilinear size", { size: [5, 7], mode: "bilinear" }, [2, 2, 3, 4]],
      ["bilinear align_corners", { size: [5, 7], mode: "bilinear", align_corners: true }, [2, 2, 3, 4]],
      ["bilinear downscale", { scale: 0.5, mode: "bilinear" }, [1, 2, 6, 8]],
      ["bilinear by a factor keeping the height", { scale: 1.25, mode: "bilinear" }, [1, 2, 2, 4]],
      ["nearest by a factor keeping the height", { scale: 1.25 }, [1, 2, 2, 4]],
      ["bicubic by a factor keeping the height", { scale: 1.25, mode: "bicubic" }, [1, 2, 2, 4]],
      ["bicubic", { size: [6, 5], mode: "bicubic" }, [1, 2, 3, 4]],
      ["linear 1d", { scale: 2, mode: "linear" }, [2, 2, 5]],
      ["trilinear", { size: [3, 4, 5], mode: "trilinear" }, [1, 2, 2, 3, 3]],
    ] as const
  ).map(
    ([name, args, shape]): Case => ({
      name: `resize ${name}`,
      op: "resize",
      args,
      inputs: [[...shape]],
      reference: (x, _p, a) => [R.resize(x[0]!, (a.sizes as number[]).map((s) => s), a.mode as string, a.alignCorners as boolean, a.scales as number[] | null)],
    }),
  ),
  ...(
    [
      ["constant", { pads: [1, 2, 0, 1], value: 0.5 }, [2, 3, 4, 4]],
      ["constant crop", { pads: [-1, 1] }, [2, 3, 4, 4]],
      ["reflect", { pads: [2, 1, 1, 2], mode: "reflect" }, [2, 3, 4, 4]],
      ["replicate", { pads: [1, 2, 3, 0], mode: "replicate" }, [1, 2, 3, 4]],
      ["replicate 3d", { pads: [1, 1, 0, 1, 2, 0], mode: "replicate" }, [1, 2, 3, 3, 2]],
    ] as const
  ).map(
    ([name, args, shape]): Case => ({
      name: `pad ${name}`,
      op: "pad",
      args,
      inputs: [[...shape]],
      reference: (x, _p, a) => [R.pad(x[0]!, a.begin as number[], a.end as number[], a.mode as string, a.value as number)],
    }),
  ),
  { name: "gray_to_rgb", op: "gray_to_rgb", args: {}, inputs: [[2, 1, 3, 3]], reference: (x) => [R.concat([x[0]!, x[0]!, x[0]!], 1)] },
  { name: "repeat_channels", op: "repeat_channels", args: { n: 2 }, inputs: [[2, 2, 3, 3]], reference: (x) => [R.concat([x[0]!, x[0]!], 1)] },
  // ---- transformer ----
  {
    name: "class_token",
    op: "class_token",
    args: {},
    inputs: [[2, 3, 4]],
    reference: (x, p) => [R.concat([R.map([2, 1, 4], (i) => p[""]!.data[i[2]!]!), x[0]!], 1)],
  },
  { name: "pos_embedding", op: "pos_embedding", args: {}, inputs: [[2, 3, 4]], reference: (x, p) => [R.broadcast([x[0]!, p[""]!], (a, b) => a + b)] },
  { name: "token 0", op: "token", args: {}, inputs: [[2, 3, 4]], reference: (x) => [R.reshape(R.slice(x[0]!, 1, 0, 1), [2, 4])] },
  { name: "token -1", op: "token", args: { index: -1 }, inputs: [[2, 3, 4]], reference: (x) => [R.reshape(R.slice(x[0]!, 1, 2, 1), [2, 4])] },
  {
    name: "mean_tokens",
    op: "mean_tokens",
    args: { start: 1 },
    inputs: [[2, 4, 3]],
    reference: (x) => [R.map([2, 3], ([n, c]) => (R.at(x[0]!, [n!, 1, c!]) + R.at(x[0]!, [n!, 2, c!]) + R.at(x[0]!, [n!, 3, c!])) / 3)],
  },
  {
    name: "mhsa torch",
    op: "mhsa",
    args: { heads: 2 },
    inputs: [[2, 5, 8]],
    reference: (x, p) => [R.mhsa(x[0]!, p.in_proj_weight!, p.in_proj_bias!, p["out_proj.weight"]!, p["out_proj.bias"]!, 2)],
  },
  {
    name: "mhsa timm without qkv bias",
    op: "mhsa",
    args: { heads: 4, style: "timm", qkv_bias: false },
    inputs: [[2, 3, 8]],
    reference: (x, p) => [R.mhsa(x[0]!, p["qkv.weight"]!, null, p["proj.weight"]!, p["proj.bias"]!, 4)],
  },
  ...(
    [
      ["padded and shifted", { heads: 2, window: 3, shift: 1 }, [2, 7, 6, 4]],
      ["shifted", { heads: 2, window: 2, shift: 1 }, [1, 4, 6, 4]],
      ["not shifted", { heads: 1, window: [2, 3], shift: 0 }, [1, 4, 6, 2]],
      ["window covering the map", { heads: 2, window: 4, shift: 2 }, [1, 3, 4, 4]],
    ] as const
  ).map(
    ([name, args, shape]): Case => ({
      name: `window_attention ${name}`,
      op: "window_attention",
      args,
      inputs: [[...shape]],
      reference: (x, p, a) =>
        [
          R.windowAttention(
            x[0]!,
            { qkvW: p["qkv.weight"]!, qkvB: p["qkv.bias"]!, projW: p["proj.weight"]!, projB: p["proj.bias"]!, table: p.relative_position_bias_table!, index: Array.from(p.relative_position_index!.data) },
            a.heads as number,
            a.window as [number, number],
            a.shift as [number, number],
          ),
        ],
    }),
  ),
  {
    name: "patch_merging odd size",
    op: "patch_merging",
    args: {},
    inputs: [[2, 5, 6, 3]],
    reference: (x, p, a) => {
      const padded = R.pad(x[0]!, [0, 0, 0, 0], [0, 1, 0, 0], "constant", 0);
      const parts = [[0, 0], [1, 0], [0, 1], [1, 1]].map(([dh, dw]) => R.map([2, 3, 3, 3], ([n, i, j, c]) => R.at(padded, [n!, 2 * i! + dh!, 2 * j! + dw!, c!])));
      const merged = R.concat(parts, 3);
      const normed = R.normalise(merged, (i) => `${i[0]}/${i[1]}/${i[2]}`, a.eps as number, (i) => [p["norm.weight"]!.data[i[3]!]!, p["norm.bias"]!.data[i[3]!]!]);
      return [R.linear(normed, p["reduction.weight"]!, null)];
    },
  },
  { name: "layer_scale channels", op: "layer_scale", args: {}, inputs: [[2, 3, 4, 4]], reference: (x, p) => [R.broadcast([x[0]!, R.reshape(p[""]!, [1, 3, 1, 1])], (a, b) => a * b)] },
  { name: "layer_scale last", op: "layer_scale", args: { axis: -1, param: "gamma" }, inputs: [[2, 3, 4]], reference: (x, p) => [R.broadcast([x[0]!, R.reshape(p.gamma!, [1, 1, 4])], (a, b) => a * b)] },
];

/** Parameters with the computed buffers filled in as the init rules would. */
function paramsFor(specs: ReturnType<typeof infer>["params"], attrs: Record<string, unknown>, seed: number): Record<string, Nd> {
  const p = randomParams(specs, seed);
  if (p.relative_position_index) p.relative_position_index = nd(p.relative_position_index.shape, swinRelativePositionIndex(attrs.window as [number, number]));
  return p;
}

describe("kernels against the reference", () => {
  it("has a kernel for every op", () => {
    expect(Object.keys(opKernels).sort()).toEqual([...opNames].sort());
  });

  cases.forEach((c, k) => {
    it.each(layouts)(`${c.name} (%s layout)`, (layout) => {
      const inf = infer(c.op, c.args, c.inputs);
      const scale = c.op in R.activations || c.op === "gelu" ? 4 : 1;
      const x = c.inputs.map((s, i) => random(s, 100 * k + i));
      const xs = scale === 1 ? x : x.map((a) => R.elementwise(a, (v) => v * scale));
      const params = paramsFor(inf.params, inf.attrs, 1000 + k);
      const expected = c.reference(x, params, inf.attrs as Record<string, unknown>);
      let actual: Nd[] = [];
      tf.tidy(() => {
        actual = run(c.op, xs, inf.attrs, params, { layout });
      });
      expect(actual).toHaveLength(expected.length);
      actual.forEach((a, i) => {
        expect(a.shape).toEqual(inf.outputs[i]);
        expectClose(a, expected[i]!, c.tolerance ?? 1e-5);
      });
    });
  });
});

describe("training-mode kernels", () => {
  it("bn in training normalises with batch statistics and updates the running ones as PyTorch does", () => {
    const inf = infer("bn", { momentum: 0.2 }, [[3, 2, 3, 4]]);
    const x = random([3, 2, 3, 4], 7);
    const p = randomParams(inf.params, 8);
    const vars = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, tf.variable(tf.tensor(Float32Array.from(v.data), v.shape))]));
    const ctx = createForwardContext(tfjs, { training: true });
    for (const layout of ["logical", "channels_last"] as const) {
      ctx.updates.length = 0;
      const [y] = run("bn", [x], inf.attrs, p, { layout, ctx, tensors: vars });
      const ref = R.bnTrain(x, p.weight!, p.bias!, 1e-5);
      expectClose(y!, ref.y);
      expect(ctx.updates).toHaveLength(2);
      const [mean, variance] = ctx.updates.map((u) => Array.from(u.value.dataSync()));
      ref.mean.forEach((m, c) => expect(mean![c]).toBeCloseTo(0.8 * p.running_mean!.data[c]! + 0.2 * m, 5));
      ref.unbiased.forEach((v, c) => expect(variance![c]).toBeCloseTo(0.8 * p.running_var!.data[c]! + 0.2 * v, 5));
    }
  });

  it("bn whose parameters are frozen runs in inference mode and records no update", () => {
    const inf = infer("bn", {}, [[2, 3, 2, 2]]);
    const x = random([2, 3, 2, 2], 9);
    const p = randomParams(inf.params, 10);
    const vars = Object.fromEntries(Object.entries(p).map(([k, v]) => [k, tf.variable(tf.tensor(Float32Array.from(v.data), v.shape), k !== "weight" && k !== "bias")]));
    const ctx = createForwardContext(tfjs, { training: true });
    const [y] = run("bn", [x], inf.attrs, p, { ctx, tensors: vars });
    expectClose(y!, R.bnEval(x, p.weight!, p.bias!, p.running_mean!, p.running_var!, 1e-5));
    expect(ctx.updates).toHaveLength(0);
  });

  it("dropout keeps a seeded 1 - p of the elements scaled by 1 / (1 - p)", () => {
    const inf = infer("dropout", { p: 0.25 }, [[4, 50, 50]]);
    const x = nd([4, 50, 50], new Float64Array(10000).fill(1));
    const draw = (seed: number) => run("dropout", [x], inf.attrs, {}, { ctx: createForwardContext(tfjs, { training: true, seed, step: 3 }) })[0]!;
    const a = draw(1);
    const kept = Array.from(a.data).filter((v) => v !== 0);
    expect(kept.length / 10000).toBeGreaterThan(0.72);
    expect(kept.length / 10000).toBeLessThan(0.78);
    kept.forEach((v) => expect(v).toBeCloseTo(1 / 0.75, 5));
    expect(Array.from(draw(1).data)).toEqual(Array.from(a.data));
    expect(Array.from(draw(2).data)).not.toEqual(Array.from(a.data));
  });

  it("stochastic_depth drops whole samples", () => {
    const inf = infer("stochastic_depth", { p: 0.5 }, [[64, 2, 3, 3]]);
    const x = random([64, 2, 3, 3], 11);
    const [y] = run("stochastic_depth", [x], inf.attrs, {}, { layout: "channels_last", ctx: createForwardContext(tfjs, { training: true, seed: 5 }) });
    let dropped = 0;
    for (let n = 0; n < 64; n++) {
      const ys = Array.from(y!.data.slice(n * 18, n * 18 + 18));
      const xs = Array.from(x.data.slice(n * 18, n * 18 + 18));
      if (ys.every((v) => v === 0)) dropped++;
      else ys.forEach((v, i) => expect(v).toBeCloseTo(xs[i]! * 2, 5));
    }
    expect(dropped).toBeGreaterThan(16);
    expect(dropped).toBeLessThan(48);
  });
});

/**
 * The gradient of ⟨f(x, w), g⟩ for f linear in x (and in w) is fᵀg: compared element by element
 * with the reference, ⟨f(eᵢ, w), g⟩ (and ⟨f(x, eᵢ), g⟩). This checks the kernels that replace tfjs
 * ops lacking a gradient and the convolutions whose gradients are computed by the runtime.
 */
describe("gradients", () => {
  type Ref = (x: Nd, p: Record<string, Nd>, a: Record<string, unknown>) => Nd;

  function adjointCheck(op: OpName, args: Record<string, unknown>, shape: number[], reference: Ref, wrt: "input" | "weight" = "input"): void {
    const inf = infer(op, args, [shape]);
    const p = randomParams(inf.params, 3);
    delete p.bias;
    const outShape = inf.outputs[0] as number[];
    const g = random(outShape, 4);
    const x0 = random(shape, 5);
    const kernel = opKernels[op] as unknown as (c: unknown, x: unknown[], p: unknown, a: unknown) => Act;
    const gt = tf.tensor(Float32Array.from(g.data), outShape);
    const constant = (v: Nd) => tf.tensor(Float32Array.from(v.data), v.shape);
    const loss = (x: tf.Tensor, weight: tf.Tensor) => {
      const ctx = createForwardContext(tfjs, { training: true });
      const w: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(p)) w[k === "" ? "value" : k] = k === "weight" ? weight : constant(v);
      const y = kernel(ctx, [new Act(x as never, shape.map((_, i) => i))], w, inf.attrs);
      const logicalY = tf.transpose(y.t as tf.Tensor, y.layout.map((_, l) => y.layout.indexOf(l)));
      return tf.sum(tf.mul(logicalY, gt));
    };
    const target = wrt === "input" ? x0 : p.weight!;
    const grad =
      wrt === "input"
        ? tf.grad((x: tf.Tensor) => loss(x, constant(p.weight ?? nd([1]))))(constant(x0))
        : tf.grad((w: tf.Tensor) => loss(constant(x0), w))(constant(p.weight!));
    const actual = grad.dataSync();
    expect(Array.from(grad.shape)).toEqual(target.shape);
    for (let i = 0; i < target.data.length; i++) {
      const e = nd(target.shape);
      e.data[i] = 1;
      const y = wrt === "input" ? reference(e, p, inf.attrs as Record<string, unknown>) : reference(x0, { ...p, weight: e }, inf.attrs as Record<string, unknown>);
      let dot = 0;
      for (let j = 0; j < y.data.length; j++) dot += y.data[j]! * g.data[j]!;
      expect(actual[i]).toBeCloseTo(dot, 4);
    }
  }

  const convSpec = (a: Record<string, unknown>) => ({ strides: a.strides as number[], pads: a.pads as number[], dilations: a.dilations as number[], group: a.group as number });
  const conv: Ref = (x, p, a) => R.conv(x, p.weight!, null, convSpec(a));
  const convT: Ref = (x, p, a) => R.convTranspose(x, p.weight!, null, { ...convSpec(a), outputPadding: a.outputPadding as number[] });

  it.each([1, 3])("prelu with %i slope(s): the slopes get Σ x·g over negative x (per channel), the input g or slope·g", (count) => {
    const shape = [2, 3, 4, 5];
    const inf = infer("prelu", { num_parameters: count }, [shape]);
    const [x, g, w] = [random(shape, 21), random(shape, 22), random([count], 23)];
    const at = (t: Nd, i: number) => t.data[i]!;
    const channel = (i: number) => (count === 1 ? 0 : Math.floor(i / 20) % 3);
    for (const layout of ["logical", "channels_last"] as const) {
      const gt = tf.tensor(Float32Array.from(g.data), shape);
      const physical = layout === "logical" ? identity(4) : channelsLast(4);
      const loss = (xt: tf.Tensor, wt: tf.Tensor) => {
        const input = new Act(tf.transpose(xt, physical) as never, physical);
        const y = opKernels.prelu(createForwardContext(tfjs, { training: true }), [input], { weight: wt as never }, inf.attrs as never) as Act;
        return tf.sum(tf.mul(logical(tfjs, y) as unknown as tf.Tensor, gt));
      };
      const [dx, dw] = tf.grads(loss)([tf.tensor(Float32Array.from(x.data), shape), tf.tensor(Float32Array.from(w.data), [count])]);
      const wantW = new Array<number>(count).fill(0);
      for (let i = 0; i < x.data.length; i++) if (at(x, i) <= 0) wantW[channel(i)]! += at(x, i) * at(g, i);
      Array.from(dw!.dataSync()).forEach((v, c) => expect(v).toBeCloseTo(wantW[c]!, 4));
      Array.from(dx!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(at(x, i) > 0 ? at(g, i) : at(w, channel(i)) * at(g, i), 5));
    }
  });

  it("bilinear resize of a non-square image (tf.image.resizeBilinear's gradient fails there)", () => {
    adjointCheck("resize", { size: [5, 9], mode: "bilinear" }, [1, 2, 3, 4], (x, _p, a) => R.resize(x, a.sizes as number[], "bilinear", false, null));
  });

  it("3-d transposed convolution (tfjs registers no gradient for conv3dTranspose)", () => {
    adjointCheck("conv_transpose", { out: 2, k: 2, s: 2, bias: false }, [1, 2, 2, 3, 2], convT);
  });

  it("dilated convolution (tfjs has no gradient for dilation > 1)", () => {
    adjointCheck("conv", { out: 2, k: 3, d: 2, p: 2, bias: false }, [1, 2, 5, 6], conv);
    adjointCheck("conv", { out: 2, k: 3, d: 2, p: 2, bias: false }, [1, 2, 5, 6], conv, "weight");
  });

  it.each([
    ["conv", { out: 3, k: 3, s: 2, p: [1, 0] }, [2, 2, 7, 6]],
    ["conv", { out: 4, k: [3, 1], g: 2 }, [1, 4, 5, 4]],
    ["conv", { out: 2, k: 3, s: 1 }, [1, 2, 3, 4, 3]],
    ["dwconv", { k: 3, s: 2, mult: 2 }, [2, 3, 7, 6]],
    ["conv_transpose", { out: 3, k: 3, s: 2, p: 1, output_padding: 1 }, [1, 2, 3, 4]],
    ["conv_transpose", { out: 4, k: 2, s: 2, g: 2 }, [1, 2, 3, 3]],
  ] as const)("%s %j: input and weight gradients", (op, args, shape) => {
    const ref = op === "conv_transpose" ? convT : conv;
    adjointCheck(op, { ...args, bias: false }, [...shape], ref);
    adjointCheck(op, { ...args, bias: false }, [...shape], ref, "weight");
  });
});
