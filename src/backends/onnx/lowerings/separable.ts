/**
 * Linear maps applied along the last one or two axes by constant matrices, as MatMuls: the last
 * axis from the right ([.., L] · [L, n]), the one before it from the left ([m, H] · [.., H, n]).
 * Adaptive average pooling and bicubic resizing use them where ONNX has no exact op.
 */
import type { LoweringContext } from "../lowering.js";

/** A map from `length` inputs to `out` outputs: weight[i · out + o] of input i in output o. */
export interface AxisMatrix {
  length: number;
  out: number;
  weight: Float32Array;
  /** Names the initializer by content, so equal maps share one. */
  key: string;
}

export function isIdentity(m: AxisMatrix): boolean {
  if (m.length !== m.out) return false;
  for (let i = 0; i < m.length; i++) for (let o = 0; o < m.out; o++) if (m.weight[i * m.out + o] !== (i === o ? 1 : 0)) return false;
  return true;
}

function transposed(m: AxisMatrix): Float32Array {
  const t = new Float32Array(m.weight.length);
  for (let i = 0; i < m.length; i++) for (let o = 0; o < m.out; o++) t[o * m.length + i] = m.weight[i * m.out + o]!;
  return t;
}

/**
 * `x` with `last` applied along its last axis and `before` (when given) along the axis before
 * it; an identity map adds nothing.
 */
export function applyAlongLastAxes(ctx: LoweringContext, x: string, last: AxisMatrix, before: AxisMatrix | null = null): string {
  let y = x;
  if (!isIdentity(last)) y = ctx.op("MatMul", [y, ctx.shared(last.key, [last.length, last.out], last.weight)]);
  if (before && !isIdentity(before)) y = ctx.op("MatMul", [ctx.shared(`${before.key}:T`, [before.out, before.length], transposed(before)), y]);
  return y;
}
