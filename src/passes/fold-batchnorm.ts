import type { Graph, Node, Param } from "../ir/graph.js";

/**
 * Folds each inference-mode `bn` into the conv or linear layer that alone feeds it:
 *   s = γ / sqrt(var + eps),  W' = W · s (per output channel),  b' = (b − mean) · s + β.
 * The layer's weight array is scaled in place, its bias array replaced; the layer gains a bias
 * (`<layer>.bias`, attrs.bias = true) if it had none; the bn node, its parameters and their
 * values go. Returns the number of bns folded.
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
 * For each layer kind that can absorb a bn: a function that multiplies each element of its
 * weight, in place, by the scale of the element's output channel, or null when the bn's channel
 * dim is not the layer's output channel dim. Whole runs of one channel are scaled at a time.
 */
type ScaleByChannel = (w: Float32Array, scale: Float64Array) => void;

const layers: Record<string, (layer: Node, weight: readonly number[]) => ScaleByChannel | null> = {
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
    return (weight, scale) => {
      for (let ci = 0; ci < cin; ci++)
        for (let j = 0; j < outPerGroup; j++) scaleRun(weight, (ci * outPerGroup + j) * kernel, kernel, scale[Math.floor(ci / inPerGroup) * outPerGroup + j]!);
    };
  },
};

function rows(_: Node, w: readonly number[]): ScaleByChannel {
  const row = numel(w.slice(1));
  return (weight, scale) => {
    for (let c = 0; c < w[0]!; c++) scaleRun(weight, c * row, row, scale[c]!);
  };
}

function scaleRun(w: Float32Array, start: number, length: number, s: number): void {
  for (let i = start; i < start + length; i++) w[i]! *= s;
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
  const scaleByChannel = weight && layers[layer.op]?.(layer, weight.shape);
  if (!weight || !w || !scaleByChannel || w.length !== numel(weight.shape)) return false;

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

  const scale = new Float64Array(channels);
  for (let c = 0; c < channels; c++) scale[c] = gamma[c]! / Math.sqrt(variance[c]! + eps);
  // In place: a copy of a large weight costs more than the arithmetic. An array that another
  // parameter's value shares is copied first.
  const shared = [...values].some(([name, v]) => v === w && name !== weight.name);
  const folded = shared ? w.slice() : w;
  scaleByChannel(folded, scale);
  const foldedBias = new Float32Array(channels);
  for (let c = 0; c < channels; c++) foldedBias[c] = (b[c]! - mean[c]!) * scale[c]! + beta[c]!;

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
