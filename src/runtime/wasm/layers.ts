/**
 * The runtime's 2-d convolution on the wasm backend: CONV2D_OIHW (wasm/conv.ts) takes the weight in
 * the IR's layout, and its gradient (registered by enableWasmTraining) reads and produces that
 * layout directly.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Tensor, Tf } from "../types.js";
import { CONV2D_OIHW, CONV2D_OIHW_FILTER_GRADIENT, CONV2D_OIHW_INPUT_GRADIENT } from "./conv.js";

type Pad = "valid" | [[number, number], [number, number], [number, number], [number, number]];

export function conv2dOihw(tf: Tf, x: Tensor, weight: Tensor, strides: [number, number], pad: Pad): Tensor {
  return tf.engine().runKernel(CONV2D_OIHW, { x, filter: weight }, { strides, pad } as unknown as tfjs.NamedAttrMap) as Tensor;
}

/** The gradient of CONV2D_OIHW: each input's only when the tape asks for it (a frozen weight's never). */
export function conv2dOihwGradient(tf: Tf): tfjs.GradConfig {
  return {
    kernelName: CONV2D_OIHW,
    inputsToSave: ["x", "filter"],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [Tensor, Tensor];
      const [o, c, kh, kw] = filter.shape as [number, number, number, number];
      const common = { strides: attrs.strides, pad: attrs.pad };
      return {
        x: () => tf.engine().runKernel(CONV2D_OIHW_INPUT_GRADIENT, { dy: dy as Tensor, filter }, { ...common, inputShape: x.shape } as unknown as tfjs.NamedAttrMap) as Tensor,
        filter: () => tf.engine().runKernel(CONV2D_OIHW_FILTER_GRADIENT, { x, dy: dy as Tensor }, { ...common, filterShape: [kh, kw, c, o] } as unknown as tfjs.NamedAttrMap) as Tensor,
      };
    },
  };
}
