/** Elementwise activations keep their input's layout; softmax moves its axis last (tfjs needs it there). */
import type { Tensor, Tf } from "../types.js";
import type { Kernel } from "./context.js";
import { Act, relayout, withAxisLast } from "./layout.js";
import { vectorAlong } from "./util.js";

function elementwise<A = Record<string, never>>(f: (tf: Tf, t: Tensor, a: A) => Tensor): Kernel<A> {
  return (ctx, [x], _w, a) => new Act(f(ctx.tf, x!.t, a), x!.layout);
}

/** 0.5 · x · (1 + erf(x / √2)), or the tanh approximation; tfjs 4.22 has no gelu op. */
function gelu(tf: Tf, t: Tensor, approximate: string): Tensor {
  if (approximate === "tanh") {
    const inner = tf.mul(tf.add(t, tf.mul(tf.pow(t, 3), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(t, 0.5), tf.add(tf.tanh(inner), 1));
  }
  return tf.mul(tf.mul(t, 0.5), tf.add(tf.erf(tf.mul(t, Math.SQRT1_2)), 1));
}

const hardsigmoid = (tf: Tf, t: Tensor) => tf.div(tf.relu6(tf.add(t, 3)), 6);

export const softmax: Kernel<{ axis: number }> = (ctx, [x], _w, a) => {
  const moved = relayout(ctx.tf, x!, withAxisLast(x!.layout, a.axis));
  return new Act(ctx.tf.softmax(moved.t), moved.layout);
};

/** One slope for every element, or one per channel (logical dim 1, wherever it sits physically); tf.prelu's gradient reaches the slopes. */
export const prelu: Kernel<{ num_parameters: number }> = (ctx, [x], w, a) => {
  const t = x!.t;
  const slope = a.num_parameters === 1 ? ctx.tf.reshape(w.weight!, []) : vectorAlong(ctx.tf, w.weight!, t.rank, x!.axis(1));
  return new Act(ctx.tf.prelu(t, slope), x!.layout);
};

export const activationKernels = {
  relu: elementwise((tf, t) => tf.relu(t)),
  relu6: elementwise((tf, t) => tf.relu6(t)),
  leaky_relu: elementwise<{ slope: number }>((tf, t, a) => tf.leakyRelu(t, a.slope)),
  prelu,
  gelu: elementwise<{ approximate: string }>((tf, t, a) => gelu(tf, t, a.approximate)),
  silu: elementwise((tf, t) => tf.mul(t, tf.sigmoid(t))),
  sigmoid: elementwise((tf, t) => tf.sigmoid(t)),
  hardswish: elementwise((tf, t) => tf.mul(t, hardsigmoid(tf, t))),
  hardsigmoid: elementwise(hardsigmoid),
  tanh: elementwise((tf, t) => tf.tanh(t)),
  softmax,
  identity: ((_ctx, [x]) => x!) as Kernel<unknown>,
};
