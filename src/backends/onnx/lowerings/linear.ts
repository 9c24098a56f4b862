/** nn.Linear: Gemm on pooled features [N, C], MatMul (+ Add) on tokens and channels-last maps. */
import { int } from "../builder.js";
import type { Lowering, LoweringContext } from "../lowering.js";

/** A [out, in] weight transposed to [in, out] for MatMul, as an initializer `<weight>:T`. */
export function transposedWeight(ctx: LoweringContext, suffix: string): string {
  const { shape } = ctx.paramValue(suffix);
  const [out, inF] = [shape[0]!, shape[1]!];
  return ctx.derived(suffix, "T", [inF, out], (w) => transpose(w, out, inF), `${ctx.node.scope}.${suffix} transposed to [in, out] for MatMul`);
}

export function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w[r * cols + c]!;
  return t;
}

export const linear: Lowering = (ctx) => {
  const bias = ctx.hasParam("bias");
  if (ctx.inputShape().length === 2) {
    // Gemm takes the PyTorch layout as it is (transB), so the weight keeps its name.
    const inputs = [ctx.input(), ctx.param("weight"), ...(bias ? [ctx.param("bias")] : [])];
    return [ctx.op("Gemm", inputs, { transB: int(1) })];
  }
  const y = ctx.op("MatMul", [ctx.input(), transposedWeight(ctx, "weight")]);
  return [bias ? ctx.op("Add", [y, ctx.param("bias")]) : y];
};
