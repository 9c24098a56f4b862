/** Elementwise activations: shape-preserving, no MACs; only prelu holds a parameter (its slopes). */
import type { ArgSpec } from "../../semantics/signature.js";
import type { OpDef } from "../op.js";
import { expectRank, fail, failed, intArg, LAYOUT, normaliseAxis, numArg, staticDim } from "./util.js";

/** An activation that keeps its input's shape; `attrs` picks the arguments backends need. */
function activation(
  name: string,
  doc: string,
  args: ArgSpec[] = [],
  attrs: (args: Readonly<Record<string, unknown>>) => Record<string, unknown> = () => ({}),
): OpDef {
  return {
    name,
    doc,
    args,
    inputs: 1,
    infer(ctx) {
      const bad = expectRank(ctx, 0, { min: 1 }, name);
      if (bad) return bad;
      return { outputs: [ctx.inputs[0]!.shape], attrs: attrs(ctx.args) };
    },
  };
}

const softmax: OpDef = {
  name: "softmax",
  doc: "Softmax along `axis` (default the channel dim).",
  args: [{ name: "axis", type: "int", default: 1 }],
  inputs: 1,
  infer(ctx) {
    const bad = expectRank(ctx, 0, { min: 1 }, "softmax");
    if (bad) return bad;
    const shape = ctx.inputs[0]!.shape;
    const axis = normaliseAxis(ctx, intArg(ctx, "axis"), shape.length, "softmax");
    if (failed(axis)) return axis;
    return { outputs: [shape], attrs: { axis } };
  },
};

/**
 * PyTorch's nn.PReLU: x for x > 0, a · x otherwise, with learned slopes `weight` of shape
 * [num_parameters]: one shared by every element (the default, MONAI's `act="prelu"`) or one per
 * channel, dim 1 of the input as in PyTorch.
 */
const prelu: OpDef = {
  name: "prelu",
  doc: "x for x > 0, weight · x otherwise, with a learned slope: one for all (num_parameters=1) or one per channel (dim 1).",
  args: [
    { name: "num_parameters", type: "int", default: 1, min: 1, doc: "1, or the channel count (dim 1) for a slope per channel" },
    { name: "init", type: "float", default: 0.25, doc: "the slopes' starting value" },
  ],
  inputs: 1,
  infer(ctx) {
    const count = intArg(ctx, "num_parameters");
    const bad = expectRank(ctx, 0, { min: count === 1 ? 1 : 2 }, "prelu", count === 1 ? {} : { layout: LAYOUT.channels });
    if (bad) return bad;
    if (count !== 1) {
      const channels = staticDim(ctx, 0, 1, "prelu");
      if (failed(channels)) return channels;
      if (channels !== count)
        return fail("MEDG301", `prelu(num_parameters=${count}) needs 1 or the ${channels} channels (dim 1) of ${ctx.describe(0)}`);
    }
    return { outputs: [ctx.inputs[0]!.shape], attrs: { num_parameters: count, init: numArg(ctx, "init") } };
  },
  params(node) {
    return [{ name: "weight", shape: [node.attrs["num_parameters"] as number], init: { kind: "constant", value: node.attrs["init"] as number } }];
  },
};

export const ops: OpDef[] = [
  activation("relu", "max(x, 0)."),
  activation("relu6", "min(max(x, 0), 6), MobileNet's clipped ReLU."),
  activation("leaky_relu", "x for x > 0, slope · x otherwise.", [{ name: "slope", type: "float", default: 0.01 }], (a) => ({
    slope: a["slope"] as number,
  })),
  prelu,
  activation(
    "gelu",
    "Gaussian error linear unit, exact (erf) or with the tanh approximation.",
    [{ name: "approximate", type: "enum", choices: ["none", "tanh"], default: "none" }],
    (a) => ({ approximate: a["approximate"] as string }),
  ),
  activation("silu", "x · sigmoid(x) (swish), EfficientNet's activation."),
  activation("sigmoid", "1 / (1 + exp(-x))."),
  activation("hardswish", "x · relu6(x + 3) / 6, MobileNetV3's activation."),
  activation("hardsigmoid", "relu6(x + 3) / 6."),
  activation("tanh", "Hyperbolic tangent."),
  softmax,
  activation("identity", "Passes its input through unchanged (a placeholder, like nn.Identity)."),
];
