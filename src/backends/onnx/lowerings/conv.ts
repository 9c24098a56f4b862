/** Convolutions: the IR's window attributes are ONNX's, pads already per side. */
import { int, ints } from "../builder.js";
import type { Lowering, LoweringContext } from "../lowering.js";

function window(ctx: LoweringContext) {
  return {
    kernel_shape: ints(ctx.attr<number[]>("kernel")),
    strides: ints(ctx.attr<number[]>("strides")),
    pads: ints(ctx.attr<number[]>("pads")),
    dilations: ints(ctx.attr<number[]>("dilations")),
    group: int(ctx.attr<number>("group")),
  };
}

/** Weight and, when present (written, or added by BatchNorm folding), bias. */
function weights(ctx: LoweringContext): string[] {
  return ctx.hasParam("bias") ? [ctx.param("weight"), ctx.param("bias")] : [ctx.param("weight")];
}

export const conv: Lowering = (ctx) => [ctx.op("Conv", [ctx.input(), ...weights(ctx)], window(ctx))];

export const dwconv = conv;

/** PyTorch's and ONNX's ConvTranspose agree on the weight layout [in, out / g, ...k] and on output size. */
export const convTranspose: Lowering = (ctx) => [
  ctx.op("ConvTranspose", [ctx.input(), ...weights(ctx)], {
    ...window(ctx),
    output_padding: ints(ctx.attr<number[]>("outputPadding")),
  }),
];
