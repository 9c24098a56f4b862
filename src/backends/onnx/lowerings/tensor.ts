/** Tensor plumbing: elementwise joins, concat/split, reshapes, channel repetition. */
import { sameShape } from "../../../ir/types.js";
import { int, ints } from "../builder.js";
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

/** x.repeat(1, n, 1, …): Tile with the repeats static, so the batch stays symbolic. */
export const repeatChannels: Lowering = (ctx) => {
  const rank = ctx.inputShape().length;
  const repeats = [1, ctx.attr<number>("repeats"), ...new Array<number>(rank - 2).fill(1)];
  return [ctx.op("Tile", [ctx.input(), ctx.ints("repeats", repeats)])];
};
