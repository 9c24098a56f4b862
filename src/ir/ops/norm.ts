/**
 * Normalisation layers. Parameter names and order follow PyTorch's state_dict (weight, bias,
 * then running statistics), so reference weights load by name. Attributes: eps, channels
 * (the normalised dim's size), axis (that dim) and the op's own flags.
 */
import type { ArgSpec } from "../../semantics/signature.js";
import type { InitRule } from "../init.js";
import type { NodeView, OpContext, OpDef, ParamSpec } from "../op.js";
import { boolArg, expectChannels, expectRank, fail, failed, intArg, LAYOUT, numArg, staticDim, type Result } from "./util.js";

const ONES: InitRule = { kind: "ones" };
const ZEROS: InitRule = { kind: "zeros" };

const cArg: ArgSpec = { name: "c", type: "int", default: null, min: 1, doc: "expected channel count, checked against the input" };

/** Rank check, static size of the normalised dim and the optional `c` check. */
function normalisedChannels(
  ctx: OpContext,
  op: string,
  ranks: { min: number; max?: number },
  axis: "channels" | "last",
): Result<{ channels: number; axis: number }> {
  const bad = expectRank(ctx, 0, ranks, op, { layout: axis === "channels" ? LAYOUT.channels : LAYOUT.features });
  if (bad) return bad;
  const a = axis === "channels" ? 1 : ctx.inputs[0]!.shape.length - 1;
  const channels = staticDim(ctx, 0, a, op, a === 1 ? "channel count" : "feature size");
  if (failed(channels)) return channels;
  const mismatch = expectChannels(ctx, 0, ctx.args["c"], channels, op, a);
  if (mismatch) return mismatch;
  return { channels, axis: a };
}

function channels(node: NodeView): number {
  return node.attrs["channels"] as number;
}

function affineParams(node: NodeView): ParamSpec[] {
  if (node.attrs["affine"] === false) return [];
  const c = channels(node);
  return [
    { name: "weight", shape: [c], init: ONES },
    { name: "bias", shape: [c], init: ZEROS },
  ];
}

const bn: OpDef = {
  name: "bn",
  doc: "Batch normalisation over dim 1 of [N, C, ...] (BatchNorm1d/2d/3d by rank).",
  args: [{ name: "eps", type: "float", default: 1e-5, min: 0 }, { name: "momentum", type: "float", default: 0.1, min: 0, max: 1 }, cArg],
  inputs: 1,
  infer(ctx) {
    const r = normalisedChannels(ctx, "bn", { min: 2, max: 5 }, "channels");
    if (failed(r)) return r;
    return { outputs: [ctx.inputs[0]!.shape], attrs: { ...r, eps: numArg(ctx, "eps"), momentum: numArg(ctx, "momentum"), affine: true } };
  },
  params(node) {
    const c = channels(node);
    return [
      ...affineParams(node),
      { name: "running_mean", shape: [c], init: ZEROS, buffer: true },
      { name: "running_var", shape: [c], init: ONES, buffer: true },
    ];
  },
};

const gn: OpDef = {
  name: "gn",
  doc: "Group normalisation: channels of [N, C, ...] split into `groups`, each normalised on its own.",
  args: [{ name: "groups", type: "int", min: 1 }, { name: "eps", type: "float", default: 1e-5, min: 0 }, cArg],
  inputs: 1,
  infer(ctx) {
    const r = normalisedChannels(ctx, "gn", { min: 2, max: 5 }, "channels");
    if (failed(r)) return r;
    const groups = intArg(ctx, "groups");
    if (!(groups >= 1) || r.channels % groups !== 0)
      return fail("MEDG306", `gn groups=${groups} must divide the ${r.channels} channels of ${ctx.describe(0)}`);
    return { outputs: [ctx.inputs[0]!.shape], attrs: { ...r, groups, eps: numArg(ctx, "eps"), affine: true } };
  },
  params: affineParams,
};

const ln: OpDef = {
  name: "ln",
  doc: "Layer normalisation over the last dim: tokens [N, T, C] or channels-last [N, H, W, C].",
  args: [{ name: "eps", type: "float", default: 1e-5, min: 0 }, { name: "affine", type: "bool", default: true }, cArg],
  inputs: 1,
  infer(ctx) {
    const r = normalisedChannels(ctx, "ln", { min: 2 }, "last");
    if (failed(r)) return r;
    return { outputs: [ctx.inputs[0]!.shape], attrs: { ...r, eps: numArg(ctx, "eps"), affine: boolArg(ctx, "affine") } };
  },
  params: affineParams,
};

const ln2d: OpDef = {
  name: "ln2d",
  doc: "Layer normalisation over the channel dim of [N, C, ...spatial] (ConvNeXt's LayerNorm2d).",
  args: [{ name: "eps", type: "float", default: 1e-6, min: 0 }, cArg],
  inputs: 1,
  infer(ctx) {
    const r = normalisedChannels(ctx, "ln2d", { min: 3, max: 5 }, "channels");
    if (failed(r)) return r;
    return { outputs: [ctx.inputs[0]!.shape], attrs: { ...r, eps: numArg(ctx, "eps"), affine: true } };
  },
  params: affineParams,
};

const instanceNorm: OpDef = {
  name: "instance_norm",
  doc: "Instance normalisation: each sample's channels normalised over their spatial dims.",
  args: [{ name: "eps", type: "float", default: 1e-5, min: 0 }, { name: "affine", type: "bool", default: false }, cArg],
  inputs: 1,
  infer(ctx) {
    const r = normalisedChannels(ctx, "instance_norm", { min: 3, max: 5 }, "channels");
    if (failed(r)) return r;
    return { outputs: [ctx.inputs[0]!.shape], attrs: { ...r, eps: numArg(ctx, "eps"), affine: boolArg(ctx, "affine") } };
  },
  params: affineParams,
};

export const ops: OpDef[] = [bn, gn, ln, ln2d, instanceNorm];
