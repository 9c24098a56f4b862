import type { Graph } from "../ir/graph.js";

/**
 * Ops that compute the identity at inference: regularisers active only in training, and
 * placeholders.
 */
export const INFERENCE_NOOPS: ReadonlySet<string> = new Set(["dropout", "stochastic_depth", "identity"]);

/**
 * Removes every inference no-op, giving its uses (graph outputs included) its input. Returns
 * the number of nodes removed.
 *
 * A no-op stays when it is what keeps a graph output a tensor of its own: when its input is a
 * graph input or another graph output, rewiring would make one tensor serve under two names,
 * which ONNX graphs cannot express.
 */
export function dropInferenceNoops(graph: Graph, values: Map<string, Float32Array>): number {
  let removed = 0;
  for (const node of [...graph.nodes]) {
    if (!INFERENCE_NOOPS.has(node.op) || node.inputs.length !== 1 || node.outputs.length !== 1) continue;
    const [input, output] = [node.inputs[0]!, node.outputs[0]!];
    if (graph.outputs.includes(output) && (graph.inputs.includes(input) || graph.outputs.includes(input))) continue;
    graph.replaceAllUsesWith(output, input);
    for (const p of node.params) values.delete(p.name);
    graph.removeNode(node);
    removed++;
  }
  return removed;
}
