/** Tensor plumbing: elementwise joins, concat/split, reshapes, resize, pad, channel repetition. */
import { sameShape } from "../../../ir/types.js";
import { float, int, ints, str, type Attrs } from "../builder.js";
import type { Lowering, LoweringContext, LoweringFailure } from "../lowering.js";

/**
 * The IR broadcasts channels-first (shapes aligned at the batch, a shorter one padded with
 * trailing 1s); ONNX aligns shapes at the last dim. A lower-rank input gets its trailing
 * axes as explicit 1s.
 */
function aligned(ctx: LoweringContext, i: number): string {
  const rank = ctx.outputShape().length;
  const r = ctx.inputShape(i).length;
  if (r === rank) return ctx.input(i);
  return ctx.unsqueeze(ctx.input(i), Array.from({ length: rank - r }, (_, k) => r + k));
}

function elementwise(binary: string, variadic: string | null): Lowering {
  return (ctx) => {
    const xs = Array.from({ length: ctx.inputCount }, (_, i) => (ctx.attr<boolean>("broadcast") ? aligned(ctx, i) : ctx.input(i)));
    if (xs.length === 1) return [xs[0]!];
    if (xs.length > 2 && variadic) return [ctx.op(variadic, xs)];
    let y = ctx.op(binary, [xs[0]!, xs[1]!]);
    for (const x of xs.slice(2)) y = ctx.op(binary, [y, x]);
    return [y];
  };
}

export const add = elementwise("Add", "Sum");
export const mul = elementwise("Mul", null);

export const concat: Lowering = (ctx) => {
  const xs = Array.from({ length: ctx.inputCount }, (_, i) => ctx.input(i));
  if (xs.length === 1) return xs;
  return [ctx.op("Concat", xs, { axis: int(ctx.attr<number>("axis")) })];
};

export const split: Lowering = (ctx) => {
  const sizes = ctx.attr<number[]>("sizes");
  if (sizes.length === 1) return [ctx.input()];
  return ctx.ops("Split", [ctx.input(), ctx.ints("split", sizes)], { axis: int(ctx.attr<number>("axis")) }, sizes.length);
};

/** Reshape to the inferred output shape: static dims as they are, the batch copied. */
function reshapeToOutput(ctx: LoweringContext): string[] | LoweringFailure {
  const out = ctx.outputShape();
  if (sameShape(out, ctx.inputShape())) return [ctx.input()];
  if (out.slice(1).filter((d) => typeof d !== "number").length > 1)
    return ctx.fail(`${ctx.node.op} to [${out.join(", ")}] has more than one dim of unknown size besides the batch`);
  return [ctx.reshape(ctx.input(), out)];
}

export const reshape: Lowering = reshapeToOutput;

export const flatten: Lowering = (ctx) => {
  const rank = ctx.inputShape().length;
  if (ctx.attr<number>("start") === 1 && ctx.attr<number>("end") === rank - 1 && rank > 2)
    return [ctx.op("Flatten", [ctx.input()], { axis: int(1) })];
  return reshapeToOutput(ctx);
};

export const permute: Lowering = (ctx) => [ctx.op("Transpose", [ctx.input()], { perm: ints(ctx.attr<number[]>("perm")) })];
export const transpose = permute;

const isExactFloat32 = (x: number) => Math.fround(x) === x;

/**
 * Resize as PyTorch's interpolate: nearest is asymmetric + floor; the interpolating modes use
 * pytorch_half_pixel (or align_corners) and bicubic PyTorch's a = -0.75. Target sizes go in as
 * sizes where ONNX can take them for the spatial axes only (opset 18's `axes`, or a fixed batch);
 * at opset 17 an exact float scale does, and only an inexact one needs the batch from Shape.
 */
export const resize: Lowering = (ctx) => {
  const mode = ctx.attr<string>("mode");
  const rank = ctx.inputShape().length;
  const alignCorners = ctx.attr<boolean>("alignCorners");
  const attrs: Attrs =
    mode === "nearest"
      ? { mode: str("nearest"), coordinate_transformation_mode: str("asymmetric"), nearest_mode: str("floor") }
      : {
          mode: str(mode === "bicubic" ? "cubic" : "linear"),
          coordinate_transformation_mode: str(alignCorners ? "align_corners" : "pytorch_half_pixel"),
          ...(mode === "bicubic" ? { cubic_coeff_a: float(-0.75) } : {}),
        };
  const scales = ctx.attr<number[] | null>("scales");
  const inSize = ctx.inputShape().slice(2);
  const outSize = ctx.attr<(number | string)[]>("sizes");
  const floats = (xs: number[]) => ctx.constant(`scales`, [xs.length], Float32Array.from(xs));
  if (scales !== null) return [ctx.op("Resize", [ctx.input(), "", floats([1, 1, ...scales])], attrs)];
  if (!outSize.every((d): d is number => typeof d === "number") || !inSize.every((d): d is number => typeof d === "number"))
    return ctx.fail(`${ctx.node.op} to a size needs known spatial sizes, got [${ctx.inputShape().join(", ")}]`);
  if (ctx.opset >= 18) {
    const axes = Array.from({ length: rank - 2 }, (_, i) => i + 2);
    return [ctx.op("Resize", [ctx.input(), "", "", ctx.ints("sizes", outSize)], { ...attrs, axes: ints(axes) })];
  }
  const channels = ctx.inputShape()[1];
  if (ctx.batch !== null && typeof channels === "number")
    return [ctx.op("Resize", [ctx.input(), "", "", ctx.ints("sizes", [ctx.batch, channels, ...outSize])], attrs)];
  const ratios = outSize.map((o, i) => o / inSize[i]!);
  if (ratios.every(isExactFloat32)) return [ctx.op("Resize", [ctx.input(), "", floats([1, 1, ...ratios])], attrs)];
  const leading = ctx.op("Shape", [ctx.input()], { start: int(0), end: int(2) });
  const sizes = ctx.op("Concat", [leading, ctx.ints("sizes", outSize)], { axis: int(0) });
  return [ctx.op("Resize", [ctx.input(), "", "", sizes], attrs)];
};

const PAD_MODE: Readonly<Record<string, string>> = { constant: "constant", reflect: "reflect", replicate: "edge" };

export const pad: Lowering = (ctx) => {
  const pads = [...ctx.attr<number[]>("begin"), ...ctx.attr<number[]>("end")];
  const mode = ctx.attr<string>("mode");
  const inputs = [ctx.input(), ctx.ints("pads", pads)];
  if (mode === "constant" && ctx.attr<number>("value") !== 0) inputs.push(ctx.scalar(ctx.attr<number>("value")));
  return [ctx.op("Pad", inputs, { mode: str(PAD_MODE[mode] ?? mode) })];
};

/** x.repeat(1, n, 1, …): Tile with the repeats static, so the batch stays symbolic. */
export const repeatChannels: Lowering = (ctx) => {
  const rank = ctx.inputShape().length;
  const repeats = [1, ctx.attr<number>("repeats"), ...new Array<number>(rank - 2).fill(1)];
  return [ctx.op("Tile", [ctx.input(), ctx.ints("repeats", repeats)])];
};
