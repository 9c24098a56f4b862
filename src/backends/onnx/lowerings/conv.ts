/** Convolutions: the IR's window attributes are ONNX's, pads already per side. */
import { int, ints } from "../builder.js";
import type { Lowering, LoweringContext } from "../lowering.js";
import { constantPad } from "./pad.js";

function window(ctx: LoweringContext, pads: readonly number[] = ctx.attr<number[]>("pads")) {
  return {
    kernel_shape: ints(ctx.attr<number[]>("kernel")),
    strides: ints(ctx.attr<number[]>("strides")),
    pads: ints(pads),
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

/**
 * PyTorch's and ONNX's ConvTranspose agree on the weight layout [in, out / g, ...k] and on output
 * size. PyTorch allows an output_padding below the stride or below the dilation, onnxruntime
 * only below the stride: beyond it, the output_padding is taken from the end pads (which crop
 * the full output), and what they cannot give is zeros padded on before the bias is added, as
 * PyTorch's cells past the full output hold the bias alone.
 */
export const convTranspose: Lowering = (ctx) => {
  const outputPadding = ctx.attr<number[]>("outputPadding");
  const strides = ctx.attr<number[]>("strides");
  if (outputPadding.every((p, d) => p < strides[d]!)) return [ctx.op("ConvTranspose", [ctx.input(), ...weights(ctx)], { ...window(ctx), output_padding: ints(outputPadding) })];
  const n = outputPadding.length;
  const pads = ctx.attr<number[]>("pads");
  const ends = outputPadding.map((p, d) => pads[n + d]! - p);
  const folded = [...pads.slice(0, n), ...ends.map((e) => Math.max(e, 0))];
  if (ends.every((e) => e >= 0)) return [ctx.op("ConvTranspose", [ctx.input(), ...weights(ctx)], window(ctx, folded))];
  let y = ctx.op("ConvTranspose", [ctx.input(), ctx.param("weight")], window(ctx, folded));
  const zeros = new Array<number>(n + 2).fill(0);
  y = constantPad(ctx, y, [...zeros, 0, 0, ...ends.map((e) => Math.max(-e, 0))], 0);
  if (!ctx.hasParam("bias")) return [y];
  const channels = ctx.outputShape()[1] as number;
  const bias = ctx.derived("bias", "column", [channels, ...new Array<number>(n).fill(1)], (b) => b, `${ctx.node.scope}.bias as a column over the spatial dims`);
  return [ctx.op("Add", [y, bias])];
};
