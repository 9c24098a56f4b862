/**
 * Identity and same-dtype Cast without a copy. The wasm backend copies the tensor for both; the
 * engine calls Identity for every tensor a gradient saves (some 850 per ResNet-18 training step)
 * and Cast(float32 → float32) in several gradients, so the copies and the garbage they leave cost
 * more than some convolutions. Sharing the data, as the pure-JS backend does, is safe: no kernel
 * writes into its inputs, and the backend counts references per data id (Reshape shares the same
 * way).
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { KernelArgs } from "./ops.js";

function shared({ inputs: { x }, backend }: KernelArgs, dtype: tfjs.DataType): tfjs.TensorInfo {
  backend.incRef(x!.dataId);
  return { dataId: x!.dataId, shape: x!.shape, dtype };
}

export function identity(original: tfjs.KernelFunc | undefined): tfjs.KernelFunc {
  return (args) => {
    const a = args as unknown as KernelArgs;
    return a.inputs.x!.dtype === "string" && original ? original(args) : shared(a, a.inputs.x!.dtype);
  };
}

export function cast(original: tfjs.KernelFunc | undefined): tfjs.KernelFunc {
  return (args) => {
    const a = args as unknown as KernelArgs;
    const dtype = a.attrs.dtype as tfjs.DataType;
    if (dtype === a.inputs.x!.dtype && dtype !== "string") return shared(a, dtype);
    if (!original) throw new Error("the wasm backend has no Cast kernel");
    return original(args);
  };
}
