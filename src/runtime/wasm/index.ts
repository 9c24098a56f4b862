/**
 * Training on @tensorflow/tfjs-backend-wasm: the kernels its gradients need that it lacks or gets
 * wrong, and faster versions of a few it has, registered for the "wasm" backend (the kernel
 * registry is tfjs's global one, so every op's gradient finds them, whoever calls it). Each is
 * built from kernels the backend runs well, or is a loop over its heap; test/wasm checks each
 * against the pure-JS backend.
 */
import type * as tfjs from "@tensorflow/tfjs";
import type { Tf } from "../types.js";
import {
  CONV2D_OIHW,
  CONV2D_OIHW_FILTER_GRADIENT,
  CONV2D_OIHW_INPUT_GRADIENT,
  conv2dBackpropFilter,
  conv2dBackpropInput,
  conv2dOihw,
  conv2dOihwFilterGradient,
  conv2dOihwInputGradient,
  conv3dBackpropFilter,
  conv3dBackpropInput,
  depthwiseBackpropFilter,
  depthwiseBackpropInput,
} from "./conv.js";
import { ADAM_STEP, adamStep } from "./adam.js";
import { BN_TRAIN, BN_TRAIN_GRAD, bnTrain, bnTrainGrad } from "./batchnorm.js";
import { conv2dOihwGradient } from "./layers.js";
import { cast, identity } from "./memory.js";
import { maxPool3d, maxPool3dGrad, maxPoolGrad } from "./pool.js";
import { mean, sum } from "./reduce.js";
import { unsortedSegmentSum } from "./segment.js";

/** Kernel name → its replacement, made from tf and the backend's own kernel function (if any). */
const replacements: Record<string, (tf: Tf, original: tfjs.KernelFunc | undefined) => tfjs.KernelFunc> = {
  // Missing in tfjs-backend-wasm 4.22.
  Conv2DBackpropFilter: conv2dBackpropFilter,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
  UnsortedSegmentSum: unsortedSegmentSum,
  // Present but wrong.
  Conv3DBackpropInputV2: conv3dBackpropInput,
  Conv3DBackpropFilterV2: conv3dBackpropFilter,
  MaxPoolGrad: maxPoolGrad,
  MaxPool3D: maxPool3d,
  MaxPool3DGrad: maxPool3dGrad,
  // Present and right, but a plain loop several times slower than the convolution it reverses.
  Conv2DBackpropInput: conv2dBackpropInput,
  // Present and right, but transposing a full copy first when the reduced axes are not innermost.
  Sum: sum,
  Mean: mean,
  // The runtime's own 2-d convolution on weights in the IR's layout (see conv.ts).
  [CONV2D_OIHW]: conv2dOihw,
  [CONV2D_OIHW_INPUT_GRADIENT]: conv2dOihwInputGradient,
  [CONV2D_OIHW_FILTER_GRADIENT]: conv2dOihwFilterGradient,
  // One optimizer update as one kernel (see adam.ts).
  [ADAM_STEP]: () => adamStep(),
  // Training-mode batch norm as one kernel forward and one backward (see batchnorm.ts).
  [BN_TRAIN]: () => bnTrain(),
  [BN_TRAIN_GRAD]: () => bnTrainGrad(),
  // Present and right, but copying what can be shared.
  Identity: (_tf, original) => identity(original),
  Cast: (_tf, original) => cast(original),
};

const installed = Symbol.for("medg.wasmTraining");

/** Registers the replacements for the "wasm" backend; safe to call more than once. */
export function enableWasmTraining(tf: Tf): void {
  for (const [name, make] of Object.entries(replacements)) {
    const current = tf.getKernel(name, "wasm") as (tfjs.KernelConfig & { kernelFunc: { [installed]?: true } }) | undefined;
    if (current?.kernelFunc[installed]) continue;
    if (current) tf.unregisterKernel(name, "wasm");
    const kernelFunc = Object.assign(make(tf, current?.kernelFunc), { [installed]: true as const });
    tf.registerKernel({ ...(current ?? {}), kernelName: name, backendName: "wasm", kernelFunc });
  }
  if (!tf.getGradient(CONV2D_OIHW)) tf.registerGradient(conv2dOihwGradient(tf));
}
