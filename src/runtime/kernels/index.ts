/**
 * One forward function per IR op, keyed by `OpName`: an op without a kernel fails to typecheck.
 * Emitted models call them as `k.conv(ctx, [x], { weight }, attrs)` and wrap the model's input
 * and outputs with `k.input` / `k.output`.
 */
import type { OpName } from "../../ir/ops/index.js";
import type { Tensor } from "../types.js";
import { activationKernels } from "./activation.js";
import type { ForwardContext, Kernel } from "./context.js";
import { convKernels } from "./conv.js";
import { Act, identity, logical } from "./layout.js";
import { linearKernels } from "./linear.js";
import { normKernels } from "./norm.js";
import { poolKernels } from "./pool.js";
import { tensorKernels } from "./tensor.js";
import { transformerKernels } from "./transformer.js";

export const opKernels: Readonly<Record<OpName, Kernel<never>>> = {
  ...convKernels,
  ...normKernels,
  ...activationKernels,
  ...poolKernels,
  ...linearKernels,
  ...tensorKernels,
  ...transformerKernels,
};

/** A model input given channels-first, as the IR declares it. */
export function input(_ctx: ForwardContext, x: Tensor): Act {
  return new Act(x, identity(x.rank));
}

/** A model output, channels-first. */
export function output(ctx: ForwardContext, x: Act): Tensor {
  return logical(ctx.tf, x);
}

export const kernels = { ...opKernels, input, output };

export { Act } from "./layout.js";
export { createForwardContext, type ForwardContext, type ForwardOptions, type Kernel, type Params } from "./context.js";
