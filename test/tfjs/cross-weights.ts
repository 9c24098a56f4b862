/** Weights and inputs for the cross-backend checks (tfjs against onnxruntime on the same values). */
import type { CheckedModel } from "../../src/compile.js";
import { initialValues } from "../../src/weights/init.js";

/** Uniform in [lo, hi) from a linear congruential generator. */
export function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 2 ** 32;
  });
}

/**
 * The init rules' values, with the parameters they leave at constants made random: batch-norm
 * statistics, norm scales and shifts, layer scales and relative position bias tables — so that
 * folding, layer scale and attention bias all matter to the comparison.
 */
export function crossWeights(model: CheckedModel, seed: number): Map<string, Float32Array> {
  const values = initialValues(model.graph, { seed });
  let k = 0;
  for (const [name, v] of values) {
    k++;
    const op = model.graph.params.get(name)!.node.op;
    const norm = op === "bn" || op === "ln" || name.endsWith("layer_norm.weight") || name.endsWith("layer_norm.bias") || name.includes(".norm.");
    if (name.endsWith("running_var")) values.set(name, uniform(v.length, k, 0.5, 1.5));
    else if (name.endsWith("running_mean")) values.set(name, uniform(v.length, k, -0.3, 0.3));
    else if (norm && name.endsWith("weight")) values.set(name, uniform(v.length, k, 0.5, 1.5));
    else if (norm && name.endsWith("bias")) values.set(name, uniform(v.length, k, -0.2, 0.2));
    else if (op === "layer_scale") values.set(name, uniform(v.length, k, 0.3, 0.7));
    else if (name.endsWith("relative_position_bias_table")) values.set(name, uniform(v.length, k, -1, 1));
  }
  return values;
}
