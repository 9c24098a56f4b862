import type { Code } from "../diagnostics/codes.js";
import type { ArgSpec } from "../semantics/signature.js";
import type { InitRule } from "./init.js";
import type { Attrs } from "./graph.js";
import type { Shape, TensorType } from "./types.js";

/** What an op's rules see: its bound arguments and its input types. */
export interface OpContext {
  /** Arguments after binding and type checking against `args`, defaults filled in. */
  readonly args: Readonly<Record<string, unknown>>;
  readonly inputs: readonly TensorType[];
  /** "[N, 2048, 7, 7] from backbone.layer4": the input's shape and where it was produced. */
  describe(input: number): string;
}

export interface OpError {
  code: Code;
  message: string;
  /** A short hint appended in parentheses: "add a pooling op such as gap". */
  hint?: string;
  /** Source text to insert before the op that fixes the problem (e.g. "gap | "). */
  insertBefore?: string;
}

export type InferResult =
  | {
      /** Output shapes (dtype float32 unless `dtypes` says otherwise). */
      outputs: Shape[];
      /** The node's attributes as backends need them (normalised, inferred values included). */
      attrs: Attrs;
    }
  | { error: OpError };

export interface ParamSpec {
  /** Suffix under the node's scope (`weight`, `running_mean`); "" names the scope itself (`class_token`). */
  name: string;
  shape: readonly number[];
  init: InitRule;
  buffer?: boolean;
}

/**
 * One operator, defined once: language signature, shape rule, parameters and MACs.
 * Backends key their lowerings by `name`.
 */
export interface OpDef {
  name: string;
  doc: string;
  args: readonly ArgSpec[];
  /** Number of input tensors: exact, or "variadic" for one or more. */
  inputs: number | "variadic";
  infer(ctx: OpContext): InferResult;
  /** Parameters and buffers, in the reference state_dict's order. */
  params?(node: NodeView): ParamSpec[];
  /** Multiply-accumulates per sample (batch 1): convolutions, linear layers, attention matmuls. */
  macs?(node: NodeView): number;
}

/** What `params` and `macs` see: only what a graph node stores, so passes can recompute them. */
export interface NodeView {
  readonly attrs: Attrs;
  readonly inputs: readonly TensorType[];
  readonly outputs: readonly TensorType[];
}

export function defineOp(def: OpDef): OpDef {
  return def;
}
