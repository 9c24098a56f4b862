/**
 * Convolutions, rank-generic: an input of rank 3, 4 or 5 is a 1d, 2d or 3d convolution, as in
 * PyTorch's Conv1d/2d/3d. Attributes stored for backends:
 *   rank (spatial dims), in, out, kernel, strides, pads (per side, [begin..., end...]),
 *   dilations, group, bias; conv_transpose adds outputPadding.
 */
import type { ArgSpec } from "../../semantics/signature.js";
import type { InitRule } from "../init.js";
import type { InferResult, NodeView, OpContext, OpDef, ParamSpec } from "../op.js";
import { staticNumel, type Dim } from "../types.js";
import {
  boolArg,
  expectRank,
  fail,
  failed,
  intArg,
  LAYOUT,
  numsArg,
  perDim,
  product,
  spatialNames,
  spatialRank,
  staticDim,
  symmetricPads,
  UNKNOWN,
  windowOutput,
  type Result,
} from "./util.js";

const FAN_IN: InitRule = { kind: "uniform_fan_in" };

interface ConvSpec {
  out: number;
  group: number;
  kernel: number | readonly number[];
  strides: number | readonly number[];
  /** null: (k - 1) // 2 * d per dim, torchvision's Conv2dNormActivation padding. */
  pads: number | readonly number[] | null;
  dilations: number | readonly number[];
  bias: boolean;
}

interface ConvAttrs {
  rank: number;
  in: number;
  out: number;
  kernel: number[];
  strides: number[];
  pads: number[];
  dilations: number[];
  group: number;
  bias: boolean;
}

/** Validates the window arguments and channel grouping shared by conv and conv_transpose. */
function convAttrs(ctx: OpContext, op: string, spec: ConvSpec): Result<ConvAttrs> {
  const bad = expectRank(ctx, 0, [3, 4, 5], op, { layout: LAYOUT.spatial });
  if (bad) return bad;
  const n = spatialRank(ctx.inputs[0]!.shape.length);
  const cin = staticDim(ctx, 0, 1, op);
  if (failed(cin)) return cin;
  const kernel = perDim(ctx, op, "k", spec.kernel, n, { min: 1, integer: true });
  if (failed(kernel)) return kernel;
  const strides = perDim(ctx, op, "s", spec.strides, n, { min: 1, integer: true });
  if (failed(strides)) return strides;
  const dilations = perDim(ctx, op, "d", spec.dilations, n, { min: 1, integer: true });
  if (failed(dilations)) return dilations;
  let pads: number[];
  if (spec.pads === null) {
    pads = kernel.map((k, i) => Math.floor((k - 1) / 2) * dilations[i]!);
  } else {
    const p = perDim(ctx, op, "p", spec.pads, n, { min: 0, integer: true });
    if (failed(p)) return p;
    pads = p;
  }
  if (!(spec.out >= 1)) return fail("MEDG306", `${op} needs 1 or more output channels, got ${spec.out}`);
  const g = spec.group;
  if (!(g >= 1)) return fail("MEDG306", `${op} g must be 1 or more, got ${g}`);
  if (cin % g !== 0) return fail("MEDG306", `${op} g=${g} must divide the input channels ${cin} of ${ctx.describe(0)}`);
  if (spec.out % g !== 0) return fail("MEDG306", `${op} g=${g} must divide the output channels ${spec.out}`);
  return { rank: n, in: cin, out: spec.out, kernel, strides, pads: symmetricPads(pads), dilations, group: g, bias: spec.bias };
}

function convInfer(ctx: OpContext, op: string, spec: ConvSpec): InferResult {
  const a = convAttrs(ctx, op, spec);
  if (failed(a)) return a;
  const spatial = windowOutput(ctx, op, a);
  if (failed(spatial)) return spatial;
  const shape = ctx.inputs[0]!.shape;
  return { outputs: [[shape[0]!, a.out, ...spatial]], attrs: { ...a } };
}

function attrsOf(node: NodeView): ConvAttrs {
  return node.attrs as unknown as ConvAttrs;
}

function convParams(node: NodeView): ParamSpec[] {
  const a = attrsOf(node);
  const params: ParamSpec[] = [{ name: "weight", shape: [a.out, a.in / a.group, ...a.kernel], init: FAN_IN }];
  if (a.bias) params.push({ name: "bias", shape: [a.out], init: FAN_IN });
  return params;
}

/** Each output element sums (in / g) × prod(k) products. */
function convMacs(node: NodeView): number {
  const a = attrsOf(node);
  return staticNumel(node.outputs[0]!.shape) * (a.in / a.group) * product(a.kernel);
}

const windowArgs: ArgSpec[] = [
  { name: "s", type: "ints", default: 1, min: 1, doc: "stride, one per spatial dim or one for all" },
  { name: "p", type: "ints", default: null, min: 0, doc: "padding per side; none: (k - 1) // 2 * d" },
  { name: "d", type: "ints", default: 1, min: 1, doc: "dilation" },
];

const conv: OpDef = {
  name: "conv",
  doc: "Convolution over the spatial dims of [N, C, ...spatial] (1d, 2d or 3d by input rank).",
  args: [
    { name: "out", type: "int", min: 1, doc: "output channels" },
    { name: "k", type: "ints", min: 1, doc: "kernel size" },
    ...windowArgs,
    { name: "g", type: "int", default: 1, min: 1, doc: "groups" },
    { name: "bias", type: "bool", default: true },
  ],
  inputs: 1,
  infer: (ctx) =>
    convInfer(ctx, "conv", {
      out: intArg(ctx, "out"),
      group: intArg(ctx, "g"),
      kernel: numsArg(ctx, "k")!,
      strides: numsArg(ctx, "s")!,
      pads: numsArg(ctx, "p"),
      dilations: numsArg(ctx, "d")!,
      bias: boolArg(ctx, "bias"),
    }),
  params: convParams,
  macs: convMacs,
};

const dwconv: OpDef = {
  name: "dwconv",
  doc: "Depthwise convolution: one filter group per input channel, `mult` output channels each.",
  args: [
    { name: "k", type: "ints", min: 1, doc: "kernel size" },
    ...windowArgs,
    { name: "mult", type: "int", default: 1, min: 1, doc: "output channels per input channel" },
    { name: "bias", type: "bool", default: true },
  ],
  inputs: 1,
  infer(ctx) {
    const bad = expectRank(ctx, 0, [3, 4, 5], "dwconv", { layout: LAYOUT.spatial });
    if (bad) return bad;
    const cin = staticDim(ctx, 0, 1, "dwconv");
    if (failed(cin)) return cin;
    return convInfer(ctx, "dwconv", {
      out: cin * intArg(ctx, "mult"),
      group: cin,
      kernel: numsArg(ctx, "k")!,
      strides: numsArg(ctx, "s")!,
      pads: numsArg(ctx, "p"),
      dilations: numsArg(ctx, "d")!,
      bias: boolArg(ctx, "bias"),
    });
  },
  params: convParams,
  macs: convMacs,
};

const convTranspose: OpDef = {
  name: "conv_transpose",
  doc: "Transposed convolution (learned upsampling), output size as PyTorch's ConvTranspose.",
  args: [
    { name: "out", type: "int", min: 1, doc: "output channels" },
    { name: "k", type: "ints", default: 2, min: 1, doc: "kernel size" },
    { name: "s", type: "ints", default: 2, min: 1, doc: "stride" },
    { name: "p", type: "ints", default: 0, min: 0, doc: "padding removed from each side of the output" },
    { name: "output_padding", type: "ints", default: 0, min: 0, doc: "extra size added to one side of the output" },
    { name: "d", type: "ints", default: 1, min: 1, doc: "dilation" },
    { name: "g", type: "int", default: 1, min: 1, doc: "groups" },
    { name: "bias", type: "bool", default: true },
  ],
  inputs: 1,
  infer(ctx) {
    const op = "conv_transpose";
    const a = convAttrs(ctx, op, {
      out: intArg(ctx, "out"),
      group: intArg(ctx, "g"),
      kernel: numsArg(ctx, "k")!,
      strides: numsArg(ctx, "s")!,
      pads: numsArg(ctx, "p")!,
      dilations: numsArg(ctx, "d")!,
      bias: boolArg(ctx, "bias"),
    });
    if (failed(a)) return a;
    const n = a.rank;
    const outputPadding = perDim(ctx, op, "output_padding", numsArg(ctx, "output_padding")!, n, { min: 0, integer: true });
    if (failed(outputPadding)) return outputPadding;
    const shape = ctx.inputs[0]!.shape;
    const names = spatialNames(n);
    const spatial: Dim[] = [];
    for (let i = 0; i < n; i++) {
      const [s, d, k, extra] = [a.strides[i]!, a.dilations[i]!, a.kernel[i]!, outputPadding[i]!];
      // PyTorch rejects an output padding that would reach past a whole stride or dilation step.
      if (extra >= s && extra >= d)
        return fail("MEDG306", `${op} output_padding ${extra} must be smaller than the stride ${s} or the dilation ${d}`);
      const size = shape[2 + i]!;
      const pads = a.pads[i]! + a.pads[n + i]!;
      if (typeof size !== "number") {
        spatial.push(s === 1 && pads === d * (k - 1) + extra ? size : UNKNOWN);
        continue;
      }
      const o = (size - 1) * s - pads + d * (k - 1) + extra + 1;
      if (o < 1)
        return fail(
          "MEDG303",
          `${op} output ${names[i]} would be ${o}: padding ${pads} removes more than the upsampled ${names[i]} of ${ctx.describe(0)}`,
        );
      spatial.push(o);
    }
    return { outputs: [[shape[0]!, a.out, ...spatial]], attrs: { ...a, outputPadding } };
  },
  /** PyTorch stores the weight as [in, out / g, ...k]. */
  params(node) {
    const a = attrsOf(node);
    const params: ParamSpec[] = [{ name: "weight", shape: [a.in, a.out / a.group, ...a.kernel], init: FAN_IN }];
    if (a.bias) params.push({ name: "bias", shape: [a.out], init: FAN_IN });
    return params;
  },
  /** Each input element scatters into (out / g) × prod(k) outputs. */
  macs(node) {
    const a = attrsOf(node);
    return staticNumel(node.inputs[0]!.shape) * (a.out / a.group) * product(a.kernel);
  },
};

export const ops: OpDef[] = [conv, dwconv, convTranspose];
