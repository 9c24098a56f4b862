/**
 * Where a value keeps its channels (features): dim 1 of a channels-first map [N, C, H, W], the
 * last dim of tokens [N, T, C] and of Swin's and SegFormer's channels-last maps [N, H, W, C]. The
 * IR's shapes alone cannot tell [N, 7, 7, 768] from [N, 768, 7, 7]; the ops that made a value can.
 */
import type { Node, Value } from "../ir/graph.js";
import type { OpName } from "../ir/ops/index.js";

/**
 * How an op places the channels of its output: at dim 1 ("first"), last ("last"), where its first
 * input had them ("same"), or as a function of the node and that input's channel axis (null: unknown).
 */
type Placement = "first" | "last" | "same" | ((node: Node, input: number | null) => number | null);

/** permute / transpose: the input's channel axis, followed through the permutation. */
const permuted: Placement = (node, input) => (input === null ? null : (node.attrs["perm"] as number[]).indexOf(input));

/** reshape / flatten keep channels that sit on an unchanged first or last dim. */
const regrouped: Placement = (node, input) => {
  const [from, to] = [node.inputs[0]!.type.shape, node.outputs[0]!.type.shape];
  if (input === from.length - 1 && to[to.length - 1] === from[from.length - 1]) return to.length - 1;
  if (input === 1 && to.length > 1 && to[1] === from[1]) return 1;
  return null;
};

const placements: Readonly<Record<OpName, Placement>> = {
  conv: "first", dwconv: "first", conv_transpose: "first",
  bn: "first", gn: "first", ln2d: "first", instance_norm: "first",
  ln: "last",
  relu: "same", relu6: "same", leaky_relu: "same", prelu: "same", gelu: "same", silu: "same", sigmoid: "same",
  hardswish: "same", hardsigmoid: "same", tanh: "same", softmax: "same", identity: "same",
  maxpool: "first", avgpool: "first", gap: "first", gmp: "first", adaptive_avgpool: "first", adaptive_maxpool: "first",
  // A linear layer works on the last dim, so its output keeps channels-last values channels-last.
  linear: "same",
  dropout: "same", stochastic_depth: "same", add: "same", mul: "same", concat: "same", split: "same",
  reshape: regrouped, flatten: regrouped, permute: permuted, transpose: permuted,
  resize: "first", upsample: "first", pad: "same", gray_to_rgb: "first", repeat_channels: "first",
  class_token: "last", pos_embedding: "last", token: "last", mean_tokens: "last", mhsa: "last",
  window_attention: "last", patch_merging: "last", layer_scale: "same", sr_attention: "last",
};

/** The dim holding `value`'s channels, or null when the ops that made it do not say. */
export function channelAxis(value: Value): number | null {
  // Walk back through the ops that keep or move the channels to one that places them, then forward.
  const chain: Node[] = [];
  let v: Value | undefined = value;
  let axis: number | null = null;
  for (;;) {
    const node: Node | null | undefined = v?.producer;
    const placement = node ? placements[node.op as OpName] : undefined;
    if (!v || !node || placement === undefined || placement === "first" || placement === "last") {
      // Model inputs are channels-first, as the IR declares them.
      const rank = v?.type.shape.length ?? 0;
      axis = placement === "last" ? rank - 1 : rank > 1 ? 1 : null;
      break;
    }
    chain.push(node);
    v = node.inputs[0];
  }
  for (const node of chain.reverse()) {
    const placement = placements[node.op as OpName];
    if (typeof placement === "function") axis = placement(node, axis);
  }
  return axis;
}

/** A map whose channels are its last dim ([N, H, W, C]), where a linear layer is a per-position projection. */
export function isChannelsLast(value: Value): boolean {
  const rank = value.type.shape.length;
  return rank >= 3 && channelAxis(value) === rank - 1;
}
