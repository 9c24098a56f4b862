import type { Graph, Node, Param } from "../ir/graph.js";

/**
 * Folds each inference-mode `bn` into the conv or linear layer that alone feeds it:
 *   s = γ / sqrt(var + eps),  W' = W · s (per output channel),  b' = (b − mean) · s + β.
 * The layer gains a bias (`<layer>.bias`, attrs.bias = true) if it had none; the bn node, its
 * parameters and their values go. Returns the number of bns folded.
 *
 * A bn is left alone when its input has other uses or is a graph output (the unnormalised
 * tensor is still needed), or when a value the arithmetic needs is missing.
 */
export function foldBatchNorm(graph: Graph, values: Map<string, Float32Array>): number {
  let folded = 0;
  for (const bn of [...graph.nodes]) if (bn.op === "bn" && foldOne(graph, values, bn)) folded++;
  return folded;
}

/**
 * For each layer kind that can absorb a bn: the output channel of each element of its weight,
 * or null when the bn's channel dim is not the layer's output channel dim.
 */
const layers: Record<string, (layer: Node, weight: readonly number[]) => ((i: number) => number) | null> = {
  // [out, in / g, ...k]: output channels are the rows.
  conv: rows,
  dwconv: rows,
  // [out, in]; on tokens [N, T, C] a bn normalises T, not the layer's features.
  linear: (layer, w) => (layer.outputs[0]!.type.shape.length === 2 ? rows(layer, w) : null),
  // [in, out / g, ...k]: input channel ci of group ci / (in / g) feeds outputs group · (out / g) + j.
  conv_transpose: (layer, w) => {
    const group = layer.attrs["group"] as number;
    const [cin, outPerGroup] = [w[0]!, w[1]!];
    const kernel = numel(w.slice(2));
    const inPerGroup = cin / group;
    return (i) => {
      const ci = Math.floor(i / (outPerGroup * kernel));
      return Math.floor(ci / inPerGroup) * outPerGroup + (Math.floor(i / kernel) % outPerGroup);
    };
  },
};

function rows(_: Node, w: readonly number[]): (i: number) => number {
  const row = numel(w.slice(1));
  return (i) => Math.floor(i / row);
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** A node's parameter by its last name part (`weight`, `running_mean`). */
function param(node: Node, suffix: string): Param | undefined {
  return node.params.find((p) => p.name === suffix || p.name.endsWith(`.${suffix}`));
}

function foldOne(graph: Graph, values: Map<string, Float32Array>, bn: Node): boolean {
  const x = bn.inputs[0];
  const layer = x?.producer;
  if (!x || !layer || bn.inputs.length !== 1 || bn.outputs.length !== 1) return false;
  if (layer.outputs.length !== 1 || x.uses.size !== 1 || graph.outputs.includes(x)) return false;
  const weight = param(layer, "weight");
  const w = weight && values.get(weight.name);
  const channelOf = weight && layers[layer.op]?.(layer, weight.shape);
  if (!weight || !w || !channelOf || w.length !== numel(weight.shape)) return false;

  const channels = bn.attrs["channels"] as number;
  const eps = bn.attrs["eps"] as number;
  if (layer.attrs["out"] !== channels) return false;
  const affine = bn.attrs["affine"] !== false;
  const stat = (name: string, fallback: number | null) => {
    const p = param(bn, name);
    const v = p && values.get(p.name);
    if (v) return v.length === channels ? v : null;
    return fallback === null ? null : new Float32Array(channels).fill(fallback);
  };
  const gamma = stat("weight", affine ? null : 1);
  const beta = stat("bias", affine ? null : 0);
  const mean = stat("running_mean", null);
  const variance = stat("running_var", null);
  if (!gamma || !beta || !mean || !variance) return false;

  const hadBias = layer.attrs["bias"] === true;
  const biasName = `${weight.name.slice(0, -"weight".length)}bias`;
  const bias = hadBias ? param(layer, "bias") : undefined;
  const b = bias ? values.get(bias.name) : new Float32Array(channels);
  if (!b || b.length !== channels || (hadBias ? !bias : graph.params.has(biasName))) return false;

  const scale = Array.from(gamma, (g, c) => g / Math.sqrt(variance[c]! + eps));
  const folded = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) folded[i] = w[i]! * scale[channelOf(i)]!;
  const foldedBias = Float32Array.from(b, (bc, c) => (bc - mean[c]!) * scale[c]! + beta[c]!);

  values.set(weight.name, folded);
  if (bias) values.set(bias.name, foldedBias);
  else {
    graph.addParam({ name: biasName, shape: [channels], init: { kind: "zeros" }, buffer: false, role: weight.role, node: layer });
    layer.attrs = { ...layer.attrs, bias: true };
    values.set(biasName, foldedBias);
  }
  graph.replaceAllUsesWith(bn.outputs[0]!, x);
  for (const p of bn.params) values.delete(p.name);
  graph.removeNode(bn);
  return true;
}
