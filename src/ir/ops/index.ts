import type { OpDef } from "../op.js";
import { ops as activation } from "./activation.js";
import { ops as conv } from "./conv.js";
import { ops as linear } from "./linear.js";
import { ops as norm } from "./norm.js";
import { ops as pool } from "./pool.js";
import { ops as tensor } from "./tensor.js";
import { ops as transformer } from "./transformer.js";

/** Every operator of the IR, by language name. Backends key their lowering tables by these names. */
export const opTable: ReadonlyMap<string, OpDef> = new Map(
  [...conv, ...norm, ...activation, ...pool, ...linear, ...tensor, ...transformer].map((op) => [op.name, op]),
);

/**
 * The operator names as a literal list, so a backend's `Record<OpName, Lowering>` table fails to
 * typecheck when it misses one. A test keeps it equal to `opTable`'s keys.
 */
export const opNames = [
  "conv", "dwconv", "conv_transpose",
  "bn", "gn", "ln", "ln2d", "instance_norm",
  "relu", "relu6", "leaky_relu", "prelu", "gelu", "silu", "sigmoid", "hardswish", "hardsigmoid", "tanh", "softmax", "identity",
  "maxpool", "avgpool", "gap", "gmp", "adaptive_avgpool", "adaptive_maxpool",
  "linear",
  "dropout", "stochastic_depth", "add", "mul", "concat", "split", "reshape", "flatten", "permute", "transpose",
  "resize", "upsample", "pad", "gray_to_rgb", "repeat_channels",
  "class_token", "pos_embedding", "token", "mean_tokens", "mhsa", "window_attention", "patch_merging", "layer_scale", "sr_attention",
] as const;

export type OpName = (typeof opNames)[number];

export function isOpName(name: string): name is OpName {
  return (opNames as readonly string[]).includes(name);
}
