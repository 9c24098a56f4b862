/**
 * One Adam or AdamW update of one parameter as a single loop over the wasm backend's heap. Written
 * with tf ops (optim.ts) the update is some fifteen kernels per parameter, each a pass over memory
 * and a round through the engine: for EfficientNet-B0 three thousand kernels per step. The
 * arithmetic is optim.ts's, in the same order: four float32 lanes at a time in WebAssembly SIMD
 * (simd.ts) on the single-threaded backend, else in float64 rounded once to float32.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Tensor, Tf } from "../types.js";
import { simdKernels } from "./simd.js";
import type { KernelArgs } from "./ops.js";

export const ADAM_STEP = "MedgAdamStep";

export interface AdamStepAttrs {
  beta1: number;
  beta2: number;
  eps: number;
  /** The parameter's factor before the step: 1 - lr·weight_decay for AdamW, else 1. */
  shrink: number;
  /** The L2 weight decay added to the gradient (Adam), else 0. */
  l2: number;
  /** sqrt(1 - β2^t) and lr / (1 - β1^t). */
  rootBc2: number;
  stepSize: number;
}

/** [param, exp_avg, exp_avg_sq] after the step, from param, grad, exp_avg, exp_avg_sq (float32). */
export function adamStep(): tfjs.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const { beta1, beta2, eps, shrink, l2, rootBc2, stepSize } = attrs as unknown as AdamStepAttrs;
    const shape = inputs.param!.shape;
    const outs = [0, 1, 2].map(() => backend.makeOutput([...shape], "float32"));
    // Views taken after every output is made: making one may grow (and so move) the heap.
    const [p, g, m, v] = [inputs.param!, inputs.grad!, inputs.m!, inputs.v!].map((t) => backend.typedArrayFromHeap(t) as Float32Array);
    const [po, mo, vo] = outs.map((t) => backend.typedArrayFromHeap(t) as Float32Array);
    const [c1, c2] = [1 - beta1, 1 - beta2];
    const simd = simdKernels(backend)?.adam;
    // Four lanes at a time where the SIMD loop runs; the rest (or all) here.
    const lanes = simd ? p!.length - (p!.length % 4) : 0;
    if (simd && lanes > 0) {
      const at = [p, g, m, v, po, mo, vo].map((a) => a!.byteOffset);
      simd(at[0]!, at[1]!, at[2]!, at[3]!, at[4]!, at[5]!, at[6]!, lanes * 4, beta1, beta2, c1, c2, shrink, l2, rootBc2, eps, stepSize);
    }
    for (let i = lanes, n = p!.length; i < n; i++) {
      const pi = p![i]!;
      const gi = l2 === 0 ? g![i]! : g![i]! + pi * l2;
      const mi = m![i]! * beta1 + gi * c1;
      const vi = v![i]! * beta2 + gi * gi * c2;
      mo![i] = mi;
      vo![i] = vi;
      po![i] = pi * shrink - (mi / (Math.sqrt(vi) / rootBc2 + eps)) * stepSize;
    }
    return outs;
  };
}

/** Runs ADAM_STEP (registered for the wasm backend only): the new [param, exp_avg, exp_avg_sq]. */
export function runAdamStep(tf: Tf, p: Tensor, g: Tensor, m: Tensor, v: Tensor, attrs: AdamStepAttrs): [Tensor, Tensor, Tensor] {
  return tf.engine().runKernel(ADAM_STEP, { param: p, grad: g, m, v }, attrs as unknown as tfjs.NamedAttrMap) as unknown as [Tensor, Tensor, Tensor];
}
