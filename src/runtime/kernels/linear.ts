/** nn.Linear on the last logical dim; the other dims keep whatever physical order they have. */
import type { Tensor, Tf } from "../types.js";
import type { Kernel } from "./context.js";
import { Act, relayout, withAxisLast } from "./layout.js";

/** x · Wᵀ + b over the last physical axis of `t`, with W as PyTorch stores it: [out, in]. */
export function dense(tf: Tf, t: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const shape = t.shape as number[];
  const rows = tf.reshape(t, [-1, shape[shape.length - 1]!]);
  let y = tf.matMul(rows, weight, false, true);
  if (bias) y = tf.add(y, bias);
  return tf.reshape(y, [...shape.slice(0, -1), weight.shape[0]!]);
}

export const linear: Kernel<{ in: number; out: number; bias: boolean }> = (ctx, [x], w) => {
  const moved = relayout(ctx.tf, x!, withAxisLast(x!.layout, x!.rank - 1));
  return new Act(dense(ctx.tf, moved.t, w.weight!, w.bias), moved.layout);
};

export const linearKernels = { linear };
