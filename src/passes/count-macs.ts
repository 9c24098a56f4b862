import type { Graph, Node } from "../ir/graph.js";
import { opTable } from "../ir/ops/index.js";
import { liveNodes } from "./live-nodes.js";

/** Multiply-accumulates of one node for one sample (torchvision's GFLOPS convention). */
export function nodeMacs(node: Node): number {
  const op = opTable.get(node.op);
  if (!op?.macs) return 0;
  return op.macs({ attrs: node.attrs, inputs: node.inputs.map((v) => v.type), outputs: node.outputs.map((v) => v.type) });
}

/**
 * MACs of the nodes that feed an output: a branch no output uses (an encoder stage past the one a
 * decoder reads) is never computed by an exported model, so it costs nothing.
 */
export function countMacs(graph: Graph): number {
  let total = 0;
  for (const node of liveNodes(graph)) total += nodeMacs(node);
  return total;
}
