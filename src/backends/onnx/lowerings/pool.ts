/** Pooling. Global pools keep the IR's [N, C] result with a Flatten, as torchvision's flatten(1). */
import { int, ints } from "../builder.js";
import type { Lowering, LoweringContext } from "../lowering.js";

/**
 * PyTorch's ceil mode drops a last window that would start in the right padding; ONNX's shape
 * inference does not, so it disagrees with onnxruntime and PyTorch on such outputs.
 * Where the padded cells are never counted (max pooling, or averages without counting padding)
 * ceil mode is the same as floor mode over end pads grown to reach the last window: that form is
 * written instead, unambiguous everywhere.
 */
function window(ctx: LoweringContext, padsAreIgnored: boolean) {
  const kernel = ctx.attr<number[]>("kernel");
  const strides = ctx.attr<number[]>("strides");
  const dilations = ctx.attr<number[]>("dilations") ?? kernel.map(() => 1);
  const pads = [...ctx.attr<number[]>("pads")];
  let ceil = ctx.attr<boolean>("ceil");
  const n = kernel.length;
  const sizes = ctx.inputShape().slice(2);
  const outs = ctx.outputShape().slice(2);
  if (ceil && padsAreIgnored && [...sizes, ...outs].every((d) => typeof d === "number")) {
    const grown = pads.map((p, i) => {
      if (i < n) return p;
      const d = i - n;
      const reach = ((outs[d] as number) - 1) * strides[d]! + dilations[d]! * (kernel[d]! - 1) + 1;
      return p + Math.max(0, reach - ((sizes[d] as number) + pads[d]! + p));
    });
    if (grown.every((p, i) => p < kernel[i % n]!)) {
      pads.splice(0, pads.length, ...grown);
      ceil = false;
    }
  }
  return { kernel_shape: ints(kernel), strides: ints(strides), pads: ints(pads), ceil_mode: int(ceil ? 1 : 0) };
}

export const maxpool: Lowering = (ctx) => [ctx.op("MaxPool", [ctx.input()], { ...window(ctx, true), dilations: ints(ctx.attr<number[]>("dilations")) })];

export const avgpool: Lowering = (ctx) => {
  const countPad = ctx.attr<boolean>("countIncludePad");
  return [ctx.op("AveragePool", [ctx.input()], { ...window(ctx, !countPad), count_include_pad: int(countPad ? 1 : 0) })];
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
function poolingMatrix(length: number, out: number): Float32Array {
  const m = new Float32Array(length * out);
  for (let o = 0; o < out; o++) {
    const start = Math.floor((o * length) / out);
    const end = Math.ceil(((o + 1) * length) / out);
    for (let i = start; i < end; i++) m[i * out + o] = 1 / (end - start);
  }
  return m;
}

function averageByMatrices(ctx: LoweringContext, inSize: number[], size: number[]): string {
  const last = inSize.length - 1;
  // The last dim multiplies from the right: [.., L] · [L, n].
  let y = ctx.op("MatMul", [ctx.input(), ctx.constant(`pool_w`, [inSize[last]!, size[last]!], poolingMatrix(inSize[last]!, size[last]!))]);
  if (inSize.length === 2) {
    // The height from the left: [n, H] · [.., H, w'], the transposed matrix.
    const [h, n] = [inSize[0]!, size[0]!];
    const p = poolingMatrix(h, n);
    const t = new Float32Array(h * n);
    for (let i = 0; i < h; i++) for (let o = 0; o < n; o++) t[o * h + i] = p[i * n + o]!;
    y = ctx.op("MatMul", [ctx.constant("pool_h", [n, h], t), y]);
  }
  return y;
}

export const adaptiveAvgpool = adaptive("AveragePool", "GlobalAveragePool");
export const adaptiveMaxpool = adaptive("MaxPool", "GlobalMaxPool");
