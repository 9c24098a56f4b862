import type { Graph, Node } from "../ir/graph.js";

/**
 * Removes the nodes none of whose outputs reach a graph output, with their parameters' values.
 * Returns the number of nodes removed.
 *
 * A graph without outputs (one whose construction stopped at an error) is left alone: every
 * node would count as dead, and an empty graph would hide what went wrong.
 */
export function removeDeadNodes(graph: Graph, values: Map<string, Float32Array>): number {
  if (graph.outputs.length === 0) return 0;
  const live = new Set<Node>();
  const stack = graph.outputs.flatMap((v) => (v.producer ? [v.producer] : []));
  while (stack.length) {
    const node = stack.pop()!;
    if (live.has(node)) continue;
    live.add(node);
    for (const input of node.inputs) if (input.producer && !live.has(input.producer)) stack.push(input.producer);
  }
  const dead = graph.nodes.filter((n) => !live.has(n));
  for (const node of dead) {
    for (const p of node.params) values.delete(p.name);
    graph.removeNode(node);
  }
  return dead.length;
}
