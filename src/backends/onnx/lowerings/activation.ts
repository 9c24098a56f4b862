/** Activations: one ONNX op each where ONNX has it, else the formula PyTorch's exporter writes. */
import { float, int, str } from "../builder.js";
import type { Lowering, LoweringContext } from "../lowering.js";
import { perChannel } from "./norm.js";

const unary =
  (opType: string): Lowering =>
  (ctx) => [ctx.op(opType, [ctx.input()])];

export const relu = unary("Relu");
export const sigmoid = unary("Sigmoid");
export const tanh = unary("Tanh");
export const hardswish = unary("HardSwish");

export const relu6: Lowering = (ctx) => [ctx.op("Clip", [ctx.input(), ctx.scalar(0), ctx.scalar(6)])];

export const leakyRelu: Lowering = (ctx) => [ctx.op("LeakyRelu", [ctx.input()], { alpha: float(ctx.attr<number>("slope")) })];

/** PRelu broadcasts its slope against X from the right: one slope as [1], per-channel slopes as [C, 1, …]. */
export const prelu: Lowering = (ctx) => {
  const slope = ctx.attr<number>("num_parameters") === 1 ? ctx.param("weight") : perChannel(ctx, "weight", ctx.inputShape().length);
  return [ctx.op("PRelu", [ctx.input(), slope])];
};

/** PyTorch's hardsigmoid is relu6(x + 3) / 6; ONNX's default slope is 0.2, so both are given. */
export const hardsigmoid: Lowering = (ctx) => [ctx.op("HardSigmoid", [ctx.input()], { alpha: float(1 / 6), beta: float(0.5) })];

/** ONNX has no SiLU before opset 24 (Swish); Sigmoid · x is what runtimes fuse. */
export const silu: Lowering = (ctx) => [ctx.op("Mul", [ctx.input(), ctx.op("Sigmoid", [ctx.input()])])];

export const softmax: Lowering = (ctx) => [ctx.op("Softmax", [ctx.input()], { axis: int(ctx.attr<number>("axis")) })];

/** x · Φ(x) as 0.5 · x · (1 + erf(x / √2)), the pattern onnxruntime fuses into one Gelu. */
function geluErf(ctx: LoweringContext): string {
  const x = ctx.input();
  const erf = ctx.op("Erf", [ctx.op("Div", [x, ctx.scalar(Math.SQRT2)])]);
  return ctx.op("Mul", [ctx.op("Mul", [x, ctx.op("Add", [erf, ctx.scalar(1)])]), ctx.scalar(0.5)]);
}

/** 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))). */
function geluTanh(ctx: LoweringContext): string {
  const x = ctx.input();
  const cube = ctx.op("Mul", [ctx.op("Mul", [x, x]), x]);
  const inner = ctx.op("Add", [x, ctx.op("Mul", [cube, ctx.scalar(0.044715)])]);
  const t = ctx.op("Tanh", [ctx.op("Mul", [inner, ctx.scalar(Math.sqrt(2 / Math.PI))])]);
  return ctx.op("Mul", [ctx.op("Mul", [x, ctx.op("Add", [t, ctx.scalar(1)])]), ctx.scalar(0.5)]);
}

/** Gelu is an ONNX op from opset 20. */
export const gelu: Lowering = (ctx) => {
  const approximate = ctx.attr<string>("approximate");
  if (ctx.opset >= 20) return [ctx.op("Gelu", [ctx.input()], { approximate: str(approximate) })];
  return [approximate === "tanh" ? geluTanh(ctx) : geluErf(ctx)];
};

/** Inference no-ops (dropout, stochastic depth, identity) forward their input; the emitter adds an Identity only where a graph output needs a tensor of its own. */
export const passThrough: Lowering = (ctx) => [ctx.input()];
