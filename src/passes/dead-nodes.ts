import type { Graph } from "../ir/graph.js";
import { liveNodes } from "./live-nodes.js";

/**
 * Removes the nodes none of whose outputs reach a graph output, with their parameters' values.
 * Returns the number of nodes removed.
 *
 * A graph without outputs (one whose construction stopped at an error) is left alone: every
 * node would count as dead, and an empty graph would hide what went wrong.
 */
export function removeDeadNodes(graph: Graph, values: Map<string, Float32Array>): number {
  const live = liveNodes(graph);
  const dead = graph.nodes.filter((n) => !live.has(n));
  for (const node of dead) {
    for (const p of node.params) values.delete(p.name);
    graph.removeNode(node);
  }
  return dead.length;
}
