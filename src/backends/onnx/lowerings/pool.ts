/** Pooling. Global pools keep the IR's [N, C] result with a Flatten, as torchvision's flatten(1). */
import { int, ints, type Attrs } from "../builder.js";
import type { Lowering, LoweringContext } from "../lowering.js";
import { constantPad } from "./pad.js";
import { applyAlongLastAxes, type AxisMatrix } from "./separable.js";

/** Output length of windows over `padded` cells, in floor mode or in ceil mode as ONNX keeps every window. */
const windows = (padded: number, reach: number, stride: number, ceil: boolean) => (ceil ? Math.ceil : Math.floor)((padded - reach) / stride) + 1;

interface Window {
  attrs: Attrs;
  /** Pads (ONNX order) to write as a Pad of zeros before the pool, whose own pads are then ignored. */
  padFirst: number[] | null;
}

/**
 * PyTorch's ceil mode drops a last window that would start in the right padding; ONNX's shape
 * inference keeps it (onnxruntime's kernel does not, and its memory planning then fails), so
 * ceil mode is written only where PyTorch keeps every window.
 * Where the padded cells are never counted (max pooling, or averages without counting padding)
 * ceil mode is the same as floor mode over end pads grown to reach the last window: that form is
 * written instead, unambiguous everywhere.
 * Where they are counted, ceil mode's windows are floor mode's and a last partial one per axis:
 * if PyTorch keeps none of those, floor mode is written; if it keeps some and drops others, the
 * padding becomes a Pad of zeros before the pool, which is then a pool whose padding is not
 * counted (PyTorch's divisor is the window's part inside the padded input).
 */
function window(ctx: LoweringContext, padsAreIgnored: boolean): Window {
  const kernel = ctx.attr<number[]>("kernel");
  const strides = ctx.attr<number[]>("strides");
  const dilations = ctx.attr<number[]>("dilations") ?? kernel.map(() => 1);
  let pads = [...ctx.attr<number[]>("pads")];
  let ceil = ctx.attr<boolean>("ceil");
  let padFirst: number[] | null = null;
  const n = kernel.length;
  const sizes = ctx.inputShape().slice(2);
  const outs = ctx.outputShape().slice(2);
  if (ceil && [...sizes, ...outs].every((d) => typeof d === "number")) {
    const out = outs as number[];
    const reach = kernel.map((k, d) => dilations[d]! * (k - 1) + 1);
    // End pads that make floor mode reach the last window over `size` (null where they would reach a whole kernel).
    const grownEnds = (size: readonly number[], begins: readonly number[], ends: readonly number[]) => {
      const grown = ends.map((p, d) => p + Math.max(0, (out[d]! - 1) * strides[d]! + reach[d]! - (size[d]! + begins[d]! + p)));
      return grown.every((p, d) => p < kernel[d]!) ? grown : null;
    };
    const size = sizes as number[];
    const [begins, ends] = [pads.slice(0, n), pads.slice(n)];
    const padded = size.map((l, d) => l + begins[d]! + ends[d]!);
    if (padsAreIgnored) {
      const grown = grownEnds(size, begins, ends);
      if (grown) [pads, ceil] = [[...begins, ...grown], false];
    } else if (out.every((o, d) => o === windows(padded[d]!, reach[d]!, strides[d]!, false))) ceil = false;
    else if (out.some((o, d) => windows(padded[d]!, reach[d]!, strides[d]!, true) > o)) {
      const grown = grownEnds(padded, begins.map(() => 0), begins.map(() => 0));
      if (grown) [padFirst, pads, ceil] = [[0, 0, ...begins, 0, 0, ...ends], [...begins.map(() => 0), ...grown], false];
    }
  }
  return { attrs: { kernel_shape: ints(kernel), strides: ints(strides), pads: ints(pads), ceil_mode: int(ceil ? 1 : 0) }, padFirst };
}

export const maxpool: Lowering = (ctx) => [ctx.op("MaxPool", [ctx.input()], { ...window(ctx, true).attrs, dilations: ints(ctx.attr<number[]>("dilations")) })];

export const avgpool: Lowering = (ctx) => {
  const countPad = ctx.attr<boolean>("countIncludePad");
  const { attrs, padFirst } = window(ctx, !countPad);
  const x = padFirst ? constantPad(ctx, ctx.input(), padFirst, 0, { feedsPool: true }) : ctx.input();
  return [ctx.op("AveragePool", [x], { ...attrs, count_include_pad: int(countPad && !padFirst ? 1 : 0) })];
};

const globalPool =
  (opType: string): Lowering =>
  (ctx) => [ctx.op("Flatten", [ctx.op(opType, [ctx.input()])], { axis: int(1) })];

export const gap = globalPool("GlobalAveragePool");
export const gmp = globalPool("GlobalMaxPool");

/** Spatial sizes of the input, or null when one is not static. */
function spatial(ctx: LoweringContext): number[] | null {
  const dims = ctx.inputShape().slice(2);
  return dims.every((d): d is number => typeof d === "number") ? dims : null;
}

/**
 * Adaptive pooling: a global pool when the output is 1 everywhere, a fixed window when every
 * size divides (PyTorch's windows are then exactly k = in / out), else for averages a
 * product with constant pooling matrices (exact for PyTorch's overlapping windows).
 */
function adaptive(opType: "AveragePool" | "MaxPool", globalOp: string): Lowering {
  return (ctx) => {
    const size = ctx.attr<number[]>("size");
    const inSize = spatial(ctx);
    if (size.every((s) => s === 1)) return [ctx.op(globalOp, [ctx.input()])];
    if (inSize === null) return ctx.fail(`adaptive pooling to ${size.join("x")} needs known spatial sizes, got [${ctx.inputShape().join(", ")}]`);
    if (inSize.every((d, i) => d % size[i]! === 0)) {
      const kernel = inSize.map((d, i) => d / size[i]!);
      return [ctx.op(opType, [ctx.input()], { kernel_shape: ints(kernel), strides: ints(kernel) })];
    }
    if (opType === "MaxPool" || inSize.length > 2)
      return ctx.fail(
        `${ctx.node.op} from ${inSize.join("x")} to ${size.join("x")} has overlapping windows, which ONNX has no op for; choose an output size that divides the input`,
      );
    return [averageByMatrices(ctx, inSize, size)];
  };
}

/** P[i, o] = 1 / |window o| for the inputs i in PyTorch's window o = [⌊o·L/n⌋, ⌈(o+1)·L/n⌉). */
function poolingMatrix(length: number, out: number): AxisMatrix {
  const m = new Float32Array(length * out);
  for (let o = 0; o < out; o++) {
    const start = Math.floor((o * length) / out);
    const end = Math.ceil(((o + 1) * length) / out);
    for (let i = start; i < end; i++) m[i * out + o] = 1 / (end - start);
  }
  return { length, out, weight: m, key: `adaptive_avgpool(${length}->${out})` };
}

function averageByMatrices(ctx: LoweringContext, inSize: number[], size: number[]): string {
  const last = inSize.length - 1;
  const before = inSize.length === 2 ? poolingMatrix(inSize[0]!, size[0]!) : null;
  return applyAlongLastAxes(ctx, ctx.input(), poolingMatrix(inSize[last]!, size[last]!), before);
}

export const adaptiveAvgpool = adaptive("AveragePool", "GlobalAveragePool");
export const adaptiveMaxpool = adaptive("MaxPool", "GlobalMaxPool");
