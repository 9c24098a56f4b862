/** Elementwise activations: shape-preserving, no parameters, no MACs. */
import type { ArgSpec } from "../../semantics/signature.js";
import type { OpDef } from "../op.js";
import { expectRank, failed, intArg, normaliseAxis } from "./util.js";

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

export const ops: OpDef[] = [
  activation("relu", "max(x, 0)."),
  activation("relu6", "min(max(x, 0), 6), MobileNet's clipped ReLU."),
  activation("leaky_relu", "x for x > 0, slope · x otherwise.", [{ name: "slope", type: "float", default: 0.01 }], (a) => ({
    slope: a["slope"] as number,
  })),
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
