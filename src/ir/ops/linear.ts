/**
 * Fully connected layer on the last dim, like nn.Linear: [N, ..., in] → [N, ..., out].
 * Works on pooled features [N, C], tokens [N, T, C] and channels-last maps [N, H, W, C].
 * Attributes: in, out, bias.
 */
import type { InitRule } from "../init.js";
import type { OpDef, ParamSpec } from "../op.js";
import { staticNumel } from "../types.js";
import { boolArg, expectRank, fail, failed, intArg, LAYOUT, staticDim } from "./util.js";

const FAN_IN: InitRule = { kind: "uniform_fan_in" };

const linear: OpDef = {
  name: "linear",
  doc: "Fully connected layer on the last dim: [N, ..., in] → [N, ..., out].",
  args: [
    { name: "out", type: "int", min: 1, default: null, fromTask: "classes", doc: "output features (default: the task's class count)" },
    { name: "bias", type: "bool", default: true },
  ],
  inputs: 1,
  infer(ctx) {
    const bad = expectRank(ctx, 0, { min: 2 }, "linear", { layout: LAYOUT.features });
    if (bad) return bad;
    const shape = ctx.inputs[0]!.shape;
    const features = staticDim(ctx, 0, shape.length - 1, "linear", "input feature size");
    if (failed(features)) return features;
    const out = intArg(ctx, "out");
    if (!(out >= 1)) return fail("MEDG306", `linear needs 1 or more output features, got ${out}`);
    return { outputs: [[...shape.slice(0, -1), out]], attrs: { in: features, out, bias: boolArg(ctx, "bias") } };
  },
  params(node) {
    const { in: inF, out, bias } = node.attrs as { in: number; out: number; bias: boolean };
    const params: ParamSpec[] = [{ name: "weight", shape: [out, inF], init: FAN_IN }];
    if (bias) params.push({ name: "bias", shape: [out], init: FAN_IN });
    return params;
  },
  /** out × in per row; rows are every position of the non-batch leading dims. */
  macs(node) {
    const { in: inF, out } = node.attrs as { in: number; out: number };
    const shape = node.inputs[0]!.shape;
    return out * inF * staticNumel(shape.slice(1, -1));
  },
};

export const ops: OpDef[] = [linear];
