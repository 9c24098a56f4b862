/**
 * F.pad as ONNX Pad, and the constant padding other lowerings add.
 *
 * onnxruntime's PadFusion moves a constant Pad whose value is all zero bytes into the pads of
 * the Conv, MaxPool or AveragePool it feeds. That is exact for Conv only: max pooling then
 * ignores the cells (PyTorch takes their zeros), average pooling may leave them out of the
 * count, and pads reaching the kernel size fail the session. Before a pool the value is
 * written as -0.0, which compares and adds as 0 but is not zero bytes: no fusion.
 */
import type { Node, Value } from "../../../ir/graph.js";
import { str } from "../builder.js";
import type { Lowering, LoweringContext } from "../lowering.js";

/** IR ops lowered to a MaxPool or an AveragePool, whose pads onnxruntime may grow with a Pad's. */
const POOLS: ReadonlySet<string> = new Set(["maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool"]);

function feedsPool(value: Value): boolean {
  return [...value.uses].some((n: Node) => POOLS.has(n.op));
}

/**
 * `x` padded with `value`: `pads` as ONNX's (all begins, then all ends). A zero value is left
 * implicit unless the Pad feeds a pool (see above): by default, when the node's output does.
 */
export function constantPad(ctx: LoweringContext, x: string, pads: readonly number[], value: number, options: { feedsPool?: boolean } = {}): string {
  const inputs = [x, ctx.ints("pads", pads)];
  if (value !== 0) inputs.push(ctx.scalar(value));
  else if (options.feedsPool ?? ctx.node.outputs.some(feedsPool)) inputs.push(ctx.scalar(-0));
  return ctx.op("Pad", inputs, { mode: str("constant") });
}

const PAD_MODE: Readonly<Record<string, string>> = { constant: "constant", reflect: "reflect", replicate: "edge" };

export const pad: Lowering = (ctx) => {
  const pads = [...ctx.attr<number[]>("begin"), ...ctx.attr<number[]>("end")];
  const mode = ctx.attr<string>("mode");
  if (mode === "constant") return [constantPad(ctx, ctx.input(), pads, ctx.attr<number>("value"))];
  return [ctx.op("Pad", [ctx.input(), ctx.ints("pads", pads)], { mode: str(PAD_MODE[mode] ?? mode) })];
};
